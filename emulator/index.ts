// A local Render API for tests and rehearsals: Render's /v1 routes over an in-memory account seeded with Ahoy's service.
import { accountOf } from "./account";
import { type CrashDrill, crashInstance, injectEvent } from "./drills";
import { eventsOf, type ServiceEvent } from "./events";
import { logsOf } from "./logs";
import { AhoyApp, type AppDatabaseStatus, type Misbehaviour } from "./app";
import { metricsOf, type MetricsSettings } from "./metrics";
import { seedAhoy } from "./seed";
import { ApiServer, Fault, RecordedRequest } from "./server";
import {
    Deploy,
    type DeployClock,
    type Instance,
    type MaintenanceMode,
    RenderState,
    Service,
    SMALL_NODE_APP,
} from "./state";

export type { Fault, RecordedRequest } from "./server";
export type { Commit, Deploy, DeployStatus, DeployTrigger, Service } from "./state";
export { DEPLOY_STATUSES, RETAINED_BUILDS, SECONDS_PER_STEP, SMALL_NODE_APP } from "./state";
export type { DeployClock, MaintenanceMode } from "./state";
export { SEEDED_SERVICE_NAME } from "./seed";
export { MEDIA_PREFIX } from "./app";
export type { AppDatabaseStatus, Misbehaviour } from "./app";
export type { MetricsSettings } from "./metrics";
export type { CrashDrill } from "./drills";
export type { ServiceEvent, ServiceEventType } from "./events";
export { SERVICE_EVENT_TYPES } from "./events";
export type { LogEntry } from "./logs";
export type { Instance } from "./state";

export const DEFAULT_API_KEY = "rnd_emulator_key";

export interface EmulatorOptions {
    /** Default 0: a free port. The emulator always listens on 127.0.0.1. */
    port?: number;
    /** The stand-in Ahoy app's port; default 0: a free port, on 127.0.0.1 too. */
    appPort?: number;
    /** The bearer token accepted; default "rnd_emulator_key". */
    apiKey?: string;
    /** Wall milliseconds for 30 emulated seconds of a deploy; default 1000 (tests pass ~20-50). */
    stepMs?: number;
    /** Each deploy phase's emulated length; default SMALL_NODE_APP (build 3 min, update 30 s, no pre-deploy). */
    clock?: Partial<DeployClock>;
    /** Enforce Render's rate-limit buckets; default true. The Ratelimit-* headers are sent either way. */
    rateLimits?: boolean;
    /** Length of a rate-limit window; default 60000, as Render's buckets are per minute. */
    rateLimitWindowMs?: number;
}

/** Render's metrics of the seeded service and database, as the /metrics endpoints answer them. */
export interface EmulatorMetrics {
    /**
     * Sets gauges from now on: the service's memory (used and limit), its persistent disk (null: none, the default)
     * and the seeded database's active connections. HTTP counts and latencies come from the stand-in app's traffic.
     */
    set(settings: {
        memory?: MetricsSettings["memory"];
        disk?: MetricsSettings["disk"];
        activeConnections?: number;
    }): void;
}

export interface Emulator {
    /** "http://127.0.0.1:N/v1" */
    readonly baseUrl: string;
    /** The stand-in Ahoy app serving the seeded service's live deploy: "http://127.0.0.1:M" (its serviceUrl). */
    readonly appUrl: string;
    readonly apiKey: string;
    /** The seeded service named "ahoy-indie-media". */
    readonly serviceId: string;
    /** The seeded Postgres instance (dpg-...), listed by /postgres and known to the metrics and logs endpoints. */
    readonly databaseId: string;
    /** The workspace (tea-...) that owns the seeded service and database: the `ownerId` GET /logs needs. */
    readonly ownerId: string;
    readonly metrics: EmulatorMetrics;
    /**
     * The stand-in app misbehaves as `rule` says (a share of requests under a path failing or slow; each error answer
     * also logged as the app's error lines); undefined: stops.
     */
    misbehave(rule?: Misbehaviour): void;
    /** The stand-in app writes `message` to its log on an instance (default the first), at `level` (default info). */
    appLog(message: string, opts?: { level?: string; instanceId?: string }): void;
    /**
     * An instance of the service dies (an uncaught exception, or out of memory): its last lines, then Render's
     * server_failed with the reason, and after the restart server_restarted and server_available. Returns its id.
     */
    crash(drill?: CrashDrill): string;
    /** An event Render emits for what the emulator does not do by itself (server_hardware_failure, image_pull_failed, ...). */
    serviceEvent(type: string, details?: Record<string, unknown>): ServiceEvent;
    /** The service's events, newest first, as GET /services/{id}/events lists them. */
    events(serviceId?: string): ServiceEvent[];
    /** How many log lines (requests, the app's, builds) the service has written. */
    logLines(serviceId?: string): number;
    /** The instances running the live deploy. */
    instances(serviceId?: string): Instance[];
    /**
     * The stand-in app's database pool: opened with the live deploy's DATABASE_URL when it goes live (loopback hosts
     * only), its sessions, and why it holds none.
     */
    appDatabase(): AppDatabaseStatus;
    /**
     * Pushes a commit to the service's branch; with autoDeploy "yes" this triggers a deploy (trigger "new_commit").
     * `bad`: it builds and goes live, but the app's /healthz answers 500. `sha`: a chosen 40-hex id (e.g. a commit in a
     * real git repository that a tag points at). Returns the SHA.
     */
    pushCommit(opts?: {
        message?: string;
        failBuild?: boolean;
        failUpdate?: boolean;
        bad?: boolean;
        sha?: string;
    }): string;
    /** A teammate's deploy from the dashboard (trigger `manual`) of the branch head or `commitId`; not an API request. */
    dashboardDeploy(commitId?: string): Deploy;
    /** Makes builds of this commit fail (status build_failed). */
    failBuild(commitId: string): void;
    /** Makes deploys of this commit build (the build is kept) and then fail their update (status update_failed). */
    failUpdate(commitId: string): void;
    /** How many builds have started since the emulator did (a deploy that reuses a build starts none). */
    buildsStarted(): number;
    /** The service's maintenance mode, as Render's edge (here: in front of the stand-in app) applies it. */
    maintenanceMode(serviceId?: string): MaintenanceMode;
    /** The next `count` (default 1) matching requests get `status` with Render's error body and/or are delayed by `delayMs`. */
    inject(fault: Fault): void;
    /** Every API request, in order; paths are recorded WITHOUT the /v1 prefix. */
    requests(): readonly RecordedRequest[];
    clearRequests(): void;
    /** The service's stored variables. */
    envVars(serviceId?: string): Record<string, string>;
    /** Sets a variable "by hand in the dashboard": not an API request, so not recorded. */
    setEnvVar(key: string, value: string, serviceId?: string): void;
    /** Newest first. */
    deploys(serviceId?: string): Deploy[];
    liveDeploy(serviceId?: string): Deploy | undefined;
    /** The variables the live deploy runs with. */
    liveEnv(serviceId?: string): Record<string, string>;
    /** The latest pushed commit's SHA. */
    branchHead(serviceId?: string): string;
    /** The service object as GET /services/{id} returns it. */
    service(serviceId?: string): Service;
    /** How many times POST /services/{id}/restart was answered. */
    restarts(serviceId?: string): number;
    close(): Promise<void>;
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
    const apiKey = opts.apiKey ?? DEFAULT_API_KEY;
    const state = new RenderState(opts.stepMs ?? 1000, { ...SMALL_NODE_APP, ...opts.clock });
    // The models beside the state observe it from the start, so they see every deploy.
    const metrics = metricsOf(state);
    const events = eventsOf(state);
    const logs = logsOf(state);
    const account = accountOf(state);
    const serviceId = seedAhoy(state);
    const ownerId = state.service(serviceId).ownerId;
    const databaseId = metrics.addDatabase();
    account.addPostgres({ id: databaseId, ownerId, name: "ahoy-db", databaseName: "ahoy", ageMs: 24 * 60 * 60 * 1000 });
    const api = new ApiServer(state, {
        apiKey,
        rateLimits: opts.rateLimits ?? true,
        rateLimitWindowMs: opts.rateLimitWindowMs ?? 60_000,
    });
    const port = await api.listen(opts.port ?? 0);
    const app = new AhoyApp(state, serviceId);
    let appPort: number;
    try {
        appPort = await app.listen(opts.appPort ?? 0);
    } catch (error) {
        state.close();
        await Promise.all([api.close(), app.database.close()]);
        throw error;
    }

    return {
        baseUrl: `http://127.0.0.1:${port}/v1`,
        appUrl: `http://127.0.0.1:${appPort}`,
        apiKey,
        serviceId,
        databaseId,
        ownerId,
        metrics: {
            set: ({ memory, disk, activeConnections }) =>
                metrics.set(serviceId, {
                    memory,
                    disk,
                    connections: activeConnections === undefined ? undefined : { [databaseId]: activeConnections },
                }),
        },
        misbehave: (rule) => app.misbehave(rule),
        appLog: (message, { level = "info", instanceId } = {}) => {
            const instance = instanceId ?? state.instances(serviceId)[0]?.id;
            if (instance === undefined) throw new Error(`appLog: ${serviceId} runs no instance`);
            logs.app(serviceId, instance, level, message);
        },
        crash: (drill) => crashInstance(state, serviceId, drill),
        serviceEvent: (type, details) => injectEvent(state, serviceId, type, details),
        events: (id = serviceId) => events.list(id).map(({ item }) => item),
        logLines: (id = serviceId) => logs.count(id),
        instances: (id = serviceId) => state.instances(id),
        appDatabase: () => app.database.status(),
        pushCommit: ({ message, failBuild, failUpdate, bad, sha } = {}) =>
            state.pushCommit(serviceId, message, failBuild ?? false, bad ?? false, sha, failUpdate ?? false),
        dashboardDeploy: (commitId) => state.dashboardDeploy(serviceId, commitId),
        failBuild: (commitId) => state.failBuild(commitId),
        failUpdate: (commitId) => state.failUpdate(commitId),
        buildsStarted: () => state.buildsStarted,
        maintenanceMode: (id = serviceId) => state.maintenanceMode(id),
        inject: (fault) => api.inject(fault),
        requests: () => api.requests(),
        clearRequests: () => api.clearRequests(),
        envVars: (id = serviceId) => state.storedEnv(id),
        setEnvVar: (key, value, id = serviceId) => void state.putEnvVar(id, key, value),
        deploys: (id = serviceId) => state.listDeploys(id).map(({ item }) => item),
        liveDeploy: (id = serviceId) => state.liveDeploy(id),
        liveEnv: (id = serviceId) => state.liveEnv(id),
        branchHead: (id = serviceId) => state.branchHead(id),
        service: (id = serviceId) => state.service(id),
        restarts: (id = serviceId) => state.restarts(id),
        close: async () => {
            state.close();
            await Promise.all([api.close(), app.close()]);
        },
    };
}
