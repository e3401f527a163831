// Render's metrics as the emulator answers them: HTTP counts and latencies from the stand-in app's real traffic, and
// gauges (memory, the persistent disk, a database's connections) that tests set.
import { randomBytes } from "node:crypto";
import { badRequest } from "./errors";
import { iso } from "./ids";
import type { Plan, RenderState } from "./state";

/** One request the stand-in app answered, as Render's proxy would count it. */
export interface TrafficRecord {
    /** When the answer went out, in ms since the epoch. */
    readonly at: number;
    readonly status: number;
    /** From the request's arrival to its answer. */
    readonly ms: number;
    readonly host: string;
    readonly path: string;
}

/** What a test sets; every field is optional and the others keep their value. */
export interface MetricsSettings {
    /** The service's memory in use and its plan's limit, in bytes (per instance). */
    readonly memory?: { readonly usedBytes: number; readonly limitBytes: number };
    /** The service's persistent disk, in bytes; null: no disk (Render then answers no series). */
    readonly disk?: { readonly usedBytes: number; readonly capacityBytes: number } | null;
    /** Active connections of a Postgres (dpg-...) or Redis (red-...) instance, by id. */
    readonly connections?: Readonly<Record<string, number>>;
}

/** A time series as the spec describes it (each point also carries the unit the spec lists as required there). */
export interface SeriesBody {
    labels: Array<{ field: string; value: string }>;
    values: Array<{ timestamp: string; value: number; unit: string }>;
    unit: string;
}

/** What one metrics request asks: the resources (none: all known), the range, and the bucket width. */
export interface SeriesQuery {
    readonly resources: readonly string[];
    readonly start: number;
    readonly end: number;
    readonly resolutionMs: number;
}

const MiB = 2 ** 20;
/** Each instance type's memory, as Render's pricing page states it (binary units). */
export const PLAN_MEMORY_BYTES: Readonly<Record<Plan, number>> = {
    starter: 512 * MiB,
    standard: 2048 * MiB,
    pro: 4096 * MiB,
    pro_plus: 8192 * MiB,
    pro_max: 16384 * MiB,
    pro_ultra: 32768 * MiB,
};
/** The seeded service on Render's starter plan: 512 MB, a fifth of it in use. */
const DEFAULT_MEMORY = { usedBytes: 110 * MiB, limitBytes: PLAN_MEMORY_BYTES.starter };
const DEFAULT_CONNECTIONS = 12;
/** Traffic older than this is dropped: Render's default range is the last hour. */
const KEEP_TRAFFIC_MS = 2 * 60 * 60 * 1000;
/** Points one answer may hold. */
const MAX_POINTS = 10_000;
const ID_ALPHABET = "0123456789abcdefghijklmnopqrstuv";

/** A Postgres id as Render shows them (`dpg-` and 20 characters of [0-9a-v], then `-a`). */
function newPostgresId(): string {
    let suffix = "";
    for (const byte of randomBytes(20)) suffix += ID_ALPHABET[byte % 32];
    return `dpg-${suffix}-a`;
}

/** A gauge: each value it was set to, and since when. */
class Gauge<T> {
    private readonly changes: Array<{ at: number; value: T }>;

    constructor(initial: T) {
        this.changes = [{ at: -Infinity, value: initial }];
    }

    set(value: T, at = Date.now()): void {
        this.changes.push({ at, value });
    }

    /** The value in force at `at`. */
    at(at: number): T {
        let value = this.changes[0].value;
        for (const change of this.changes) if (change.at <= at) value = change.value;
        return value;
    }
}

/** The metrics of the emulated account: one model per RenderState. */
export class MetricsModel {
    private readonly traffic = new Map<string, TrafficRecord[]>();
    private readonly memory = new Map<string, Gauge<{ usedBytes: number; limitBytes: number }>>();
    private readonly disks = new Map<string, Gauge<{ usedBytes: number; capacityBytes: number } | null>>();
    private readonly connections = new Map<string, Gauge<number>>();

    constructor(private readonly state: RenderState) {
        // A new instance type is a new memory limit, from the moment the PATCH is answered.
        state.observe((change) => {
            if (change.kind !== "service_updated") return;
            const plan = change.after.serviceDetails.plan;
            if (plan === change.before.serviceDetails.plan) return;
            const gauge = this.memoryGauge(change.serviceId);
            gauge.set({ ...gauge.at(Date.now()), limitBytes: PLAN_MEMORY_BYTES[plan] });
        });
    }

    /** Adds a database whose connections the model reports; returns its id. */
    addDatabase(id = newPostgresId(), activeConnections = DEFAULT_CONNECTIONS): string {
        this.connections.set(id, new Gauge(activeConnections));
        return id;
    }

    recordRequest(serviceId: string, record: TrafficRecord): void {
        const records = this.traffic.get(serviceId) ?? [];
        records.push(record);
        const cutoff = record.at - KEEP_TRAFFIC_MS;
        while (records.length > 0 && records[0].at < cutoff) records.shift();
        this.traffic.set(serviceId, records);
    }

    /** Sets the service's gauges (memory, disk) and databases' connections from now on. */
    set(serviceId: string, settings: MetricsSettings): void {
        if (settings.memory) {
            const { usedBytes, limitBytes } = settings.memory;
            if (!(usedBytes >= 0 && limitBytes > 0)) throw new Error(`memory: got ${JSON.stringify(settings.memory)}`);
            this.memoryGauge(serviceId).set({ usedBytes, limitBytes });
        }
        if (settings.disk !== undefined) {
            const disk = settings.disk;
            if (disk !== null && !(disk.usedBytes >= 0 && disk.capacityBytes > 0)) {
                throw new Error(`disk: got ${JSON.stringify(disk)}`);
            }
            this.diskGauge(serviceId).set(disk === null ? null : { ...disk });
        }
        for (const [id, count] of Object.entries(settings.connections ?? {})) {
            if (!(Number.isInteger(count) && count >= 0)) throw new Error(`connections of ${id}: got ${count}`);
            const gauge = this.connections.get(id);
            if (gauge) gauge.set(count);
            else this.connections.set(id, new Gauge(count));
        }
    }

    /** /metrics/http-requests: counts per bucket, one series per status code or host when aggregated so. */
    httpRequests(
        query: SeriesQuery,
        filter: { hosts: string[]; paths: string[]; aggregateBy?: "statusCode" | "host" },
    ): SeriesBody[] {
        const out: SeriesBody[] = [];
        for (const serviceId of this.services(query.resources)) {
            const records = this.inRange(serviceId, query, filter);
            const groups = new Map<string, TrafficRecord[]>();
            for (const r of records) {
                const key =
                    filter.aggregateBy === "statusCode"
                        ? String(r.status)
                        : filter.aggregateBy === "host"
                          ? r.host
                          : "";
                groups.set(key, [...(groups.get(key) ?? []), r]);
            }
            for (const [key, group] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
                const labels = [{ field: "resource", value: serviceId }];
                if (filter.aggregateBy) labels.push({ field: filter.aggregateBy, value: key });
                const points = bucketed(group, query).map(({ start, records: inBucket }) => ({
                    start,
                    value: inBucket.length,
                }));
                out.push(series(labels, points, "count"));
            }
        }
        return out;
    }

    /** /metrics/http-latency: per bucket, the latency at each quantile asked (nearest rank), in milliseconds. */
    httpLatency(query: SeriesQuery, filter: { hosts: string[]; paths: string[]; quantiles: number[] }): SeriesBody[] {
        const out: SeriesBody[] = [];
        for (const serviceId of this.services(query.resources)) {
            const buckets = bucketed(this.inRange(serviceId, query, filter), query);
            if (buckets.length === 0) continue;
            for (const quantile of filter.quantiles) {
                const points = buckets.map(({ start, records }) => {
                    const sorted = records.map((r) => r.ms).sort((a, b) => a - b);
                    const rank = Math.max(1, Math.ceil(quantile * sorted.length));
                    return { start, value: Math.round(sorted[rank - 1]) };
                });
                const labels = [
                    { field: "resource", value: serviceId },
                    { field: "quantile", value: String(quantile) },
                ];
                out.push(series(labels, points, "ms"));
            }
        }
        return out;
    }

    /** /metrics/memory and /metrics/memory-limit: one series per instance of each service. */
    memorySeries(query: SeriesQuery, which: "used" | "limit", instance: string[]): SeriesBody[] {
        const out: SeriesBody[] = [];
        for (const serviceId of this.services(query.resources)) {
            const gauge = this.memoryGauge(serviceId);
            for (const name of this.instances(serviceId)) {
                if (instance.length > 0 && !instance.includes(name)) continue;
                const points = gaugePoints(query, (at) => {
                    const reading = gauge.at(at);
                    return which === "used" ? reading.usedBytes : reading.limitBytes;
                });
                const labels = [
                    { field: "resource", value: serviceId },
                    { field: "instance", value: name },
                ];
                out.push(series(labels, points, "bytes"));
            }
        }
        return out;
    }

    /** /metrics/disk-usage and /metrics/disk-capacity: nothing for a service without a disk. */
    diskSeries(query: SeriesQuery, which: "used" | "capacity"): SeriesBody[] {
        const out: SeriesBody[] = [];
        for (const serviceId of this.services(query.resources)) {
            const gauge = this.diskGauge(serviceId);
            // Only the buckets while the service had a disk carry points.
            const points = gaugePoints(query, (at) => {
                const disk = gauge.at(at);
                return disk === null ? undefined : which === "used" ? disk.usedBytes : disk.capacityBytes;
            });
            if (points.length > 0) out.push(series([{ field: "resource", value: serviceId }], points, "bytes"));
        }
        return out;
    }

    /** /metrics/active-connections: one series per database asked for (or every one known). */
    activeConnections(query: SeriesQuery): SeriesBody[] {
        const ids = query.resources.length > 0 ? query.resources : [...this.connections.keys()];
        const out: SeriesBody[] = [];
        for (const id of ids) {
            const gauge = this.connections.get(id);
            if (!gauge) continue;
            const points = gaugePoints(query, (at) => gauge.at(at));
            out.push(series([{ field: "resource", value: id }], points, "connections"));
        }
        return out;
    }

    private services(resources: readonly string[]): string[] {
        const known = this.state.listServices().map(({ item }) => item.id);
        return resources.length > 0 ? known.filter((id) => resources.includes(id)) : known;
    }

    /** The service's instances now (`<service id>-<5 characters>`), as /services/{id}/instances lists them. */
    private instances(serviceId: string): string[] {
        return this.state.instances(serviceId).map((i) => i.id);
    }

    private inRange(serviceId: string, query: SeriesQuery, filter: { hosts: string[]; paths: string[] }) {
        return (this.traffic.get(serviceId) ?? []).filter(
            (r) =>
                r.at >= query.start &&
                r.at <= query.end &&
                (filter.hosts.length === 0 || filter.hosts.includes(r.host)) &&
                (filter.paths.length === 0 || filter.paths.includes(r.path)),
        );
    }

    private memoryGauge(serviceId: string) {
        let gauge = this.memory.get(serviceId);
        if (!gauge) this.memory.set(serviceId, (gauge = new Gauge({ ...DEFAULT_MEMORY })));
        return gauge;
    }

    private diskGauge(serviceId: string) {
        let gauge = this.disks.get(serviceId);
        if (!gauge)
            this.disks.set(serviceId, (gauge = new Gauge<{ usedBytes: number; capacityBytes: number } | null>(null)));
        return gauge;
    }
}

// The model lives beside the account's state, one per RenderState, so the routes (which get the state) and the
// stand-in app (which has it) reach the same model without the state itself knowing about metrics.
const MODELS = new WeakMap<RenderState, MetricsModel>();

/** The metrics model of an emulated account. */
export function metricsOf(state: RenderState): MetricsModel {
    let model = MODELS.get(state);
    if (!model) MODELS.set(state, (model = new MetricsModel(state)));
    return model;
}

/** The buckets (epoch-aligned, `resolutionMs` wide) overlapping the range, each with its records; empty ones left out. */
function bucketed(records: readonly TrafficRecord[], query: SeriesQuery) {
    const buckets = new Map<number, TrafficRecord[]>();
    for (const r of records) {
        const start = Math.floor(r.at / query.resolutionMs) * query.resolutionMs;
        buckets.set(start, [...(buckets.get(start) ?? []), r]);
    }
    return [...buckets].sort(([a], [b]) => a - b).map(([start, inBucket]) => ({ start, records: inBucket }));
}

/** A gauge's reading per bucket overlapping the range: its value at the bucket's end or the range's, whichever is first. */
function gaugePoints(query: SeriesQuery, read: (at: number) => number | undefined) {
    const points: Array<{ start: number; value: number }> = [];
    const first = Math.floor(query.start / query.resolutionMs) * query.resolutionMs;
    for (let start = first; start <= query.end; start += query.resolutionMs) {
        const value = read(Math.min(start + query.resolutionMs - 1, query.end));
        if (value !== undefined) points.push({ start, value });
    }
    return points;
}

function series(
    labels: Array<{ field: string; value: string }>,
    points: Array<{ start: number; value: number }>,
    unit: string,
): SeriesBody {
    return { labels, values: points.map(({ start, value }) => ({ timestamp: iso(start), value, unit })), unit };
}

/** The range and resolution of a metrics request, checked as Render's spec bounds them; 400 for anything else. */
export function seriesQuery(query: URLSearchParams, now = Date.now()): SeriesQuery {
    const time = (name: string, fallback: number): number => {
        const raw = query.get(name);
        if (raw === null || raw === "") return fallback;
        // The spec's schema says date-time, its description Unix time: both are taken.
        const at = /^\d+$/.test(raw) ? Number(raw) * 1000 : Date.parse(raw);
        if (Number.isNaN(at)) {
            throw badRequest(
                `${name} must be an RFC 3339 date-time such as 2025-01-13T16:48:10Z, got ${JSON.stringify(raw)}`,
            );
        }
        return at;
    };
    const end = time("endTime", now);
    const start = time("startTime", end - 60 * 60 * 1000);
    if (start > end) throw badRequest(`startTime (${iso(start)}) is after endTime (${iso(end)})`);
    const rawResolution = query.get("resolutionSeconds");
    const resolution = rawResolution === null || rawResolution === "" ? 60 : Number(rawResolution);
    if (!Number.isFinite(resolution) || resolution < 30) {
        throw badRequest(`resolutionSeconds must be a number of at least 30, got ${JSON.stringify(rawResolution)}`);
    }
    const resolutionMs = resolution * 1000;
    if ((end - start) / resolutionMs > MAX_POINTS) {
        throw badRequest(
            `the range holds more than ${MAX_POINTS} points at ${resolution} s; ask a shorter range or a coarser resolution`,
        );
    }
    // `service` is the spec's deprecated name for `resource`; either narrows the answer, neither means every resource.
    return { resources: [...listParam(query, "resource"), ...listParam(query, "service")], start, end, resolutionMs };
}

function oneOf<T extends string>(query: URLSearchParams, name: string, allowed: readonly T[]): T | undefined {
    const raw = query.get(name);
    if (raw === null || raw === "") return undefined;
    if (!(allowed as readonly string[]).includes(raw)) {
        throw badRequest(
            `${name} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(raw)}`,
        );
    }
    return raw as T;
}

/** The quantiles asked for; the spec names no default, so without one the emulator answers the p95. */
function quantiles(query: URLSearchParams): number[] {
    const asked = listParam(query, "quantile").map((raw) => {
        const q = Number(raw);
        if (!(q > 0 && q <= 1))
            throw badRequest(`quantile must be a number above 0 and at most 1, got ${JSON.stringify(raw)}`);
        return q;
    });
    return asked.length > 0 ? [...new Set(asked)] : [0.95];
}

/** The metrics routes the emulator serves, by the spec's path, each answering a list of time series. */
export const METRIC_ROUTES: Readonly<Record<string, (model: MetricsModel, query: URLSearchParams) => SeriesBody[]>> = {
    "/metrics/http-requests": (model, query) =>
        model.httpRequests(seriesQuery(query), {
            hosts: listParam(query, "host"),
            paths: listParam(query, "path"),
            aggregateBy: oneOf(query, "aggregateBy", ["statusCode", "host"] as const),
        }),
    "/metrics/http-latency": (model, query) =>
        model.httpLatency(seriesQuery(query), {
            hosts: listParam(query, "host"),
            paths: listParam(query, "path"),
            quantiles: quantiles(query),
        }),
    "/metrics/memory": (model, query) => model.memorySeries(seriesQuery(query), "used", listParam(query, "instance")),
    "/metrics/memory-limit": (model, query) =>
        model.memorySeries(seriesQuery(query), "limit", listParam(query, "instance")),
    "/metrics/disk-usage": (model, query) => model.diskSeries(seriesQuery(query), "used"),
    "/metrics/disk-capacity": (model, query) => model.diskSeries(seriesQuery(query), "capacity"),
    "/metrics/active-connections": (model, query) => model.activeConnections(seriesQuery(query)),
};

/** A list-valued query parameter, sent either repeated or comma-separated. */
export function listParam(query: URLSearchParams, name: string): string[] {
    return query
        .getAll(name)
        .flatMap((v) => v.split(","))
        .map((v) => v.trim())
        .filter((v) => v !== "");
}
