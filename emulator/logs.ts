// Render's logs (GET /logs, GET /logs/values) as the emulator answers them: a request line for every answer the
// stand-in app gives, the lines the app writes (and a drill makes it write), and the build's lines.
import { randomUUID } from "node:crypto";
import { badRequest } from "./errors";
import { isoMicros, parseMicros } from "./ids";
import type { RenderState, StateChange } from "./state";

import type { LogEntry } from "../lib/render/client";

export type { LogEntry, LogLabel } from "../lib/render/client";

/** One request the stand-in app answered, as Render's proxy logs it. */
export interface RequestLine {
    /** Undefined when Render's edge answered with no instance up. */
    readonly instance?: string;
    readonly host: string;
    readonly method: string;
    readonly path: string;
    readonly status: number;
    readonly ms: number;
    readonly bytes: number;
    readonly clientIp: string;
    readonly userAgent: string;
}

/** The labels `/logs/values` can list. */
export const VALUE_LABELS = ["instance", "host", "statusCode", "method", "level", "type"] as const;
export type ValueLabel = (typeof VALUE_LABELS)[number];

/** The filters of GET /logs (and /logs/values), each a list of values any of which may match. */
const FILTERS = ["instance", "host", "statusCode", "method", "level", "type", "text", "path"] as const;
type Filter = (typeof FILTERS)[number];

/** What one /logs request asks: checked by the route (see logsQuery). */
export interface LogsQuery {
    readonly resources: readonly string[];
    /** Microseconds since the epoch, both ends included. */
    readonly start: number;
    readonly end: number;
    readonly direction: "forward" | "backward";
    readonly limit: number;
    readonly filters: Readonly<Partial<Record<Filter, readonly Matcher[]>>>;
}

/** One filter value: a plain value, a `*` wildcard pattern, or a `/regular expression/`. */
export type Matcher = (value: string) => boolean;

/** The answer to GET /logs. */
export interface LogsPage {
    logs: LogEntry[];
    hasMore: boolean;
    nextStartTime: string;
    nextEndTime: string;
}

interface LogRecord {
    /** When, in microseconds since the epoch: unique and increasing, so pages split between two lines, never in one. */
    micros: number;
    resource: string;
    labels: Map<string, string>;
    entry: LogEntry;
}

/** The build log's last line, by how the build ended. */
const BUILD_ENDED = {
    succeeded: "==> Build successful",
    failed: "==> Build failed",
    canceled: "==> Build canceled",
} as const;

/** Lines kept in all (the oldest go first): Render keeps logs for weeks, an emulator in a test for minutes. */
const KEEP_LINES = 200_000;
/** How far back a query may start: Render keeps logs for 30 days. */
export const LOG_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

/** The logs of the emulated account: one model per RenderState. */
export class LogsModel {
    /** Oldest first. */
    private readonly lines: LogRecord[] = [];
    private lastMicros = 0;

    constructor(private readonly state: RenderState) {
        state.observe((change) => this.record(change));
    }

    /** A request log line: the method, status, host and path, and what Render's proxy measured. */
    request(serviceId: string, r: RequestLine): void {
        const message =
            `[${r.method}]${r.status} ${r.host}${r.path} clientIP="${r.clientIp}" requestID="${randomUUID()}" ` +
            `responseTimeMS=${Math.round(r.ms)} responseBytes=${r.bytes} userAgent="${r.userAgent}"`;
        this.add(serviceId, message, {
            ...(r.instance !== undefined && { instance: r.instance }),
            type: "request",
            host: r.host,
            method: r.method,
            path: r.path,
            statusCode: String(r.status),
        });
    }

    /** A line the app wrote on an instance, at `level` as Render parsed it from the line. */
    app(serviceId: string, instance: string, level: string, message: string): void {
        this.add(serviceId, message, { instance, type: "app", level });
    }

    /** A line of a build (no instance: builds run elsewhere). */
    build(serviceId: string, message: string): void {
        this.add(serviceId, message, { type: "build", level: "info" });
    }

    /** How many lines the service has logged, of every type. */
    count(serviceId: string): number {
        return this.lines.filter((l) => l.resource === serviceId).length;
    }

    /**
     * One page of lines matching the query: backward (newest first) or forward (oldest first). When more match,
     * `nextStartTime`/`nextEndTime` are the range that holds the rest, each a microsecond past the last line given.
     */
    query(q: LogsQuery): LogsPage {
        const matching = this.matching(q);
        const ordered = q.direction === "forward" ? matching : [...matching].reverse();
        const page = ordered.slice(0, q.limit);
        const hasMore = ordered.length > page.length;
        const last = page[page.length - 1];
        let nextStart = q.start;
        let nextEnd = q.end;
        if (last && q.direction === "forward") nextStart = last.micros + 1;
        if (last && q.direction === "backward") nextEnd = last.micros - 1;
        return {
            logs: page.map((l) => structuredClone(l.entry)),
            hasMore,
            nextStartTime: isoMicros(nextStart),
            nextEndTime: isoMicros(Math.max(nextStart, nextEnd)),
        };
    }

    /** The distinct values of `label` among the lines matching the query, sorted. */
    values(q: LogsQuery, label: ValueLabel): string[] {
        const seen = new Set<string>();
        for (const line of this.matching(q)) {
            const value = line.labels.get(label);
            if (value !== undefined) seen.add(value);
        }
        return [...seen].sort().slice(0, q.limit);
    }

    private matching(q: LogsQuery): LogRecord[] {
        return this.lines.filter(
            (line) =>
                line.micros >= q.start &&
                line.micros <= q.end &&
                q.resources.includes(line.resource) &&
                FILTERS.every((filter) => {
                    const matchers = q.filters[filter];
                    if (!matchers || matchers.length === 0) return true;
                    const value = filter === "text" ? line.entry.message : line.labels.get(filter);
                    return value !== undefined && matchers.some((m) => m(value));
                }),
        );
    }

    private add(resource: string, message: string, labels: Record<string, string>): void {
        const micros = Math.max(Date.now() * 1000, this.lastMicros + 1);
        this.lastMicros = micros;
        const all = { resource, ...labels };
        const entry: LogEntry = {
            id: randomUUID(),
            message,
            timestamp: isoMicros(micros),
            labels: Object.entries(all).map(([name, value]) => ({ name, value })),
        };
        this.lines.push({ micros, resource, labels: new Map(Object.entries(all)), entry });
        if (this.lines.length > KEEP_LINES) this.lines.splice(0, this.lines.length - KEEP_LINES);
    }

    /** The lines Render and the app write as the account changes: the build's, and the app's on start. */
    private record(change: StateChange): void {
        const { serviceId } = change;
        const service = () => this.state.service(serviceId);
        switch (change.kind) {
            case "build_started": {
                const { repo, branch, serviceDetails } = service();
                const build =
                    "buildCommand" in serviceDetails.envSpecificDetails
                        ? serviceDetails.envSpecificDetails.buildCommand
                        : "docker build";
                this.build(serviceId, `==> Cloning from ${repo}`);
                this.build(serviceId, `==> Checking out commit ${change.deploy.commit.id} in branch ${branch}`);
                this.build(serviceId, `==> Running build command '${build}'...`);
                return;
            }
            case "build_ended":
                this.build(serviceId, BUILD_ENDED[change.outcome]);
                return;
            case "instances_started":
            case "instance_restarted":
                for (const instance of change.kind === "instances_started" ? change.instances : [change.instance]) {
                    this.app(serviceId, instance.id, "info", `Server listening on port ${this.port(serviceId)}`);
                }
                return;
            default:
                return;
        }
    }

    private port(serviceId: string): number {
        return this.state.service(serviceId).serviceDetails.openPorts[0]?.port ?? 10000;
    }
}

// The model lives beside the account's state, as the metrics do (see ./metrics.ts).
const MODELS = new WeakMap<RenderState, LogsModel>();

/** The logs model of an emulated account; created (and observing the state) on first use. */
export function logsOf(state: RenderState): LogsModel {
    let model = MODELS.get(state);
    if (!model) MODELS.set(state, (model = new LogsModel(state)));
    return model;
}

/**
 * A filter value as Render's log search reads it: `/.../` is a regular expression, a value with `*` a wildcard over
 * the whole value (any run of characters), anything else the value itself; the text filter looks for the value
 * anywhere in the line, ignoring case.
 */
export function matcher(filter: string, raw: string): Matcher {
    const text = filter === "text";
    if (raw.length >= 2 && raw.startsWith("/") && raw.endsWith("/")) {
        let pattern: RegExp;
        try {
            pattern = new RegExp(raw.slice(1, -1));
        } catch (err) {
            throw badRequest(
                `${filter}: ${JSON.stringify(raw)} is not a regular expression: ${(err as Error).message}`,
            );
        }
        return (value) => pattern.test(value);
    }
    if (raw.includes("*")) {
        const body = raw
            .split("*")
            .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
            .join(".*");
        const pattern = new RegExp(text ? body : `^${body}$`, text ? "i" : "");
        return (value) => pattern.test(value);
    }
    if (text) {
        const wanted = raw.toLowerCase();
        return (value) => value.toLowerCase().includes(wanted);
    }
    return (value) => value === raw;
}

/**
 * The filter values of a query parameter, sent repeated (`type=app&type=request`) or comma-separated; a regular
 * expression is never split at its commas.
 */
function filterValues(query: URLSearchParams, name: string): string[] {
    return query
        .getAll(name)
        .flatMap((v) => (v.startsWith("/") && v.endsWith("/") && v.length >= 2 ? [v] : v.split(",")))
        .map((v) => v.trim())
        .filter((v) => v !== "");
}

/** A /logs (or /logs/values) request's range, direction, page size and filters, checked as Render's spec bounds them. */
export function logsQuery(query: URLSearchParams, now = Date.now()): LogsQuery {
    const time = (name: string, fallback: number): number => {
        const raw = query.get(name);
        if (raw === null || raw === "") return fallback;
        // The spec's schema says date-time, its description Unix time: both are taken.
        const micros = /^\d+$/.test(raw) ? Number(raw) * 1_000_000 : parseMicros(raw);
        if (micros === undefined) {
            throw badRequest(
                `${name} must be an RFC 3339 date-time such as 2025-01-13T16:48:10Z, got ${JSON.stringify(raw)}`,
            );
        }
        return micros;
    };
    const end = time("endTime", now * 1000);
    const start = time("startTime", end - HOUR_MS * 1000);
    if (start > end) throw badRequest(`startTime (${isoMicros(start)}) is after endTime (${isoMicros(end)})`);
    const oldest = (now - LOG_RETENTION_MS) * 1000;
    if (start < oldest) {
        throw badRequest(`startTime ${isoMicros(start)} is more than 30 days ago; logs are kept for 30 days`);
    }
    const rawDirection = query.get("direction");
    if (rawDirection !== null && rawDirection !== "forward" && rawDirection !== "backward") {
        throw badRequest(`direction must be "forward" or "backward", got ${JSON.stringify(rawDirection)}`);
    }
    const rawLimit = query.get("limit");
    const limit = rawLimit === null ? 20 : Number(rawLimit);
    if (rawLimit !== null && (!/^\d+$/.test(rawLimit) || limit < 1 || limit > 100)) {
        throw badRequest(`limit must be an integer from 1 to 100, got ${JSON.stringify(rawLimit)}`);
    }
    const filters: Partial<Record<Filter, Matcher[]>> = {};
    for (const filter of FILTERS) {
        const values = filterValues(query, filter);
        if (values.length > 0) filters[filter] = values.map((v) => matcher(filter, v));
    }
    return {
        resources: filterValues(query, "resource"),
        start,
        end,
        direction: rawDirection === "forward" ? "forward" : "backward",
        limit,
        filters,
    };
}
