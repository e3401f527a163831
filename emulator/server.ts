// The emulator's HTTP server: auth, rate limits, injected faults and the request log around Render's /v1 routes.
import { randomUUID } from "node:crypto";
import { IncomingMessage, Server, ServerResponse } from "node:http";
import { ApiError, notFound } from "./errors";
import { closeServer, createLocalServer, listenLocal, readBody } from "./http";
import { Bucket, bucketFor, BucketReading, RateLimiter } from "./rateLimit";
import { Route, ROUTES } from "./routes";
import { RenderState } from "./state";

export interface Fault {
    /** Matches the HTTP method, any case; all methods when absent. */
    method?: string;
    /** A string matches the path without /v1 (`/services/srv-.../deploys`) or the spec's template
     *  (`/services/{serviceId}/deploys`); a RegExp is tested against the path without /v1. All paths when absent. */
    path?: string | RegExp;
    /** Answer with this status (429 or 5xx) and Render's error body instead of handling the request. */
    status?: number;
    /** How many matching requests it applies to; default 1. */
    count?: number;
    /** Hold the request this long before answering (with `status`, or by handling it normally). */
    delayMs?: number;
    /** Sent as the Retry-After header with `status`. */
    retryAfterSeconds?: number;
}

export interface RecordedRequest {
    method: string;
    /** The request path WITHOUT the /v1 prefix, e.g. `/services/srv-.../env-vars/SECRET_KEY`. */
    path: string;
    /** Query parameters; a repeated one is joined with commas. */
    query: Record<string, string>;
    status: number;
    /** The parsed JSON request body (the raw text if it was not JSON); absent when there was none.
     *  It holds variable values as sent: assert on it, never print it. */
    body?: unknown;
    /** When the request arrived, in ms since the epoch. */
    at: number;
    /** The spec's path template it matched (`/services/{serviceId}/deploys`), to count requests by kind. */
    route?: string;
    requestId: string;
}

export interface ApiServerOptions {
    apiKey: string;
    rateLimits: boolean;
    rateLimitWindowMs: number;
}

interface CompiledRoute {
    route: Route;
    pattern: RegExp;
}

const COMPILED: readonly CompiledRoute[] = ROUTES.map((route) => ({
    route,
    pattern: new RegExp(`^${route.route.replace(/\{(\w+)\}/g, "(?<$1>[^/]+)")}$`),
}));

const FAULT_MESSAGES: Record<number, string> = {
    429: "Rate limit exceeded",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
};

export class ApiServer {
    private readonly server: Server;
    private readonly log: RecordedRequest[] = [];
    private readonly faults: { fault: Fault; remaining: number }[] = [];
    private readonly limiter: RateLimiter;
    private readonly delays = new Set<NodeJS.Timeout>();

    constructor(
        private readonly state: RenderState,
        private readonly options: ApiServerOptions,
    ) {
        this.limiter = new RateLimiter(options.rateLimitWindowMs);
        // Only an emulator bug lands in the fallback; the request still gets an answer.
        this.server = createLocalServer("render emulator", { message: "emulator error" }, (req, res) =>
            this.handle(req, res),
        );
    }

    listen(port: number): Promise<number> {
        return listenLocal(this.server, port);
    }

    async close(): Promise<void> {
        for (const timer of this.delays) clearTimeout(timer);
        this.delays.clear();
        await closeServer(this.server);
    }

    inject(fault: Fault): void {
        this.faults.push({ fault, remaining: fault.count ?? 1 });
    }

    requests(): readonly RecordedRequest[] {
        return [...this.log];
    }

    clearRequests(): void {
        this.log.length = 0;
    }

    private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
        const at = Date.now();
        const requestId = randomUUID();
        const method = (req.method ?? "GET").toUpperCase();
        const url = new URL(req.url ?? "/", "http://127.0.0.1");
        const apiPath = url.pathname.startsWith("/v1/") ? url.pathname.slice("/v1".length) : undefined;
        const path = apiPath ?? url.pathname;
        const raw = await readBody(req);
        const parsed = parseJson(raw);
        const match = apiPath === undefined ? undefined : matchRoute(method, apiPath);
        const serviceId = match?.params?.serviceId;
        const bucket = bucketFor(method, match?.route.route, serviceId);

        const respond = (
            status: number,
            body: unknown,
            reading: BucketReading,
            extraHeaders: Record<string, string> = {},
        ): void => {
            this.log.push({
                method,
                path,
                query: flatQuery(url.searchParams),
                status,
                ...(raw !== "" && { body: parsed.ok ? parsed.value : raw }),
                at,
                ...(match && { route: match.route.route }),
                requestId,
            });
            const headers: Record<string, string> = {
                "Render-Request-Id": requestId,
                "Ratelimit-Limit": String(reading.limit),
                "Ratelimit-Remaining": String(Math.max(0, reading.remaining)),
                "Ratelimit-Reset": String(reading.resetSeconds),
                ...extraHeaders,
            };
            if (body === undefined) {
                res.writeHead(status, { ...headers, "Content-Length": "0" });
                res.end();
                return;
            }
            const text = JSON.stringify(body);
            res.writeHead(status, {
                ...headers,
                "Content-Type": "application/json; charset=utf-8",
                "Content-Length": String(Buffer.byteLength(text)),
            });
            res.end(text);
        };

        if (req.headers.authorization !== `Bearer ${this.options.apiKey}`) {
            return respond(401, { id: "unauthorized", message: "Unauthorized" }, this.limiter.take(bucket, false));
        }

        const fault = this.takeFault(method, path, match?.route.route);
        if (fault?.delayMs) await this.sleep(fault.delayMs);
        if (fault?.status !== undefined) {
            const reading = this.limiter.take(bucket, false);
            const headers: Record<string, string> =
                fault.retryAfterSeconds === undefined ? {} : { "Retry-After": String(fault.retryAfterSeconds) };
            // An injected 429 looks like a spent bucket.
            const shown =
                fault.status === 429
                    ? { ...reading, remaining: 0, resetSeconds: fault.retryAfterSeconds ?? reading.resetSeconds }
                    : reading;
            return respond(
                fault.status,
                { message: FAULT_MESSAGES[fault.status] ?? `Injected fault ${fault.status}` },
                shown,
                headers,
            );
        }

        const reading = this.limiter.take(bucket, true);
        if (!reading.allowed && this.options.rateLimits) {
            return respond(429, { message: this.rateLimitMessage(bucket, reading) }, reading, {
                "Retry-After": String(reading.resetSeconds),
            });
        }

        if (!match) return respond(404, { id: "not_found", message: `not found: ${method} ${url.pathname}` }, reading);
        // A path that is not valid percent-encoding names nothing that could exist.
        if (!match.params)
            return respond(404, { id: "not_found", message: `not found: ${method} ${url.pathname}` }, reading);
        // Never quote the body back: it may hold a secret value.
        if (match.route.body && !parsed.ok)
            return respond(400, { message: "the request body is not valid JSON" }, reading);
        if (serviceId !== undefined && !this.state.hasService(serviceId)) {
            const error = notFound(serviceId);
            return respond(error.status, error.body, reading);
        }

        try {
            const body = match.route.body && parsed.ok ? parsed.value : undefined;
            const answer = match.route.handle({
                state: this.state,
                params: match.params,
                query: url.searchParams,
                body,
            });
            return respond(answer.status, answer.body, reading);
        } catch (error) {
            if (error instanceof ApiError) return respond(error.status, error.body, reading);
            console.error(`render emulator: ${method} ${match.route.route} failed`, error);
            return respond(500, { message: `emulator error handling ${method} ${match.route.route}` }, reading);
        }
    }

    private takeFault(method: string, path: string, route: string | undefined): Fault | undefined {
        const index = this.faults.findIndex(({ fault }) => {
            if (fault.method !== undefined && fault.method.toUpperCase() !== method) return false;
            if (fault.path === undefined) return true;
            if (typeof fault.path === "string") return fault.path === path || fault.path === route;
            fault.path.lastIndex = 0;
            return fault.path.test(path);
        });
        if (index < 0) return undefined;
        const entry = this.faults[index];
        entry.remaining -= 1;
        if (entry.remaining <= 0) this.faults.splice(index, 1);
        return entry.fault;
    }

    private sleep(ms: number): Promise<void> {
        return new Promise((resolve) => {
            const timer = setTimeout(() => {
                this.delays.delete(timer);
                resolve();
            }, ms);
            this.delays.add(timer);
        });
    }

    private rateLimitMessage(bucket: Bucket, reading: BucketReading): string {
        const window = this.options.rateLimitWindowMs === 60_000 ? "minute" : `${this.options.rateLimitWindowMs} ms`;
        return `Rate limit exceeded: at most ${reading.limit} ${bucket.description} per ${window}; retry in ${reading.resetSeconds}s`;
    }
}

/** The route for a method and path; `params` is undefined when a path segment is not valid percent-encoding. */
function matchRoute(method: string, path: string): { route: Route; params?: Record<string, string> } | undefined {
    for (const { route, pattern } of COMPILED) {
        if (route.method !== method) continue;
        const found = pattern.exec(path);
        if (!found) continue;
        try {
            const params = Object.fromEntries(
                Object.entries(found.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]),
            );
            return { route, params };
        } catch {
            return { route };
        }
    }
    return undefined;
}

function parseJson(raw: string): { ok: true; value: unknown } | { ok: false } {
    if (raw.trim() === "") return { ok: true, value: undefined };
    try {
        return { ok: true, value: JSON.parse(raw) };
    } catch {
        return { ok: false };
    }
}

function flatQuery(params: URLSearchParams): Record<string, string> {
    const query: Record<string, string> = {};
    for (const key of new Set(params.keys())) query[key] = params.getAll(key).join(",");
    return query;
}
