// Render's REST API as a typed client: zod-validated answers, retries with jittered backoff, cursor paging, the 202 deploy flow.
//
// The client knows nothing of Pulumi: the Render providers build one per call, in the dynamic-provider host, with the
// API key they read there (see providerSupport.ts).
import { z } from "zod";
import { redactSecrets } from "../redact";
import { renderApiUrlProblem } from "./apiUrl";
import { failedBeforeSending, isRetryableStatus, networkErrorCode, retryDelayMs, serverRequestedWaitMs } from "./retry";

// The one redaction everyone calls (lib/redact.ts), also reached from here, as the client was its first home.
export { redactSecrets };

export interface RenderClientOptions {
    apiKey: string;
    /** Default "https://api.render.com/v1". */
    baseUrl?: string;
    /** Retries after the first try, for 429, 5xx and network failures. Default 6. */
    maxRetries?: number;
    /** Backoff base in ms (full jitter, doubling per retry). Default 500. */
    retryBaseMs?: number;
    /** Longest single wait between tries, whatever the server asks for. Default 60000 (Render's window is a minute). */
    maxRetryWaitMs?: number;
    /** A request with no complete answer after this long counts as a network failure. Default 30000. */
    requestTimeoutMs?: number;
    /**
     * After a deploy trigger whose answer leaves open whether Render acted (no answer, a reset, a 5xx), how long to look
     * for the deploy it may have made before failing with TriggerFateUnknownError. Default 60000.
     */
    triggerLookupMs?: number;
    /**
     * When the work this client serves must be over (epoch ms): no request is sent, no retry or poll waits, past it;
     * a call that would is refused with DeadlineError. Unset: each wait has only its own bound.
     */
    deadline?: number;
    /** Progress and retry notes. Never given a variable's value or the key. */
    log?: (message: string) => void;
}

export type DeployStatus =
    | "created"
    | "queued"
    | "build_in_progress"
    | "pre_deploy_in_progress"
    | "update_in_progress"
    | "live"
    | "build_failed"
    | "pre_deploy_failed"
    | "update_failed"
    | "canceled"
    | "deactivated";

export interface Deploy {
    id: string;
    status: DeployStatus;
    trigger?: string;
    /** Null for image-backed deploys. */
    commit?: { id: string; message?: string; createdAt?: string } | null;
    image?: { ref?: string; sha?: string } | null;
    createdAt: string;
    updatedAt?: string;
    startedAt?: string;
    /** Render sends null or leaves it out while a deploy is in flight. */
    finishedAt?: string | null;
}

export interface Service {
    id: string;
    name: string;
    /** The workspace (tea-... or usr-...) that owns it: what GET /logs needs as `ownerId`. */
    ownerId?: string;
    autoDeploy: "yes" | "no";
    /** Newer API versions only: `commit`, `off` or `checksPass`. */
    autoDeployTrigger?: string;
    type?: string;
    repo?: string;
    branch?: string;
    suspended?: string;
    serviceDetails?: { url?: string; maintenanceMode?: MaintenanceMode; [detail: string]: unknown };
}

export interface EnvVar {
    key: string;
    value: string;
}

/** A web service's maintenance mode: while enabled, Render's edge answers every request with 503 and the page. */
export interface MaintenanceMode {
    enabled: boolean;
    /** The page Render serves; "" for its default page. */
    uri: string;
}

/** The body of `POST /services/{id}/deploys`. `deployMode` may not be combined with the others (Render refuses it). */
export interface DeployRequest {
    commitId?: string;
    clearCache?: "clear" | "do_not_clear";
    /** `deploy_only`: deploy the last successful build again with the variables stored now, no build. */
    deployMode?: "build_and_deploy" | "deploy_only";
}

/** What a deploy-creating call needs besides its body, to tell its own deploy from anyone else's. */
export interface CreateDeployOptions {
    /**
     * The service's newest deploys, newest first, listed before the request: a deploy among them (or created before the
     * newest of them, by Render's clock) was not created by this request. Listed by the call when not given.
     */
    before?: Deploy[];
    /** The commit the new deploy must run (the one asked for, or the build `deploy_only` reuses); any when undefined. */
    expectCommit?: string;
}

export interface ListDeploysFilter {
    status?: DeployStatus[];
    /** How many deploys to return at most, following cursors as needed. Default 20 (one page). */
    limit?: number;
    /** RFC 3339 time; only deploys created after it. */
    createdAfter?: string;
}

/** One label of a metrics time series, e.g. `{field: "statusCode", value: "503"}` or `{field: "instance", ...}`. */
export interface MetricLabel {
    field: string;
    value: string;
}

/** One data point of a metrics time series: the bucket's start (RFC 3339) and its value in the series' unit. */
export interface MetricPoint {
    timestamp: string;
    value: number;
}

/** A metrics time series as Render's `/metrics/*` endpoints answer it: what it is of, its points, their unit. */
export interface MetricSeries {
    labels: MetricLabel[];
    values: MetricPoint[];
    unit: string;
}

/** The query parameters every metrics endpoint used here takes (the spec's; the deprecated `service` is never sent). */
export interface MetricsQuery {
    /** The resource to query: a service id (srv-...); for active connections a Postgres (dpg-...) or Redis (red-...) id. */
    resource: string;
    /** RFC 3339; Render's default is an hour before now. */
    startTime?: string;
    /** RFC 3339; Render's default is now. */
    endTime?: string;
    /** Seconds per data point, at least 30 (the spec's minimum); Render's default 60. */
    resolutionSeconds?: number;
}

/** The HTTP metrics' filters besides the query every metrics endpoint takes. */
export interface HttpMetricsQuery extends MetricsQuery {
    /** Only requests to this host. */
    host?: string;
    /** Only requests to this path. */
    path?: string;
}

/** One label of a log line: `{name: "statusCode", value: "503"}`, `{name: "level", value: "error"}`, ... */
export interface LogLabel {
    name: string;
    value: string;
}

/** A log line as GET /logs answers it: the text as written, when, and its labels (resource, instance, type, ...). */
export interface LogEntry {
    id: string;
    message: string;
    /** RFC 3339, with Render's microseconds. */
    timestamp: string;
    labels: LogLabel[];
}

/** The labels GET /logs/values lists the values of. */
export type LogValueLabel = "instance" | "host" | "statusCode" | "method" | "level" | "type";

/**
 * What GET /logs asks: the workspace and its resources, a time range, and filters (each a list of values any of which
 * may match; Render takes `*` wildcards and `/regular expressions/` in them).
 */
export interface LogsQuery {
    /** The workspace that owns the resources (tea-... or usr-...). */
    ownerId: string;
    /** Service (srv-...), Postgres (dpg-...) or Redis ids, at least one, all of one owner and region. */
    resource: readonly string[];
    /** RFC 3339, within the last 30 days; Render's default is an hour before endTime. Sent as given. */
    startTime?: string;
    /** RFC 3339; Render's default is now. Sent as given. */
    endTime?: string;
    /** `backward` (Render's default): newest first; `forward`: oldest first. */
    direction?: "forward" | "backward";
    level?: readonly string[];
    /** `app`, `request`, `build`, ... */
    type?: readonly string[];
    instance?: readonly string[];
    host?: readonly string[];
    statusCode?: readonly string[];
    method?: readonly string[];
    path?: readonly string[];
    text?: readonly string[];
}

/** How far listLogs pages. */
export interface ListLogsOptions {
    /** Lines per request, 1 to 100 (Render's most); default 100. */
    pageSize?: number;
    /** Requests at most; default 20. The read stops there, saying it is not complete. */
    maxPages?: number;
}

/** The lines read, in the order Render gave them, and whether they are all the range holds. */
export interface LogsRead {
    logs: LogEntry[];
    /** How many pages (requests) it took. */
    pages: number;
    /** False when the page bound stopped the read before Render said there were no more. */
    complete: boolean;
    /** Where the rest is, when not complete: the range the next page would ask (as Render gave it). */
    next?: { startTime: string; endTime: string };
}

/** A service event as GET /services/{id}/events lists it; `details` as the spec describes the type's. */
export interface ServiceEvent {
    id: string;
    /** RFC 3339. */
    timestamp: string;
    serviceId: string;
    /** `server_failed`, `deploy_ended`, ... (Render adds types: any string is read). */
    type: string;
    details: Record<string, unknown>;
}

/** Which events listServiceEvents reads, and how far it pages. */
export interface ListServiceEventsOptions {
    /** Only these types (sent comma-separated in one `type`, as Render's own clients do); all when absent. */
    types?: readonly string[];
    /** RFC 3339: only events at or after it. */
    startTime?: string;
    /** RFC 3339: only events at or before it. */
    endTime?: string;
    /** Events per request, 1 to 100; default 100. */
    pageSize?: number;
    /** Requests at most; default 10. The read stops there, saying it is not complete. */
    maxPages?: number;
}

/** The events read, newest first, and whether they are all the range holds. */
export interface ServiceEventsRead {
    events: ServiceEvent[];
    pages: number;
    /** False when the page bound stopped the read before Render's list ended. */
    complete: boolean;
}

export interface WaitForDeployOptions {
    /** Give up (DeployFailedError with timedOut) after this long. Default 30 minutes. */
    timeoutMs?: number;
    /** First wait between polls; doubles up to maxPollMs. Default 1000. */
    firstPollMs?: number;
    /** Default 15000. */
    maxPollMs?: number;
    /** Called with the deploy on the first poll and whenever its status changes. */
    onStatus?: (deploy: Deploy) => void;
}

const DEFAULT_BASE_URL = "https://api.render.com/v1";
const DEPLOY_STATUSES = [
    "created",
    "queued",
    "build_in_progress",
    "pre_deploy_in_progress",
    "update_in_progress",
    "live",
    "build_failed",
    "pre_deploy_failed",
    "update_failed",
    "canceled",
    "deactivated",
] as const;
// `deactivated` counts as failure: a deploy we wait on that ends superseded never served traffic as ours.
const FAILED_STATUSES: readonly string[] = [
    "build_failed",
    "pre_deploy_failed",
    "update_failed",
    "canceled",
    "deactivated",
];
// How many of the service's newest deploys a lookup reads: more than can be created in the seconds one request takes.
const RECENT_DEPLOYS = 20;
// Between two looks for a deploy a trigger may have made: the longest wait (the first ones are shorter).
const LOOKUP_MAX_POLL_MS = 5_000;
// After a 202, how many times to look for the queued deploy before giving up.
const QUEUED_LOOKUPS = 6;
const ERROR_DETAIL_MAX = 300;

// Render's answers, as its API describes them. Optional timestamps Render sends as null read as absent.
const nullishToUndefined = z
    .string()
    .nullish()
    .transform((v) => v ?? undefined);
const deploySchema: z.ZodType<Deploy> = z.object({
    id: z.string().min(1),
    status: z.enum(DEPLOY_STATUSES),
    trigger: z.string().optional(),
    commit: z
        .object({ id: z.string(), message: z.string().optional(), createdAt: z.string().optional() })
        .nullable()
        .optional(),
    image: z.object({ ref: z.string().optional(), sha: z.string().optional() }).nullable().optional(),
    createdAt: z.string().min(1),
    updatedAt: nullishToUndefined,
    startedAt: nullishToUndefined,
    finishedAt: z.string().nullable().optional(),
});
const serviceSchema: z.ZodType<Service> = z.object({
    id: z.string().min(1),
    name: z.string(),
    ownerId: z.string().optional(),
    autoDeploy: z.enum(["yes", "no"]),
    autoDeployTrigger: z.string().optional(),
    type: z.string().optional(),
    repo: z.string().optional(),
    branch: z.string().optional(),
    suspended: z.string().optional(),
    serviceDetails: z
        .looseObject({
            url: z.string().optional(),
            maintenanceMode: z.object({ enabled: z.boolean(), uri: z.string() }).optional(),
        })
        .optional(),
});
const envVarSchema: z.ZodType<EnvVar> = z.object({ key: z.string().min(1), value: z.string() });
const deployPageSchema = z.array(z.object({ deploy: deploySchema, cursor: z.string() }));
const servicePageSchema = z.array(z.object({ service: serviceSchema, cursor: z.string() }));
const envVarPageSchema = z.array(z.object({ envVar: envVarSchema, cursor: z.string() }));
const errorBodySchema = z.object({ id: z.string().optional(), message: z.string().optional() });
// The spec's metrics time series. Its points also list `unit` as required, a property it never declares; the series
// carries the unit, so a point's own is not read (nor required, should Render leave it out).
const metricSeriesSchema: z.ZodType<MetricSeries> = z.object({
    labels: z.array(z.object({ field: z.string(), value: z.string() })),
    values: z.array(
        z.object({
            timestamp: z.string().refine((t) => !Number.isNaN(Date.parse(t)), { error: "not a date-time" }),
            value: z.number(),
        }),
    ),
    unit: z.string(),
});
const metricSeriesListSchema = z.array(metricSeriesSchema);
const dateTime = z.string().refine((t) => !Number.isNaN(Date.parse(t)), { error: "not a date-time" });
// Label names are read as any string: Render adds labels, and a new one must not make the logs unreadable.
const logEntrySchema: z.ZodType<LogEntry> = z.object({
    id: z.string(),
    message: z.string(),
    timestamp: dateTime,
    labels: z.array(z.object({ name: z.string(), value: z.string() })),
});
const logsPageSchema = z.object({
    logs: z.array(logEntrySchema),
    hasMore: z.boolean(),
    nextStartTime: z.string().optional(),
    nextEndTime: z.string().optional(),
});
const logValuesSchema = z.array(z.string());
const serviceEventSchema: z.ZodType<ServiceEvent> = z.object({
    id: z.string().min(1),
    timestamp: dateTime,
    serviceId: z.string(),
    type: z.string().min(1),
    details: z.record(z.string(), z.unknown()),
});
const serviceEventPageSchema = z.array(z.object({ event: serviceEventSchema, cursor: z.string() }));
/** The most lines or events Render gives in one answer. */
const MAX_PAGE_SIZE = 100;
/** Render's smallest `resolutionSeconds` for metrics. */
export const MIN_METRICS_RESOLUTION_SECONDS = 30;

/** A request Render answered with an error, or answered with a body that is not what its spec says. */
export class RenderApiError extends Error {
    /** The HTTP status; 0 when there was no answer at all (RenderNetworkError). */
    readonly status: number;
    readonly requestId?: string;
    readonly method: string;
    readonly path: string;
    /** How many times the request was sent before this error was final. */
    readonly attempts: number;

    constructor(method: string, path: string, status: number, detail: string, requestId?: string, attempts = 1) {
        // Status 0 is RenderNetworkError's marker, not something Render said: it stays out of the message.
        const said = status === 0 ? "" : `${status} `;
        const rid = requestId ? ` (request id ${requestId})` : "";
        const tries = attempts > 1 ? `; gave up after ${attempts} attempts` : "";
        super(`${method} ${path}: ${said}${detail}${rid}${tries}`);
        this.name = "RenderApiError";
        this.status = status;
        this.requestId = requestId;
        this.method = method;
        this.path = path;
        this.attempts = attempts;
    }
}

/** No HTTP answer at all (status 0). `maybeDelivered` says whether Render may have acted anyway. */
export class RenderNetworkError extends RenderApiError {
    readonly code: string;
    readonly maybeDelivered: boolean;

    constructor(method: string, path: string, code: string, maybeDelivered: boolean, attempts: number) {
        const when = maybeDelivered ? "the request may have reached Render" : "the request never reached Render";
        super(method, path, 0, `no response (${code}; ${when})`, undefined, attempts);
        this.name = "RenderNetworkError";
        this.code = code;
        this.maybeDelivered = maybeDelivered;
    }
}

/** A deploy that ended in a failure status, or was still in flight (or never seen) when the wait ran out. */
export class DeployFailedError extends Error {
    readonly status: string;
    readonly deployId: string;
    readonly serviceId: string;
    readonly requestId?: string;
    readonly timedOut: boolean;

    constructor(
        serviceId: string,
        deploy: { id: string; status: string },
        requestId: string | undefined,
        timedOutAfterMs?: number,
        /** Why the last polls got no status, when they failed. */
        pollTrouble?: string,
    ) {
        const rid = requestId ? ` (request id ${requestId})` : "";
        const trouble = pollTrouble ? `; ${pollTrouble}` : "";
        super(
            timedOutAfterMs === undefined
                ? `deploy ${deploy.id} of ${serviceId} ended ${deploy.status}, not live${rid}`
                : `deploy ${deploy.id} of ${serviceId} was still ${deploy.status} after ${formatDuration(timedOutAfterMs)}${rid}${trouble}`,
        );
        this.name = "DeployFailedError";
        this.status = deploy.status;
        this.deployId = deploy.id;
        this.serviceId = serviceId;
        this.requestId = requestId;
        this.timedOut = timedOutAfterMs !== undefined;
    }
}

/** More than one deploy could be the one a request created: the client will not guess which. */
export class AmbiguousDeployError extends Error {
    readonly candidates: Deploy[];

    constructor(method: string, path: string, why: string, candidates: Deploy[]) {
        super(
            `${method} ${path}: ${why}, and ${candidates.length} deploys created since could be the one it made: ` +
                candidates.map(describeDeploy).join("; ") +
                `. Check the service's deploys in Render (cancel the extra one) before running pulumi up again`,
        );
        this.name = "AmbiguousDeployError";
        this.candidates = candidates;
    }
}

/**
 * A deploy trigger Render may or may not have acted on (no answer, a reset, a 5xx), after which no deploy it could have
 * made appeared within the lookup window. It is not sent again: Render may still act on it (a request held past the
 * client's timeout lands late), and a second one would make two deploys.
 */
export class TriggerFateUnknownError extends Error {
    /** When the request was sent (epoch ms): a deploy it made is created after it. */
    readonly sentAt: number;

    constructor(method: string, path: string, why: string, sentAt: number, lookedMs: number, wanted: string) {
        super(
            `${method} ${path}: ${why}, and no deploy it could have made (${wanted}, created since ` +
                `${new Date(sentAt).toISOString()}) appeared in the ${formatDuration(lookedMs)} since. Render may still ` +
                `act on it, so it was not sent again: the trigger's fate is unknown. Look at the service's deploys in ` +
                `Render, then run pulumi up again: it adopts the deploy if Render made it, and triggers one if not`,
        );
        this.name = "TriggerFateUnknownError";
        this.sentAt = sentAt;
    }
}

/** The client's deadline (RenderClientOptions.deadline) came before the call could be made or finished. */
export class DeadlineError extends Error {
    constructor(what: string, deadline: number, last?: Error) {
        super(
            `${what}: no time left before this client's deadline (${new Date(deadline).toISOString()})` +
                (last ? `; the last try: ${last.message}` : ""),
        );
        this.name = "DeadlineError";
    }
}

/** "dep-... (api, queued, created 2026-...)": a deploy as a failure message lists it. */
export function describeDeploy(d: Deploy): string {
    const commit = d.commit?.id ? ` of ${d.commit.id.slice(0, 7)}` : "";
    return `${d.id}${commit} (trigger ${d.trigger ?? "not given"}, ${d.status}, created ${d.createdAt})`;
}

/** True once a deploy will not change status again by itself. */
export function isTerminal(status: DeployStatus): boolean {
    return status === "live" || FAILED_STATUSES.includes(status);
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

interface CallSpec {
    method: Method;
    path: string;
    query?: Array<[string, string]>;
    body?: unknown;
    /** Strings scrubbed from any error text, e.g. a variable's value Render might echo back. */
    secrets?: string[];
    /** False for POSTs that create something: a network failure after sending is not retried blindly. */
    idempotent?: boolean;
    /** Non-2xx statuses handed back to the caller instead of thrown (404 for "absent"). */
    accept?: number[];
}

interface CallResult {
    status: number;
    text: string;
    requestId?: string;
}

export class RenderClient {
    declare private readonly apiKey: string;
    private readonly baseUrl: string;
    private readonly maxRetries: number;
    private readonly retryBaseMs: number;
    private readonly maxRetryWaitMs: number;
    private readonly requestTimeoutMs: number;
    private readonly triggerLookupMs: number;
    private readonly deadline?: number;
    private readonly log: (message: string) => void;

    constructor(opts: RenderClientOptions) {
        if (typeof opts.apiKey !== "string" || opts.apiKey.trim() === "") {
            throw new Error("RenderClient: apiKey is empty; set the render API key secret in config or RENDER_API_KEY");
        }
        // Non-enumerable so the key does not show up when a client is logged or inspected.
        Object.defineProperty(this, "apiKey", { value: opts.apiKey, enumerable: false });
        // The key is sent with every request: only to Render's API or a loopback emulator (./apiUrl.ts).
        const apiUrlProblem = renderApiUrlProblem(opts.baseUrl ?? DEFAULT_BASE_URL);
        if (apiUrlProblem) throw new Error(`RenderClient: the API URL ${apiUrlProblem}`);
        this.baseUrl = (opts.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
        this.maxRetries = opts.maxRetries ?? 6;
        this.retryBaseMs = opts.retryBaseMs ?? 500;
        this.maxRetryWaitMs = opts.maxRetryWaitMs ?? 60_000;
        this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
        this.triggerLookupMs = opts.triggerLookupMs ?? 60_000;
        this.deadline = opts.deadline;
        this.log = opts.log ?? (() => undefined);
    }

    /** "srv-..." is returned as is; a name is looked up and must match exactly one service. */
    async resolveServiceId(nameOrId: string): Promise<string> {
        if (nameOrId.startsWith("srv-")) return nameOrId;
        const items = await this.listPages(
            "/services",
            [["name", nameOrId]],
            servicePageSchema,
            "a page of services",
            Infinity,
        );
        const matches = items.map((i) => i.service).filter((svc) => svc.name === nameOrId);
        if (matches.length === 1) return matches[0].id;
        if (matches.length === 0) {
            throw new Error(
                `Render service "${nameOrId}": no service with that name is visible to this API key; ` +
                    `check the name and the key's workspace, or give the service id (srv-...)`,
            );
        }
        throw new Error(
            `Render service "${nameOrId}": ${matches.length} services have that name ` +
                `(${matches.map((m) => m.id).join(", ")}); give the service id (srv-...) instead`,
        );
    }

    async getService(serviceId: string): Promise<Service> {
        const path = `/services/${enc(serviceId)}`;
        return this.parse(serviceSchema, await this.call({ method: "GET", path }), "GET", path, "a service");
    }

    /** PATCH /services/{id} with `autoDeploy` only (Render wants one of autoDeploy/autoDeployTrigger, not both). */
    async updateAutoDeploy(serviceId: string, autoDeploy: "yes" | "no"): Promise<Service> {
        const path = `/services/${enc(serviceId)}`;
        const res = await this.call({ method: "PATCH", path, body: { autoDeploy } });
        return this.parse(serviceSchema, res, "PATCH", path, "a service");
    }

    /**
     * PATCH /services/{id} with the maintenance mode only: Render's edge serves the page (or stops) at once, with no
     * deploy. Answers the service as it now is.
     */
    async updateMaintenanceMode(serviceId: string, mode: MaintenanceMode): Promise<Service> {
        const path = `/services/${enc(serviceId)}`;
        const body = { serviceDetails: { maintenanceMode: { enabled: mode.enabled, uri: mode.uri } } };
        return this.parse(serviceSchema, await this.call({ method: "PATCH", path, body }), "PATCH", path, "a service");
    }

    /** Every variable set on the service itself, following cursors to the end. Values are plain text. */
    async listEnvVars(serviceId: string): Promise<EnvVar[]> {
        const path = `/services/${enc(serviceId)}/env-vars`;
        const items = await this.listPages(path, [], envVarPageSchema, "a page of environment variables", Infinity);
        return items.map((i) => ({ key: i.envVar.key, value: i.envVar.value }));
    }

    /** One variable's value, or undefined when the service has no such variable (404). */
    async getEnvVar(serviceId: string, key: string): Promise<string | undefined> {
        const path = `/services/${enc(serviceId)}/env-vars/${enc(key)}`;
        const res = await this.call({ method: "GET", path, accept: [404] });
        if (res.status === 404) return undefined;
        return this.parse(envVarSchema, res, "GET", path, "an environment variable").value;
    }

    /** Adds or updates ONE variable (PUT /env-vars/{key}); never the whole-set PUT that wipes hand-set variables. */
    async setEnvVar(serviceId: string, key: string, value: string): Promise<void> {
        const path = `/services/${enc(serviceId)}/env-vars/${enc(key)}`;
        const secrets = [value];
        const res = await this.call({ method: "PUT", path, body: { value }, secrets });
        this.parse(envVarSchema, res, "PUT", path, "an environment variable", secrets);
    }

    /** True when the variable was deleted (204), false when it was not there (404). */
    async deleteEnvVar(serviceId: string, key: string): Promise<boolean> {
        const path = `/services/${enc(serviceId)}/env-vars/${enc(key)}`;
        const res = await this.call({ method: "DELETE", path, accept: [404] });
        return res.status !== 404;
    }

    /** Deploys newest first, following cursors until `limit` (default 20) are collected or the list ends. */
    async listDeploys(serviceId: string, filter: ListDeploysFilter = {}): Promise<Deploy[]> {
        const path = `/services/${enc(serviceId)}/deploys`;
        const query: Array<[string, string]> = [];
        // Render's spec leaves `status` at OpenAPI's default (form, explode): one parameter per value.
        for (const status of filter.status ?? []) query.push(["status", status]);
        if (filter.createdAfter !== undefined) query.push(["createdAfter", filter.createdAfter]);
        const limit = filter.limit ?? 20;
        const items = await this.listPages(path, query, deployPageSchema, "a page of deploys", limit);
        const deploys = items.map((i) => i.deploy);
        // Checked here too, so a server that ignored a filter cannot hand a caller the wrong deploy.
        return deploys
            .filter((d) => !filter.status || filter.status.includes(d.status))
            .filter(
                (d) => filter.createdAfter === undefined || Date.parse(d.createdAt) >= Date.parse(filter.createdAfter),
            )
            .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    }

    async getDeploy(serviceId: string, deployId: string): Promise<Deploy> {
        return (await this.fetchDeploy(serviceId, deployId)).deploy;
    }

    /** The newest deploy whose status is live, if any. */
    async liveDeploy(serviceId: string): Promise<Deploy | undefined> {
        const [live] = await this.listDeploys(serviceId, { status: ["live"], limit: 1 });
        return live;
    }

    /**
     * Starts a deploy. Render answers 201 with it, or 202 with an empty body when another deploy is running; then the
     * deploy is found by listing.
     *
     * Which deploy is this request's: one created through the API (`trigger: "api"`), of the commit asked for, and not
     * among the deploys listed before the request (`opts.before`) nor created before the newest of them by Render's
     * clock. Never a teammate's dashboard deploy, an autodeploy, or one that was already there.
     *
     * Retries: a 429, or a connection that failed before the request left, proves Render did not act: the POST is sent
     * again. A 5xx, a reset or no answer after the request left is ambiguous: Render may have created the deploy (a
     * gateway 502 after it did, an answer lost), or may still create it (a request held past the timeout lands late).
     * The client then looks for this request's deploy for `triggerLookupMs`: one found is used; more than one, it
     * fails listing them; none, it fails with TriggerFateUnknownError and never resends. So one call never starts two
     * deploys, and the next `up` adopts a deploy that lands after that.
     */
    async triggerDeploy(serviceId: string, body: DeployRequest = {}, opts: CreateDeployOptions = {}): Promise<Deploy> {
        const expectCommit = opts.expectCommit ?? body.commitId;
        const path = `/services/${enc(serviceId)}/deploys`;
        const wanted = `trigger api${expectCommit ? `, commit ${expectCommit.slice(0, 7)}` : ""}`;
        return this.createDeploy(
            serviceId,
            path,
            body,
            opts.before,
            (d) => {
                if (d.trigger !== "api") return false;
                return expectCommit === undefined || (d.commit?.id ?? "").startsWith(expectCommit);
            },
            wanted,
        );
    }

    /** Rolls back to `deployId`'s build (a new deploy, trigger "rollback", of its commit); retried like triggerDeploy. */
    async rollback(serviceId: string, deployId: string, opts: CreateDeployOptions = {}): Promise<Deploy> {
        const path = `/services/${enc(serviceId)}/rollback`;
        const wanted = `trigger rollback${opts.expectCommit ? `, commit ${opts.expectCommit.slice(0, 7)}` : ""}`;
        return this.createDeploy(
            serviceId,
            path,
            { deployId },
            opts.before,
            (d) => {
                if (d.trigger !== "rollback") return false;
                return opts.expectCommit === undefined || (d.commit?.id ?? "").startsWith(opts.expectCommit);
            },
            wanted,
        );
    }

    async cancelDeploy(serviceId: string, deployId: string): Promise<Deploy> {
        const path = `/services/${enc(serviceId)}/deploys/${enc(deployId)}/cancel`;
        return this.parse(deploySchema, await this.call({ method: "POST", path }), "POST", path, "a deploy");
    }

    /** GET /metrics/http-requests: request counts per bucket; `aggregateBy: "statusCode"` gives one series per status. */
    async getHttpRequests(query: HttpMetricsQuery & { aggregateBy?: "statusCode" | "host" }): Promise<MetricSeries[]> {
        return this.metrics("/metrics/http-requests", query, [
            ["host", query.host],
            ["path", query.path],
            ["aggregateBy", query.aggregateBy],
        ]);
    }

    /** GET /metrics/http-latency: the latency at `quantile` (e.g. 0.95) per bucket. */
    async getHttpLatency(query: HttpMetricsQuery & { quantile?: number }): Promise<MetricSeries[]> {
        if (query.quantile !== undefined && !(query.quantile > 0 && query.quantile <= 1)) {
            throw new Error(
                `getHttpLatency: quantile must be above 0 and at most 1 (0.95 for p95), got ${query.quantile}`,
            );
        }
        return this.metrics("/metrics/http-latency", query, [
            ["host", query.host],
            ["path", query.path],
            ["quantile", query.quantile === undefined ? undefined : String(query.quantile)],
        ]);
    }

    /** GET /metrics/memory: memory in use, per instance. */
    async getMemory(query: MetricsQuery & { instance?: string }): Promise<MetricSeries[]> {
        return this.metrics("/metrics/memory", query, [["instance", query.instance]]);
    }

    /** GET /metrics/memory-limit: the memory each instance may use. */
    async getMemoryLimit(query: MetricsQuery & { instance?: string }): Promise<MetricSeries[]> {
        return this.metrics("/metrics/memory-limit", query, [["instance", query.instance]]);
    }

    /** GET /metrics/disk-usage: the persistent disk's use; no series for a service without a disk. */
    async getDiskUsage(query: MetricsQuery): Promise<MetricSeries[]> {
        return this.metrics("/metrics/disk-usage", query, []);
    }

    /** GET /metrics/disk-capacity: the persistent disk's size; no series for a service without a disk. */
    async getDiskCapacity(query: MetricsQuery): Promise<MetricSeries[]> {
        return this.metrics("/metrics/disk-capacity", query, []);
    }

    /** GET /metrics/active-connections: open connections of a Postgres (dpg-...) or Redis (red-...) instance. */
    async getActiveConnections(query: MetricsQuery): Promise<MetricSeries[]> {
        return this.metrics("/metrics/active-connections", query, []);
    }

    /**
     * GET /logs, page after page to the end of the range or `maxPages` (default 20), whichever comes first: each next
     * page asks the `nextStartTime`/`nextEndTime` Render gave, exactly as given (its timestamps carry microseconds that
     * a Date would lose). Lines come in Render's order (newest first unless `direction` is `forward`). The client's
     * retry rules apply to every page (a 429 waits as Render says).
     */
    async listLogs(query: LogsQuery, opts: ListLogsOptions = {}): Promise<LogsRead> {
        const path = "/logs";
        const pageSize = opts.pageSize ?? MAX_PAGE_SIZE;
        const maxPages = opts.maxPages ?? 20;
        checkPaging(`GET ${path}`, pageSize, maxPages);
        const base = logsQueryPairs(path, query);
        let range = { startTime: query.startTime, endTime: query.endTime };
        const logs: LogEntry[] = [];
        for (let pages = 1; ; pages++) {
            const pairs: Array<[string, string]> = [...base, ["limit", String(pageSize)]];
            if (range.startTime !== undefined) pairs.push(["startTime", range.startTime]);
            if (range.endTime !== undefined) pairs.push(["endTime", range.endTime]);
            const res = await this.call({ method: "GET", path, query: pairs });
            const page = this.parse(logsPageSchema, res, "GET", path, "a page of logs");
            logs.push(...page.logs);
            if (!page.hasMore) return { logs, pages, complete: true };
            if (page.nextStartTime === undefined || page.nextEndTime === undefined) {
                throw new RenderApiError(
                    "GET",
                    path,
                    res.status,
                    "hasMore is true but nextStartTime/nextEndTime are missing",
                    res.requestId,
                );
            }
            const next = { startTime: page.nextStartTime, endTime: page.nextEndTime };
            if (next.startTime === range.startTime && next.endTime === range.endTime) {
                throw new RenderApiError(
                    "GET",
                    path,
                    res.status,
                    `the page did not advance (hasMore, and the next range is ${next.startTime} to ${next.endTime} again)`,
                    res.requestId,
                );
            }
            if (pages >= maxPages) return { logs, pages, complete: false, next };
            range = next;
        }
    }

    /** GET /logs/values: the values of one label among the lines the query matches (e.g. every status code seen). */
    async listLogValues(query: Omit<LogsQuery, "direction"> & { label: LogValueLabel }): Promise<string[]> {
        const path = "/logs/values";
        const pairs = logsQueryPairs(path, query);
        pairs.push(["label", query.label]);
        if (query.startTime !== undefined) pairs.push(["startTime", query.startTime]);
        if (query.endTime !== undefined) pairs.push(["endTime", query.endTime]);
        const res = await this.call({ method: "GET", path, query: pairs });
        return this.parse(logValuesSchema, res, "GET", path, "a list of log label values");
    }

    /**
     * GET /services/{id}/events, newest first, following cursors until Render's list ends (an empty page) or
     * `maxPages` (default 10) requests were made. The range applies to every page, beside the cursor.
     */
    async listServiceEvents(serviceId: string, opts: ListServiceEventsOptions = {}): Promise<ServiceEventsRead> {
        const path = `/services/${enc(serviceId)}/events`;
        const pageSize = opts.pageSize ?? MAX_PAGE_SIZE;
        const maxPages = opts.maxPages ?? 10;
        checkPaging(`GET ${path}`, pageSize, maxPages);
        const pairs: Array<[string, string]> = [["limit", String(pageSize)]];
        if (opts.types !== undefined && opts.types.length > 0) pairs.push(["type", opts.types.join(",")]);
        if (opts.startTime !== undefined) pairs.push(["startTime", opts.startTime]);
        if (opts.endTime !== undefined) pairs.push(["endTime", opts.endTime]);
        const events: ServiceEvent[] = [];
        let cursor: string | undefined;
        for (let pages = 1; pages <= maxPages; pages++) {
            const query: Array<[string, string]> = cursor === undefined ? pairs : [...pairs, ["cursor", cursor]];
            const res = await this.call({ method: "GET", path, query });
            const page = this.parse(serviceEventPageSchema, res, "GET", path, "a page of service events");
            if (page.length === 0) return { events, pages, complete: true };
            events.push(...page.map((item) => item.event));
            const next = page[page.length - 1].cursor;
            if (next === cursor) {
                throw new RenderApiError(
                    "GET",
                    path,
                    res.status,
                    `the cursor did not advance (page after cursor ${cursor} ended with it again)`,
                    res.requestId,
                );
            }
            cursor = next;
        }
        return { events, pages: maxPages, complete: false };
    }

    /**
     * Polls until the deploy is live (resolves) or fails (DeployFailedError naming the status, the deploy and the
     * request id of the last poll). Polls quickly at first and backs off, so a fast rollback is seen within a second or
     * two while a long build costs few requests. A poll that fails (5xx, 429, no answer) says nothing about the
     * deploy: it is reported and polling goes on for as long as the deploy's own timeout, so a flaky minute never fails
     * a deploy that went live.
     */
    async waitForDeploy(serviceId: string, deployId: string, opts: WaitForDeployOptions = {}): Promise<Deploy> {
        const startedAt = Date.now();
        // The client's deadline bounds the wait too, less a moment for the last poll.
        const timeoutMs = Math.min(opts.timeoutMs ?? 30 * 60_000, (this.deadline ?? Infinity) - startedAt - 1_000);
        const maxPollMs = opts.maxPollMs ?? 15_000;
        let pollMs = opts.firstPollMs ?? 1_000;
        let last: { deploy: Deploy; requestId?: string } | undefined;
        let trouble: string | undefined;
        let failedPolls = 0;
        for (;;) {
            try {
                const seen = await this.fetchDeploy(serviceId, deployId);
                if (seen.deploy.status !== last?.deploy.status) {
                    this.log(`deploy ${seen.deploy.id} of ${serviceId}: ${seen.deploy.status}`);
                    opts.onStatus?.(seen.deploy);
                }
                last = seen;
                trouble = undefined;
                if (seen.deploy.status === "live") return seen.deploy;
                if (FAILED_STATUSES.includes(seen.deploy.status)) {
                    throw new DeployFailedError(serviceId, seen.deploy, seen.requestId);
                }
            } catch (err) {
                if (!isTransient(err) && !(err instanceof DeadlineError)) throw err;
                failedPolls++;
                trouble = `the last poll failed (${(err as Error).message})`;
                this.log(
                    `deploy ${deployId} of ${serviceId}: poll ${failedPolls} failed (${(err as Error).message}); ` +
                        `still waiting, last status seen ${last?.deploy.status ?? "none yet"}`,
                );
            }
            const remaining = startedAt + timeoutMs - Date.now();
            if (remaining <= 0) {
                throw new DeployFailedError(
                    serviceId,
                    last?.deploy ?? { id: deployId, status: "unknown (never answered)" },
                    last?.requestId,
                    Date.now() - startedAt,
                    trouble,
                );
            }
            await sleep(Math.min(pollMs, remaining));
            pollMs = Math.min(maxPollMs, pollMs * 2);
        }
    }

    private async fetchDeploy(serviceId: string, deployId: string): Promise<{ deploy: Deploy; requestId?: string }> {
        const path = `/services/${enc(serviceId)}/deploys/${enc(deployId)}`;
        const res = await this.call({ method: "GET", path });
        return { deploy: this.parse(deploySchema, res, "GET", path, "a deploy"), requestId: res.requestId };
    }

    /** The POST that creates a deploy (trigger or rollback), with the 202 and ambiguous-answer lookups. */
    private async createDeploy(
        serviceId: string,
        path: string,
        body: object,
        listedBefore: Deploy[] | undefined,
        matches: (d: Deploy) => boolean,
        wanted: string,
    ): Promise<Deploy> {
        const before = listedBefore ?? (await this.listDeploys(serviceId, { limit: RECENT_DEPLOYS }));
        const known = new Set(before.map((d) => d.id));
        const newest = before.reduce((max, d) => Math.max(max, Date.parse(d.createdAt)), -Infinity);
        const mine = (d: Deploy) => !known.has(d.id) && Date.parse(d.createdAt) >= newest && matches(d);
        const created = async () =>
            (await this.listDeploys(serviceId, { limit: RECENT_DEPLOYS })).filter(mine).reverse();
        const sentAt = Date.now();
        let res: CallResult;
        try {
            // Resent only where Render cannot have acted (a 429, a connection refused): call() does that itself.
            res = await this.call({ method: "POST", path, body, idempotent: false });
        } catch (err) {
            const why = ambiguity(err);
            if (why === undefined) throw err;
            const found = await this.lookFor(created, this.triggerLookupMs);
            if (found.length > 1) throw new AmbiguousDeployError("POST", path, why, found);
            if (found.length === 1) {
                this.log(`POST ${path}: ${why}, but Render created deploy ${found[0].id}; using it`);
                return found[0];
            }
            throw new TriggerFateUnknownError("POST", path, why, sentAt, Date.now() - sentAt, wanted);
        }
        if (res.status !== 202) return this.parse(deploySchema, res, "POST", path, "a deploy");
        // 202: queued behind a running deploy, with no body; ours is the one deploy of this request in the list.
        for (let look = 0; look < QUEUED_LOOKUPS; look++) {
            const found = await created();
            if (found.length > 1) throw new AmbiguousDeployError("POST", path, "202 (queued)", found);
            if (found.length === 1) {
                this.log(`POST ${path}: 202, queued behind a running deploy as ${found[0].id}`);
                return found[0];
            }
            await this.sleepWithin(
                retryDelayMs(look, undefined, this.retryBaseMs, this.maxRetryWaitMs),
                `POST ${path}`,
            );
        }
        throw new RenderApiError(
            "POST",
            path,
            202,
            `Render queued the deploy but none created through the API since the ${before.length} listed before ` +
                `the request appeared after ${QUEUED_LOOKUPS} lookups; check the service's deploys before triggering again`,
            res.requestId,
        );
    }

    /**
     * Lists `created()` until it finds something or `windowMs` (and the deadline) has passed, polling quickly at first;
     * the last look is at the window's end. Returns what the last look found.
     */
    private async lookFor(created: () => Promise<Deploy[]>, windowMs: number): Promise<Deploy[]> {
        const until = Math.min(Date.now() + windowMs, this.deadline ?? Infinity);
        let pollMs = Math.max(1, this.retryBaseMs);
        for (;;) {
            let found: Deploy[] = [];
            try {
                found = await created();
            } catch (err) {
                // A failed look says nothing about the deploy: look again while the window lasts.
                if (!isTransient(err)) throw err;
            }
            const left = until - Date.now();
            if (found.length > 0 || left <= 0) return found;
            await sleep(Math.min(pollMs, left));
            pollMs = Math.min(LOOKUP_MAX_POLL_MS, pollMs * 2);
        }
    }

    /** Sleeps `ms`, or refuses with DeadlineError when the deadline comes first. */
    private async sleepWithin(ms: number, what: string, last?: Error): Promise<void> {
        if (this.deadline !== undefined && Date.now() + ms >= this.deadline) {
            throw new DeadlineError(what, this.deadline, last);
        }
        await sleep(ms);
    }

    /** One metrics GET: the shared query (the spec's parameter names) plus the endpoint's own, answered as time series. */
    private async metrics(
        path: string,
        query: MetricsQuery,
        extra: Array<[string, string | undefined]>,
    ): Promise<MetricSeries[]> {
        const { resource, startTime, endTime, resolutionSeconds } = query;
        if (typeof resource !== "string" || resource === "") {
            throw new Error(`GET ${path}: a resource id (srv-..., dpg-...) is required`);
        }
        if (resolutionSeconds !== undefined && !(resolutionSeconds >= MIN_METRICS_RESOLUTION_SECONDS)) {
            throw new Error(
                `GET ${path}: resolutionSeconds must be at least ${MIN_METRICS_RESOLUTION_SECONDS}, got ${resolutionSeconds}`,
            );
        }
        const pairs: Array<[string, string | undefined]> = [
            ["resource", resource],
            ["startTime", startTime],
            ["endTime", endTime],
            ["resolutionSeconds", resolutionSeconds === undefined ? undefined : String(resolutionSeconds)],
            ...extra,
        ];
        const sent = pairs.filter((pair): pair is [string, string] => pair[1] !== undefined);
        const res = await this.call({ method: "GET", path, query: sent });
        return this.parse(metricSeriesListSchema, res, "GET", path, "a list of metrics time series");
    }

    /** GETs pages of a cursor-paged list until `want` items are collected or Render answers `[]`. */
    private async listPages<W extends { cursor: string }>(
        path: string,
        query: Array<[string, string]>,
        schema: z.ZodType<W[]>,
        what: string,
        want: number,
    ): Promise<W[]> {
        const items: W[] = [];
        let cursor: string | undefined;
        while (items.length < want) {
            const pageQuery: Array<[string, string]> = [
                ...query,
                ["limit", String(Math.min(100, want - items.length))],
            ];
            if (cursor !== undefined) pageQuery.push(["cursor", cursor]);
            const page = this.parse(
                schema,
                await this.call({ method: "GET", path, query: pageQuery }),
                "GET",
                path,
                what,
            );
            if (page.length === 0) break;
            items.push(...page);
            const next = page[page.length - 1].cursor;
            if (next === cursor) {
                throw new RenderApiError(
                    "GET",
                    path,
                    200,
                    `the cursor did not advance (page after cursor ${cursor} ended with it again)`,
                );
            }
            cursor = next;
        }
        return items.slice(0, want);
    }

    /** Validates a JSON answer; the error names the endpoint, what was expected and where it differed. */
    private parse<T>(
        schema: z.ZodType<T>,
        res: CallResult,
        method: Method,
        path: string,
        what: string,
        secrets: string[] = [],
    ): T {
        let json: unknown;
        try {
            json = JSON.parse(res.text);
        } catch {
            throw new RenderApiError(method, path, res.status, `answer is not JSON; expected ${what}`, res.requestId);
        }
        const parsed = schema.safeParse(json);
        if (parsed.success) return parsed.data;
        const issues = parsed.error.issues
            .slice(0, 5)
            .map((i) => `${i.path.length ? i.path.join(".") : "(body)"}: ${i.message}`)
            .join("; ");
        const detail = `answer is not ${what} as Render's API describes it: ${issues}`;
        throw new RenderApiError(method, path, res.status, this.redact(detail, secrets), res.requestId);
    }

    /** One request, retried on 429, 5xx and network failures; throws RenderApiError/RenderNetworkError. */
    private async call(spec: CallSpec): Promise<CallResult> {
        const { method, path } = spec;
        const query = spec.query?.length ? `?${new URLSearchParams(spec.query).toString()}` : "";
        const url = `${this.baseUrl}${path}${query}`;
        const headers: Record<string, string> = { Authorization: `Bearer ${this.apiKey}`, Accept: "application/json" };
        if (spec.body !== undefined) headers["Content-Type"] = "application/json";
        const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
        for (let attempt = 0; ; attempt++) {
            const left = (this.deadline ?? Infinity) - Date.now();
            if (left <= 0) throw new DeadlineError(`${method} ${path}`, this.deadline!);
            let response: Response;
            let text: string;
            try {
                response = await fetch(url, {
                    method,
                    headers,
                    body,
                    signal: AbortSignal.timeout(Math.min(this.requestTimeoutMs, left)),
                });
                text = await response.text();
            } catch (err) {
                const code = networkErrorCode(err);
                const maybeDelivered = !failedBeforeSending(code);
                const failure = new RenderNetworkError(method, path, code, maybeDelivered, attempt + 1);
                // Resending a non-idempotent POST that may have arrived is the caller's decision (createDeploy).
                if ((maybeDelivered && spec.idempotent === false) || attempt >= this.maxRetries) throw failure;
                const wait = retryDelayMs(attempt, undefined, this.retryBaseMs, this.maxRetryWaitMs);
                this.log(
                    `${method} ${path}: no response (${code}); retry ${attempt + 1} of ${this.maxRetries} in ${wait} ms`,
                );
                await this.sleepWithin(wait, `${method} ${path}`, failure);
                continue;
            }
            const status = response.status;
            const requestId = response.headers.get("render-request-id") ?? undefined;
            if (response.ok || spec.accept?.includes(status)) return { status, text, requestId };
            // A 5xx to a POST that creates something may come after Render acted: resending is the caller's decision.
            const mayHaveActed = status >= 500 && spec.idempotent === false;
            if (isRetryableStatus(status) && !mayHaveActed && attempt < this.maxRetries) {
                const asked = serverRequestedWaitMs(status, response.headers);
                const wait = retryDelayMs(attempt, asked, this.retryBaseMs, this.maxRetryWaitMs);
                const why = asked === undefined ? "" : `, server asked for ${asked} ms`;
                this.log(
                    `${method} ${path}: ${status}${requestId ? ` (request id ${requestId})` : ""}; ` +
                        `retry ${attempt + 1} of ${this.maxRetries} in ${wait} ms${why}`,
                );
                const detail = this.errorDetail(text, response.statusText, spec.secrets ?? []);
                const failure = new RenderApiError(method, path, status, detail, requestId, attempt + 1);
                await this.sleepWithin(wait, `${method} ${path}`, failure);
                continue;
            }
            const detail = this.errorDetail(text, response.statusText, spec.secrets ?? []);
            throw new RenderApiError(method, path, status, detail, requestId, attempt + 1);
        }
    }

    /** Render's error message (`{"message"}`), else the start of the body, else the HTTP reason phrase; redacted. */
    private errorDetail(text: string, statusText: string, secrets: string[]): string {
        let message: string | undefined;
        try {
            const parsed = errorBodySchema.safeParse(JSON.parse(text));
            if (parsed.success) message = parsed.data.message;
        } catch {
            message = text.trim() || undefined;
        }
        // Redact before truncating, so a cut cannot leave part of a secret behind.
        const detail = this.redact(message ?? statusText ?? "", secrets);
        return detail.length > ERROR_DETAIL_MAX ? `${detail.slice(0, ERROR_DETAIL_MAX)}...` : detail;
    }

    /** Removes the API key and the given secrets, and any part of them, from text bound for an error or a log. */
    private redact(text: string, secrets: string[]): string {
        return redactSecrets(text, [this.apiKey, ...secrets]);
    }
}

/** A page size Render takes (1 to 100) and a bound of at least one page, or an error naming the call. */
function checkPaging(call: string, pageSize: number, maxPages: number): void {
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
        throw new Error(`${call}: pageSize must be a whole number from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`);
    }
    if (!Number.isInteger(maxPages) || maxPages < 1) {
        throw new Error(`${call}: maxPages must be a whole number of at least 1, got ${maxPages}`);
    }
}

/** The owner, resources, direction and filters of a logs query as query pairs (a list as one pair per value). */
function logsQueryPairs(
    path: string,
    query: Omit<LogsQuery, "direction"> & { direction?: string },
): Array<[string, string]> {
    if (typeof query.ownerId !== "string" || query.ownerId === "") {
        throw new Error(`GET ${path}: ownerId is required: the workspace (tea-... or usr-...) that owns the service`);
    }
    if (!Array.isArray(query.resource) || query.resource.length === 0) {
        throw new Error(`GET ${path}: at least one resource id (srv-..., dpg-...) is required`);
    }
    const pairs: Array<[string, string]> = [["ownerId", query.ownerId]];
    for (const resource of query.resource) pairs.push(["resource", resource]);
    if (query.direction !== undefined) pairs.push(["direction", query.direction]);
    const filters = ["level", "type", "instance", "host", "statusCode", "method", "path", "text"] as const;
    for (const filter of filters) for (const value of query[filter] ?? []) pairs.push([filter, value]);
    return pairs;
}

/** Why a failed request leaves open whether Render acted on it, or undefined when it did not act. */
function ambiguity(err: unknown): string | undefined {
    if (err instanceof RenderNetworkError) return err.maybeDelivered ? `no response (${err.code})` : undefined;
    if (err instanceof RenderApiError && err.status >= 500) {
        return `${err.status}${err.requestId ? ` (request id ${err.requestId})` : ""}`;
    }
    return undefined;
}

/** A failure that says nothing about the thing asked for: Render busy, erring or out of reach. */
export function isTransient(err: unknown): boolean {
    return err instanceof RenderApiError && (err.status === 0 || err.status === 429 || err.status >= 500);
}

function enc(segment: string): string {
    return encodeURIComponent(segment);
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

function formatDuration(ms: number): string {
    return ms >= 60_000 ? `${Math.round(ms / 6_000) / 10} min` : `${Math.round(ms / 100) / 10} s`;
}
