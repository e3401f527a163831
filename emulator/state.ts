// In-memory model of the Render account the emulator serves: services, stored variables, branch commits, timed deploys.
import { randomBytes } from "node:crypto";
import { ApiError, badRequest, notFound } from "./errors";
import { iso, newId, newInstanceId, newSha } from "./ids";

export const DEPLOY_STATUSES = [
    "created",
    "queued",
    "build_in_progress",
    "update_in_progress",
    "live",
    "deactivated",
    "build_failed",
    "update_failed",
    "canceled",
    "pre_deploy_in_progress",
    "pre_deploy_failed",
] as const;
export type DeployStatus = (typeof DEPLOY_STATUSES)[number];

const IN_FLIGHT: ReadonlySet<DeployStatus> = new Set<DeployStatus>([
    "created",
    "queued",
    "build_in_progress",
    "pre_deploy_in_progress",
    "update_in_progress",
]);

/** The triggers this emulator produces (a subset of the spec's enum): `manual` is a deploy from the dashboard. */
export type DeployTrigger = "api" | "new_commit" | "rollback" | "manual";

/**
 * How long each phase of a deploy takes, in emulated seconds. The default is shaped like a small Node app on Render:
 * a few seconds before the build starts, three minutes of `npm ci && npm run build`, no pre-deploy command, and half a
 * minute for the new instance to start and pass its health check.
 */
export interface DeployClock {
    readonly createdSeconds: number;
    readonly buildSeconds: number;
    /** 0: the service has no pre-deploy command, and the phase is skipped. */
    readonly preDeploySeconds: number;
    readonly updateSeconds: number;
}

export const SMALL_NODE_APP: DeployClock = {
    createdSeconds: 5,
    buildSeconds: 180,
    preDeploySeconds: 0,
    updateSeconds: 30,
};

/** The emulated seconds that `stepMs` wall milliseconds stand for: one step is half a minute of a real deploy. */
export const SECONDS_PER_STEP = 30;

/** How many of a service's most recent successful builds keep their artifact, and so can be rolled back to. */
export const RETAINED_BUILDS = 5;

export interface Commit {
    id: string;
    message: string;
    createdAt: string;
}

/** A deploy as Render's API returns it. */
export interface Deploy {
    id: string;
    commit: Commit;
    status: DeployStatus;
    trigger: DeployTrigger;
    startedAt?: string;
    /** Absent until the deploy finishes; `null` in the answer to the request that created it (as the live API does). */
    finishedAt?: string | null;
    createdAt: string;
    updatedAt: string;
}

/** Render's maintenance mode: while enabled, its edge answers every request with 503 and the page at `uri`. */
export interface MaintenanceMode {
    enabled: boolean;
    /** The page to serve; "" for Render's default page. */
    uri: string;
}

/** The runtimes of the spec's web-service PATCH; `docker` and `image` are not native runtimes. */
export const RUNTIMES = ["docker", "elixir", "go", "node", "python", "ruby", "rust", "image"] as const;
export type Runtime = (typeof RUNTIMES)[number];
/** The instance types a web service's PATCH may choose (the spec's webServiceDetailsPATCH). */
export const PATCH_PLANS = ["starter", "standard", "pro", "pro_plus", "pro_max", "pro_ultra"] as const;
export type Plan = (typeof PATCH_PLANS)[number];

/** How a native runtime builds and starts; `preDeployCommand` is shown once set. */
export interface NativeDetails {
    buildCommand: string;
    startCommand: string;
    preDeployCommand?: string;
}

/** How a Docker runtime builds and starts. */
export interface DockerDetails {
    dockerCommand: string;
    dockerContext: string;
    dockerfilePath: string;
    preDeployCommand?: string;
}

export interface WebServiceDetails {
    env: Runtime;
    runtime: Runtime;
    envSpecificDetails: NativeDetails | DockerDetails;
    healthCheckPath: string;
    numInstances: number;
    openPorts: { port: number; protocol: "TCP" }[];
    plan: Plan;
    region: "oregon";
    buildPlan: "starter";
    pullRequestPreviewsEnabled: "yes" | "no";
    previews: { generation: "off" | "manual" | "automatic" };
    maxShutdownDelaySeconds: number;
    renderSubdomainPolicy: "enabled" | "disabled";
    url: string;
    /** Present once it has been set, as on Render. */
    maintenanceMode?: MaintenanceMode;
    /** Present once it has been set. */
    cache?: { profile: string };
}

/** A web service as Render's API returns it. */
export interface Service {
    id: string;
    name: string;
    ownerId: string;
    type: "web_service";
    repo: string;
    branch: string;
    autoDeploy: "yes" | "no";
    autoDeployTrigger: "commit" | "off" | "checksPass";
    createdAt: string;
    updatedAt: string;
    dashboardUrl: string;
    suspended: "not_suspended";
    suspenders: string[];
    notifyOnFail: "default";
    slug: string;
    rootDir: string;
    /** Present once it has been set: the paths whose changes trigger an autodeploy (and those that never do). */
    buildFilter?: { paths: string[]; ignoredPaths: string[] };
    serviceDetails: WebServiceDetails;
}

/**
 * What a caller may change with `PATCH /services/{id}`: every field of the spec's web-service PATCH (and the
 * autoDeployTrigger Render's newer answers carry); the HTTP layer has checked the values. What the emulator models
 * takes effect (autodeploy, maintenance mode, the plan's memory in the metrics); the rest is kept and shown.
 */
export interface ServicePatch {
    name?: string;
    autoDeploy?: "yes" | "no";
    autoDeployTrigger?: "commit" | "off" | "checksPass";
    repo?: string;
    branch?: string;
    rootDir?: string;
    buildFilter?: { paths: string[]; ignoredPaths: string[] };
    details?: {
        maintenanceMode?: MaintenanceMode;
        healthCheckPath?: string;
        plan?: Plan;
        runtime?: Runtime;
        /** Merged into what the service has: a native runtime's commands, or a Docker runtime's. */
        envSpecificDetails?: Partial<NativeDetails & DockerDetails>;
        preDeployCommand?: string;
        pullRequestPreviewsEnabled?: "yes" | "no";
        previews?: { generation?: "off" | "manual" | "automatic" };
        maxShutdownDelaySeconds?: number;
        renderSubdomainPolicy?: "enabled" | "disabled";
        cache?: { profile: string };
    };
}

/** A running instance of a service, as `GET /services/{id}/instances` lists it. */
export interface Instance {
    id: string;
    createdAt: string;
}

/** Why an instance died, in the shape of the spec's `server_failed` reason. */
export interface FailureReason {
    evicted: boolean;
    nonZeroExit?: number;
    oomKilled?: { memoryLimit: string };
    unhealthy?: string;
    timedOutSeconds?: number;
    timedOutReason?: string;
}

/**
 * What happens in the account, told to whoever observes the state (the service events and the logs beside it), in
 * the order it happens. `deploy` is the deploy as the API shows it at that moment.
 */
export type StateChange =
    | { kind: "deploy_started"; serviceId: string; deploy: Deploy; rollbackOf?: string }
    | { kind: "build_started"; serviceId: string; deploy: Deploy; buildId: string }
    | {
          kind: "build_ended";
          serviceId: string;
          deploy: Deploy;
          buildId: string;
          outcome: "succeeded" | "failed" | "canceled";
      }
    | { kind: "pre_deploy_started"; serviceId: string; deploy: Deploy; executionId: string }
    | { kind: "pre_deploy_ended"; serviceId: string; deploy: Deploy; executionId: string }
    | { kind: "deploy_ended"; serviceId: string; deploy: Deploy; outcome: "succeeded" | "failed" | "canceled" }
    | { kind: "instances_started"; serviceId: string; instances: Instance[]; deploy?: Deploy }
    | { kind: "instances_stopped"; serviceId: string; instances: Instance[] }
    | { kind: "instance_failed"; serviceId: string; instance: Instance; reason: FailureReason }
    | { kind: "instance_restarted"; serviceId: string; instance: Instance; byUser: string | null }
    | { kind: "scaled"; serviceId: string; from: number; to: number }
    | { kind: "service_updated"; serviceId: string; before: Service; after: Service };

export interface DeployRequest {
    commitId?: string;
    deployMode?: "build_and_deploy" | "deploy_only";
}

export interface NewService {
    name: string;
    ownerId: string;
    repo: string;
    branch: string;
    serviceDetails: Omit<WebServiceDetails, "url">;
    /** Stored variables, oldest first. */
    envVars: Record<string, string>;
    initialCommitMessage: string;
    /** How long ago the service was created and its first deploy went live. */
    ageMs: number;
}

interface Build {
    id: number;
    /** Render's id for it (bld-...), as build events name it. */
    renderId: string;
    commit: Commit;
}

interface DeployRecord {
    seq: number;
    id: string;
    commit: Commit;
    status: DeployStatus;
    trigger: DeployTrigger;
    createdAt: number;
    updatedAt: number;
    startedAt?: number;
    finishedAt?: number;
    /** The service's variables as they were when the deploy was triggered (for a rollback: the target's). */
    env: Record<string, string>;
    /** The build artifact it runs: set when its build succeeds, or at creation when it reuses one. */
    build?: Build;
    /** For a rollback: the deploy whose build and variables it runs. */
    rollbackOf?: string;
    /** Whether it has started (left the queue), so its end is an event. */
    started?: boolean;
    /** The build in progress (bld-...), while there is one. */
    building?: string;
    timer?: NodeJS.Timeout;
}

interface ServiceRecord {
    seq: number;
    service: Service;
    vars: Map<string, { value: string; seq: number }>;
    /** The branch's commits, oldest first. */
    commits: Commit[];
    /** Every deploy, oldest first. */
    deploys: DeployRecord[];
    queue: DeployRecord[];
    active?: DeployRecord;
    live?: DeployRecord;
    /** Builds whose artifact is retained, oldest first. */
    builds: Build[];
    restarts: number;
    /** The instances running the live deploy. */
    instances: Instance[];
    /** Instances that died and are being restarted, until when (ms since the epoch). */
    down: Map<string, { until: number; timer: NodeJS.Timeout }>;
}

export interface Listed<T> {
    seq: number;
    item: T;
}

export class RenderState {
    private readonly services = new Map<string, ServiceRecord>();
    private readonly failingCommits = new Set<string>();
    /** Commits whose build succeeds (and is kept, as Render's "last successful build") but whose update fails. */
    private readonly failingUpdates = new Set<string>();
    /** Commits that build and go live but whose app fails its health check (the stand-in app's /healthz answers 500). */
    private readonly badCommits = new Set<string>();
    private seq = 0;
    private buildSeq = 0;
    private readonly observers: Array<(change: StateChange) => void> = [];
    /** How many builds have started, ever: what a benchmark counts to tell a reused build from a new one. */
    buildsStarted = 0;
    private closed = false;

    /** `stepMs`: the wall milliseconds of one step, 30 emulated seconds; `clock`: each phase's emulated length. */
    constructor(
        private readonly stepMs: number,
        private readonly clock: DeployClock = SMALL_NODE_APP,
    ) {}

    /** Tells `observer` every change from now on, as it happens (see StateChange). */
    observe(observer: (change: StateChange) => void): void {
        this.observers.push(observer);
    }

    /** Wall milliseconds for `seconds` of emulated time. */
    wallMs(seconds: number): number {
        return (seconds / SECONDS_PER_STEP) * this.stepMs;
    }
    addService(input: NewService): string {
        const now = Date.now();
        const createdAt = now - input.ageMs;
        const id = newId("srv");
        const service: Service = {
            id,
            name: input.name,
            ownerId: input.ownerId,
            type: "web_service",
            repo: input.repo,
            branch: input.branch,
            autoDeploy: "yes",
            autoDeployTrigger: "commit",
            createdAt: iso(createdAt),
            updatedAt: iso(createdAt),
            dashboardUrl: `https://dashboard.render.com/web/${id}`,
            suspended: "not_suspended",
            suspenders: [],
            notifyOnFail: "default",
            slug: input.name,
            rootDir: "",
            serviceDetails: { ...input.serviceDetails, url: `https://${input.name}.onrender.com` },
        };
        const record: ServiceRecord = {
            seq: ++this.seq,
            service,
            vars: new Map(),
            commits: [],
            deploys: [],
            queue: [],
            builds: [],
            restarts: 0,
            instances: [],
            down: new Map(),
        };
        for (const [key, value] of Object.entries(input.envVars)) record.vars.set(key, { value, seq: ++this.seq });
        this.services.set(id, record);

        // The first deploy was built from the first commit and has been live since.
        const commit: Commit = { id: newSha(), message: input.initialCommitMessage, createdAt: iso(createdAt) };
        record.commits.push(commit);
        const build: Build = { id: ++this.buildSeq, renderId: newId("bld"), commit };
        record.builds.push(build);
        const deploy: DeployRecord = {
            seq: ++this.seq,
            id: newId("dep"),
            commit,
            status: "live",
            trigger: "new_commit",
            createdAt,
            updatedAt: createdAt + 3 * 60_000,
            startedAt: createdAt,
            finishedAt: createdAt + 3 * 60_000,
            env: this.storedEnv(id),
            build,
        };
        record.deploys.push(deploy);
        record.live = deploy;
        record.instances = this.newInstances(id, input.serviceDetails.numInstances, createdAt + 3 * 60_000);
        return id;
    }

    // ---- services ----

    listServices(): Listed<Service>[] {
        return [...this.services.values()].reverse().map((r) => ({ seq: r.seq, item: structuredClone(r.service) }));
    }

    service(serviceId: string): Service {
        return structuredClone(this.record(serviceId).service);
    }

    updateService(serviceId: string, patch: ServicePatch): Service {
        const { service } = this.record(serviceId);
        if (patch.details) checkDetails(service.serviceDetails, patch.details);
        const before = structuredClone(service);
        if (patch.name !== undefined) service.name = patch.name;
        if (patch.repo !== undefined) service.repo = patch.repo;
        if (patch.branch !== undefined) service.branch = patch.branch;
        if (patch.rootDir !== undefined) service.rootDir = patch.rootDir;
        if (patch.buildFilter !== undefined) service.buildFilter = structuredClone(patch.buildFilter);
        // autoDeploy and autoDeployTrigger are two views of one setting.
        if (patch.autoDeploy !== undefined) {
            service.autoDeploy = patch.autoDeploy;
            service.autoDeployTrigger = patch.autoDeploy === "yes" ? "commit" : "off";
        }
        if (patch.autoDeployTrigger !== undefined) {
            service.autoDeployTrigger = patch.autoDeployTrigger;
            service.autoDeploy = patch.autoDeployTrigger === "off" ? "no" : "yes";
        }
        if (patch.details) applyDetails(service.serviceDetails, patch.details);
        service.updatedAt = iso(Date.now());
        this.notify({ kind: "service_updated", serviceId, before, after: structuredClone(service) });
        return structuredClone(service);
    }

    scale(serviceId: string, numInstances: number): void {
        const record = this.record(serviceId);
        const { service } = record;
        const from = service.serviceDetails.numInstances;
        service.serviceDetails.numInstances = numInstances;
        service.updatedAt = iso(Date.now());
        if (from === numInstances) return;
        this.notify({ kind: "scaled", serviceId, from, to: numInstances });
        if (numInstances > record.instances.length) {
            const added = this.newInstances(serviceId, numInstances - record.instances.length, Date.now());
            record.instances.push(...added);
            this.notify({ kind: "instances_started", serviceId, instances: structuredClone(added) });
        } else if (numInstances < record.instances.length) {
            const stopped = record.instances.splice(numInstances);
            this.notify({ kind: "instances_stopped", serviceId, instances: stopped });
        }
    }

    /**
     * A restart reuses the running deploy's configuration: it creates no deploy and picks up no changed variable. Each
     * instance restarts in place (Render's event names who asked: `byUser`, or null when Render did).
     */
    restart(serviceId: string, byUser: string | null = null): void {
        const record = this.record(serviceId);
        record.restarts += 1;
        for (const instance of record.instances) {
            this.notify({ kind: "instance_restarted", serviceId, instance: { ...instance }, byUser });
        }
    }

    /** The instances running the live deploy, as `GET /services/{id}/instances` lists them. */
    instances(serviceId: string): Instance[] {
        return structuredClone(this.record(serviceId).instances);
    }

    /**
     * An instance dies (a crash, an out-of-memory kill): Render reports it failed, restarts it in place after
     * `restartSeconds` of emulated time, and reports it restarted; meanwhile it serves nothing (see instanceDown).
     * Returns the instance. `instanceId` defaults to the first instance.
     */
    failInstance(serviceId: string, reason: FailureReason, restartSeconds: number, instanceId?: string): Instance {
        const record = this.record(serviceId);
        const instance = record.instances.find((i) => instanceId === undefined || i.id === instanceId);
        if (!instance) {
            throw new Error(
                `failInstance: ${instanceId ?? "no instance"} is not an instance of ${serviceId}; ` +
                    `it runs ${record.instances.map((i) => i.id).join(", ") || "none"}`,
            );
        }
        clearTimeout(record.down.get(instance.id)?.timer);
        this.notify({ kind: "instance_failed", serviceId, instance: { ...instance }, reason: structuredClone(reason) });
        const wait = this.wallMs(restartSeconds);
        const timer = setTimeout(() => {
            record.down.delete(instance.id);
            if (this.closed || !record.instances.includes(instance)) return;
            this.notify({ kind: "instance_restarted", serviceId, instance: { ...instance }, byUser: null });
        }, wait);
        record.down.set(instance.id, { until: Date.now() + wait, timer });
        return { ...instance };
    }

    /** Whether every instance of the service is down (dead and not yet restarted): Render's edge has none to send to. */
    allInstancesDown(serviceId: string): boolean {
        const record = this.record(serviceId);
        return record.instances.length > 0 && record.instances.every((i) => record.down.has(i.id));
    }

    /** The instance that serves the `n`-th request: the live ones in turn, skipping those that are down. */
    servingInstance(serviceId: string, n: number): Instance | undefined {
        const record = this.record(serviceId);
        const up = record.instances.filter((i) => !record.down.has(i.id));
        return up.length === 0 ? undefined : { ...up[n % up.length] };
    }

    restarts(serviceId: string): number {
        return this.record(serviceId).restarts;
    }

    // ---- environment variables ----

    /** Stored variables, newest first. */
    listEnvVars(serviceId: string): Listed<{ key: string; value: string }>[] {
        return [...this.record(serviceId).vars.entries()]
            .sort((a, b) => b[1].seq - a[1].seq)
            .map(([key, { value, seq }]) => ({ seq, item: { key, value } }));
    }

    storedEnv(serviceId: string): Record<string, string> {
        return Object.fromEntries([...this.record(serviceId).vars.entries()].map(([key, { value }]) => [key, value]));
    }

    getEnvVar(serviceId: string, key: string): { key: string; value: string } {
        const found = this.record(serviceId).vars.get(key);
        if (!found) throw notFound(`env var ${key} on ${serviceId}`);
        return { key, value: found.value };
    }

    /** Sets one variable; an existing one keeps its place in the list. `value: undefined` generates a random one. */
    putEnvVar(serviceId: string, key: string, value: string | undefined): { key: string; value: string } {
        const { vars } = this.record(serviceId);
        const stored = value ?? generatedValue();
        const existing = vars.get(key);
        vars.set(key, { value: stored, seq: existing?.seq ?? ++this.seq });
        return { key, value: stored };
    }

    deleteEnvVar(serviceId: string, key: string): void {
        const { vars } = this.record(serviceId);
        if (!vars.delete(key)) throw notFound(`env var ${key} on ${serviceId}`);
    }

    /** `PUT /env-vars`: the body becomes the whole set; every variable not in it is gone. */
    replaceEnvVars(serviceId: string, entries: { key: string; value: string | undefined }[]): void {
        const { vars } = this.record(serviceId);
        vars.clear();
        for (const { key, value } of entries) vars.set(key, { value: value ?? generatedValue(), seq: ++this.seq });
    }

    // ---- commits ----

    /** `sha` gives the commit a chosen id (one that exists in a real git repository, for a tag to point at). */
    pushCommit(
        serviceId: string,
        message: string | undefined,
        failBuild: boolean,
        bad = false,
        sha?: string,
        failUpdate = false,
    ): string {
        const record = this.record(serviceId);
        if (sha !== undefined && !/^[0-9a-f]{40}$/.test(sha))
            throw new Error(`pushCommit: sha must be 40 lower-case hex digits, got ${JSON.stringify(sha)}`);
        if (sha !== undefined && record.commits.some((c) => c.id === sha))
            throw new Error(`pushCommit: commit ${sha} is already on the branch`);
        const commit: Commit = {
            id: sha ?? newSha(),
            message: message ?? `Commit ${record.commits.length + 1}`,
            createdAt: iso(Date.now()),
        };
        record.commits.push(commit);
        if (failBuild) this.failingCommits.add(commit.id);
        if (failUpdate) this.failingUpdates.add(commit.id);
        if (bad) this.badCommits.add(commit.id);
        if (record.service.autoDeploy === "yes") this.enqueue(record, this.newDeploy(record, commit, "new_commit"));
        return commit.id;
    }

    failBuild(commitId: string): void {
        this.failingCommits.add(commitId);
    }

    /** Makes deploys of this commit build (keeping the build) and then fail their update (status update_failed). */
    failUpdate(commitId: string): void {
        this.failingUpdates.add(commitId);
    }

    /** The service's maintenance mode as its edge applies it. */
    maintenanceMode(serviceId: string): MaintenanceMode {
        return { enabled: false, uri: "", ...this.record(serviceId).service.serviceDetails.maintenanceMode };
    }

    /** Whether the commit was pushed as one whose app is broken (it builds and deploys, then fails /healthz). */
    isBad(commitId: string): boolean {
        return this.badCommits.has(commitId);
    }

    branchHead(serviceId: string): string {
        const { commits } = this.record(serviceId);
        return commits[commits.length - 1].id;
    }

    // ---- deploys ----

    /** Starts a deploy, or queues it behind the one in flight (`queued: true`, which the API answers with a bodiless 202). */
    triggerDeploy(serviceId: string, request: DeployRequest): { deploy: Deploy; queued: boolean } {
        const record = this.record(serviceId);
        let deploy: DeployRecord;
        if (request.deployMode === "deploy_only") {
            // Deploys the most recent successful build without building again, with the variables stored now.
            const build = record.builds[record.builds.length - 1];
            if (!build)
                throw badRequest(
                    `deployMode "deploy_only": service ${serviceId} has no successful build to deploy; use "build_and_deploy"`,
                );
            deploy = this.newDeploy(record, build.commit, "api");
            deploy.build = build;
        } else {
            deploy = this.newDeploy(record, this.commit(record, request.commitId), "api");
        }
        const queued = this.enqueue(record, deploy);
        return { deploy: this.view(deploy, true), queued };
    }

    /**
     * What a teammate's "Manual Deploy" in the dashboard does: a deploy (trigger `manual`) of the branch head, or of
     * `commitId`, with the variables stored now. Not an API request. Returns the deploy.
     */
    dashboardDeploy(serviceId: string, commitId?: string): Deploy {
        const record = this.record(serviceId);
        const deploy = this.newDeploy(record, this.commit(record, commitId), "manual");
        this.enqueue(record, deploy);
        return this.view(deploy);
    }

    /** A new deploy that reuses the target's build artifact, commit and variables; stored settings are untouched. */
    rollback(serviceId: string, deployId: string): Deploy {
        const record = this.record(serviceId);
        const target = this.deployRecord(record, deployId);
        if (!target.build) {
            throw badRequest(
                `cannot roll back to ${deployId}: it has no build artifact (its status is ${target.status}); roll back to a deploy that went live`,
            );
        }
        if (!record.builds.includes(target.build)) {
            throw badRequest(
                `cannot roll back to ${deployId}: its build artifact is no longer retained (only the ${RETAINED_BUILDS} most recent builds are kept); ` +
                    `deploy commit ${target.commit.id} with POST /services/${serviceId}/deploys instead`,
            );
        }
        const deploy = this.newDeploy(record, target.commit, "rollback");
        deploy.env = { ...target.env };
        deploy.build = target.build;
        deploy.rollbackOf = target.id;
        this.enqueue(record, deploy);
        return this.view(deploy, true);
    }

    cancelDeploy(serviceId: string, deployId: string): Deploy {
        const record = this.record(serviceId);
        const deploy = this.deployRecord(record, deployId);
        if (!IN_FLIGHT.has(deploy.status)) {
            throw badRequest(
                `cannot cancel ${deployId}: its status is ${deploy.status}; only a deploy in flight (created, queued, *_in_progress) can be canceled`,
            );
        }
        if (record.active === deploy) {
            // A build in progress ends with it.
            const buildId = deploy.building;
            deploy.building = undefined;
            if (buildId !== undefined) {
                this.setStatus(deploy, "canceled");
                this.notify({
                    kind: "build_ended",
                    serviceId,
                    deploy: this.view(deploy),
                    buildId,
                    outcome: "canceled",
                });
            }
            this.finish(record, deploy, "canceled");
        } else {
            record.queue.splice(record.queue.indexOf(deploy), 1);
            this.setStatus(deploy, "canceled");
            deploy.finishedAt = deploy.updatedAt;
        }
        return this.view(deploy);
    }

    /** Every deploy of the service, newest first. */
    listDeploys(serviceId: string): Listed<Deploy>[] {
        return [...this.record(serviceId).deploys].reverse().map((d) => ({ seq: d.seq, item: this.view(d) }));
    }

    deploy(serviceId: string, deployId: string): Deploy {
        return this.view(this.deployRecord(this.record(serviceId), deployId));
    }

    liveDeploy(serviceId: string): Deploy | undefined {
        const { live } = this.record(serviceId);
        return live && this.view(live);
    }

    /** The variables the live deploy runs with (what the app sees), not the stored ones. */
    liveEnv(serviceId: string): Record<string, string> {
        const { live } = this.record(serviceId);
        return live ? { ...live.env } : {};
    }

    hasService(serviceId: string): boolean {
        return this.services.has(serviceId);
    }

    close(): void {
        this.closed = true;
        for (const record of this.services.values()) {
            for (const deploy of record.deploys) clearTimeout(deploy.timer);
            for (const { timer } of record.down.values()) clearTimeout(timer);
        }
    }

    // ---- internals ----

    private record(serviceId: string): ServiceRecord {
        const record = this.services.get(serviceId);
        if (!record) throw notFound(serviceId);
        return record;
    }

    private deployRecord(record: ServiceRecord, deployId: string): DeployRecord {
        const deploy = record.deploys.find((d) => d.id === deployId);
        if (!deploy) throw notFound(deployId);
        return deploy;
    }

    private commit(record: ServiceRecord, commitId: string | undefined): Commit {
        if (commitId === undefined) return record.commits[record.commits.length - 1];
        const found = record.commits.find((c) => c.id === commitId);
        if (!found) {
            throw new ApiError(
                400,
                `commitId ${commitId} is not a commit on branch ${record.service.branch} of ${record.service.repo}; give a full 40-character SHA of a pushed commit`,
            );
        }
        return found;
    }

    private newDeploy(record: ServiceRecord, commit: Commit, trigger: DeployTrigger): DeployRecord {
        const now = Date.now();
        const deploy: DeployRecord = {
            seq: ++this.seq,
            id: newId("dep"),
            commit,
            status: "queued",
            trigger,
            createdAt: now,
            updatedAt: now,
            env: this.storedEnv(record.service.id),
        };
        record.deploys.push(deploy);
        return deploy;
    }

    /** Queues the deploy and starts it if none is in flight; true when it had to wait. */
    private enqueue(record: ServiceRecord, deploy: DeployRecord): boolean {
        const waits = record.active !== undefined;
        record.queue.push(deploy);
        this.startNext(record);
        return waits;
    }

    private startNext(record: ServiceRecord): void {
        if (record.active || this.closed) return;
        const deploy = record.queue.shift();
        if (!deploy) return;
        record.active = deploy;
        deploy.startedAt = Date.now();
        deploy.started = true;
        const serviceId = record.service.id;
        // A reused artifact (a rollback, deploy_only) skips the build.
        if (deploy.build) {
            this.notify({
                kind: "deploy_started",
                serviceId,
                deploy: this.view(deploy),
                rollbackOf: deploy.rollbackOf,
            });
            return this.afterBuild(record, deploy);
        }
        this.setStatus(deploy, "created");
        this.notify({ kind: "deploy_started", serviceId, deploy: this.view(deploy) });
        this.after(deploy, this.clock.createdSeconds, () => {
            this.setStatus(deploy, "build_in_progress");
            this.buildsStarted += 1;
            const buildId = newId("bld");
            deploy.building = buildId;
            this.notify({ kind: "build_started", serviceId, deploy: this.view(deploy), buildId });
            this.after(deploy, this.clock.buildSeconds, () => {
                deploy.building = undefined;
                const succeeded = !this.failingCommits.has(deploy.commit.id);
                const outcome = succeeded ? "succeeded" : "failed";
                this.notify({ kind: "build_ended", serviceId, deploy: this.view(deploy), buildId, outcome });
                if (!succeeded) return this.finish(record, deploy, "build_failed");
                deploy.build = { id: ++this.buildSeq, renderId: buildId, commit: deploy.commit };
                record.builds.push(deploy.build);
                if (record.builds.length > RETAINED_BUILDS) record.builds.shift();
                this.afterBuild(record, deploy);
            });
        });
    }

    /** The pre-deploy command (when the clock has one), then the update: the new instance starting. */
    private afterBuild(record: ServiceRecord, deploy: DeployRecord): void {
        const update = () => {
            this.setStatus(deploy, "update_in_progress");
            this.after(deploy, this.clock.updateSeconds, () =>
                this.failingUpdates.has(deploy.commit.id)
                    ? this.finish(record, deploy, "update_failed")
                    : this.goLive(record, deploy),
            );
        };
        if (this.clock.preDeploySeconds <= 0) return update();
        this.setStatus(deploy, "pre_deploy_in_progress");
        const serviceId = record.service.id;
        const executionId = newId("dce");
        this.notify({ kind: "pre_deploy_started", serviceId, deploy: this.view(deploy), executionId });
        this.after(deploy, this.clock.preDeploySeconds, () => {
            this.notify({ kind: "pre_deploy_ended", serviceId, deploy: this.view(deploy), executionId });
            update();
        });
    }

    /** The new deploy's instances replace the old ones (a zero-downtime switch: the new ones pass their checks first). */
    private goLive(record: ServiceRecord, deploy: DeployRecord): void {
        if (record.live) this.setStatus(record.live, "deactivated");
        record.live = deploy;
        const serviceId = record.service.id;
        const old = record.instances;
        for (const instance of old) {
            clearTimeout(record.down.get(instance.id)?.timer);
            record.down.delete(instance.id);
        }
        record.instances = this.newInstances(serviceId, record.service.serviceDetails.numInstances, Date.now());
        this.notify({
            kind: "instances_started",
            serviceId,
            instances: structuredClone(record.instances),
            deploy: this.view(deploy),
        });
        if (old.length > 0) this.notify({ kind: "instances_stopped", serviceId, instances: old });
        this.finish(record, deploy, "live");
    }

    private finish(record: ServiceRecord, deploy: DeployRecord, status: DeployStatus): void {
        clearTimeout(deploy.timer);
        this.setStatus(deploy, status);
        deploy.finishedAt = deploy.updatedAt;
        record.active = undefined;
        if (deploy.started) {
            const outcome = status === "live" ? "succeeded" : status === "canceled" ? "canceled" : "failed";
            this.notify({ kind: "deploy_ended", serviceId: record.service.id, deploy: this.view(deploy), outcome });
        }
        this.startNext(record);
    }

    private newInstances(serviceId: string, count: number, createdAt: number): Instance[] {
        return Array.from({ length: count }, () => ({ id: newInstanceId(serviceId), createdAt: iso(createdAt) }));
    }

    private notify(change: StateChange): void {
        if (this.closed) return;
        for (const observer of this.observers) observer(change);
    }

    /** Runs `step` once `seconds` of emulated time have passed (`stepMs` per 30 s). */
    private after(deploy: DeployRecord, seconds: number, step: () => void): void {
        deploy.timer = setTimeout(step, this.wallMs(seconds));
    }

    private setStatus(deploy: DeployRecord, status: DeployStatus): void {
        deploy.status = status;
        deploy.updatedAt = Date.now();
    }

    private view(deploy: DeployRecord, justCreated = false): Deploy {
        const finishedAt = deploy.finishedAt !== undefined ? iso(deploy.finishedAt) : justCreated ? null : undefined;
        return {
            id: deploy.id,
            commit: { ...deploy.commit },
            status: deploy.status,
            trigger: deploy.trigger,
            ...(deploy.startedAt !== undefined && { startedAt: iso(deploy.startedAt) }),
            ...(finishedAt !== undefined && { finishedAt }),
            createdAt: iso(deploy.createdAt),
            updatedAt: iso(deploy.updatedAt),
        };
    }
}

const NATIVE_FIELDS = ["buildCommand", "startCommand"];
const DOCKER_FIELDS = ["dockerCommand", "dockerContext", "dockerfilePath"];

/** Refuses commands of one kind of runtime for a service that runs (or is switched to) the other kind. */
function checkDetails(details: WebServiceDetails, patch: NonNullable<ServicePatch["details"]>): void {
    const runtime = patch.runtime ?? details.runtime;
    const fits = runtime === "docker" ? DOCKER_FIELDS : NATIVE_FIELDS;
    const misfits = Object.keys(patch.envSpecificDetails ?? {}).filter((field) => !fits.includes(field));
    if (misfits.length > 0) {
        throw badRequest(
            `serviceDetails.envSpecificDetails: ${misfits.join(", ")} ${misfits.length > 1 ? "are" : "is"} not for the ` +
                `${runtime} runtime; it takes ${fits.join(", ")}`,
        );
    }
}

/** A PATCH's service details applied to what the service has; each field only when sent. */
function applyDetails(details: WebServiceDetails, patch: NonNullable<ServicePatch["details"]>): void {
    // Takes effect at once at Render's edge: no deploy, no restart.
    if (patch.maintenanceMode !== undefined) details.maintenanceMode = { ...patch.maintenanceMode };
    if (patch.healthCheckPath !== undefined) details.healthCheckPath = patch.healthCheckPath;
    if (patch.plan !== undefined) details.plan = patch.plan;
    if (patch.pullRequestPreviewsEnabled !== undefined) {
        details.pullRequestPreviewsEnabled = patch.pullRequestPreviewsEnabled;
    }
    if (patch.previews?.generation !== undefined) details.previews = { generation: patch.previews.generation };
    if (patch.maxShutdownDelaySeconds !== undefined) details.maxShutdownDelaySeconds = patch.maxShutdownDelaySeconds;
    if (patch.renderSubdomainPolicy !== undefined) details.renderSubdomainPolicy = patch.renderSubdomainPolicy;
    if (patch.cache !== undefined) details.cache = { ...patch.cache };
    const wasDocker = "dockerfilePath" in details.envSpecificDetails;
    if (patch.runtime !== undefined) {
        details.runtime = patch.runtime;
        details.env = patch.runtime;
    }
    const docker = details.runtime === "docker";
    const { preDeployCommand } = details.envSpecificDetails;
    // A switch between Docker and a native runtime starts from Render's defaults for the other kind.
    const base: NativeDetails | DockerDetails =
        docker === wasDocker
            ? details.envSpecificDetails
            : docker
              ? { dockerCommand: "", dockerContext: ".", dockerfilePath: "./Dockerfile" }
              : { buildCommand: "", startCommand: "" };
    const sent = patch.envSpecificDetails ?? {};
    const next: Record<string, string | undefined> = { ...base };
    const fields = docker
        ? (["dockerCommand", "dockerContext", "dockerfilePath"] as const)
        : (["buildCommand", "startCommand"] as const);
    for (const field of fields) if (sent[field] !== undefined) next[field] = sent[field];
    const pre = patch.preDeployCommand ?? preDeployCommand;
    if (pre !== undefined) next.preDeployCommand = pre;
    details.envSpecificDetails = next as unknown as NativeDetails | DockerDetails;
}

/** What `generateValue: true` stores: 256 random bits, base64 encoded, as Render does. */
function generatedValue(): string {
    return randomBytes(32).toString("base64");
}
