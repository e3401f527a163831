// Render's /v1 routes the emulator serves: request validation and the answers, over RenderState.
import { accountOf } from "./account";
import { ApiError, badRequest, notFound } from "./errors";
import { eventsOf, eventTypesFilter } from "./events";
import { logsOf, logsQuery, VALUE_LABELS } from "./logs";
import { decodeCursor, encodeCursor } from "./ids";
import { METRIC_ROUTES, metricsOf } from "./metrics";
import { DEPLOY_STATUSES, Listed, PATCH_PLANS, RenderState, RUNTIMES, Service, ServicePatch } from "./state";

export interface RouteContext {
    state: RenderState;
    params: Record<string, string>;
    query: URLSearchParams;
    /** The parsed JSON body, or undefined when the request had none. */
    body: unknown;
}

export interface Answer {
    status: number;
    /** Absent for the bodiless answers (202 queued deploy, 204 delete, 200 restart, 202 scale). */
    body?: unknown;
}

export interface Route {
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
    /** The path template exactly as Render's spec names it, without the /v1 prefix. */
    route: string;
    /** Whether it reads a JSON body; the others ignore whatever body is sent, as the spec declares none for them. */
    body?: true;
    handle(ctx: RouteContext): Answer;
}

export const ROUTES: readonly Route[] = [
    { method: "GET", route: "/services", handle: listServices },
    {
        method: "GET",
        route: "/services/{serviceId}",
        handle: ({ state, params }) => ok(state.service(params.serviceId)),
    },
    { method: "PATCH", route: "/services/{serviceId}", body: true, handle: updateService },
    { method: "GET", route: "/services/{serviceId}/env-vars", handle: listEnvVars },
    { method: "PUT", route: "/services/{serviceId}/env-vars", body: true, handle: replaceEnvVars },
    {
        method: "GET",
        route: "/services/{serviceId}/env-vars/{envVarKey}",
        handle: ({ state, params }) => ok(state.getEnvVar(params.serviceId, params.envVarKey)),
    },
    { method: "PUT", route: "/services/{serviceId}/env-vars/{envVarKey}", body: true, handle: putEnvVar },
    {
        method: "DELETE",
        route: "/services/{serviceId}/env-vars/{envVarKey}",
        handle: ({ state, params }) => (state.deleteEnvVar(params.serviceId, params.envVarKey), { status: 204 }),
    },
    { method: "GET", route: "/services/{serviceId}/deploys", handle: listDeploys },
    { method: "POST", route: "/services/{serviceId}/deploys", body: true, handle: triggerDeploy },
    {
        method: "GET",
        route: "/services/{serviceId}/deploys/{deployId}",
        handle: ({ state, params }) => ok(state.deploy(params.serviceId, params.deployId)),
    },
    {
        method: "POST",
        route: "/services/{serviceId}/deploys/{deployId}/cancel",
        handle: ({ state, params }) => ok(state.cancelDeploy(params.serviceId, params.deployId)),
    },
    { method: "POST", route: "/services/{serviceId}/rollback", body: true, handle: rollback },
    {
        method: "POST",
        route: "/services/{serviceId}/restart",
        handle: ({ state, params }) => (
            state.restart(params.serviceId, accountOf(state).userOwner.id),
            { status: 200 }
        ),
    },
    { method: "POST", route: "/services/{serviceId}/scale", body: true, handle: scale },
    {
        method: "GET",
        route: "/services/{serviceId}/instances",
        handle: ({ state, params }) => ok(state.instances(params.serviceId)),
    },
    // What happened to the service and what it logged (see ./events.ts and ./logs.ts).
    { method: "GET", route: "/services/{serviceId}/events", handle: listEvents },
    { method: "GET", route: "/logs", handle: listLogs },
    { method: "GET", route: "/logs/values", handle: listLogValues },
    // The account around the service (see ./account.ts): its user, workspaces and databases; no projects or Key Value.
    { method: "GET", route: "/users", handle: ({ state }) => ok(accountOf(state).user) },
    { method: "GET", route: "/owners", handle: listOwners },
    { method: "GET", route: "/owners/{ownerId}", handle: getOwner },
    { method: "GET", route: "/projects", handle: listProjects },
    { method: "GET", route: "/postgres", handle: listPostgres },
    { method: "GET", route: "/key-value", handle: listKeyValue },
    // Render's metrics: traffic the stand-in app served, and the gauges tests set (see ./metrics.ts).
    ...Object.entries(METRIC_ROUTES).map(([route, answer]): Route => ({
        method: "GET",
        route,
        handle: ({ state, query }) => ok(answer(metricsOf(state), query)),
    })),
];

function ok(body: unknown): Answer {
    return { status: 200, body };
}

// ---- services ----

function listServices({ state, query }: RouteContext): Answer {
    const filters: [string, (s: Service) => string][] = [
        ["name", (s) => s.name],
        ["type", (s) => s.type],
        ["ownerId", (s) => s.ownerId],
        ["suspended", (s) => s.suspended],
        ["region", (s) => s.serviceDetails.region],
    ];
    let services = state.listServices();
    for (const [name, field] of filters) {
        const wanted = listParam(query, name);
        if (wanted.length > 0) services = services.filter(({ item }) => wanted.includes(field(item)));
    }
    return ok(page(services, query, "svc", (service, cursor) => ({ service, cursor })));
}

const AUTO_DEPLOY = ["yes", "no"] as const;
const AUTO_DEPLOY_TRIGGER = ["commit", "off", "checksPass"] as const;
const YES_NO = ["yes", "no"] as const;
const PREVIEW_GENERATIONS = ["off", "manual", "automatic"] as const;
const SUBDOMAIN_POLICIES = ["enabled", "disabled"] as const;

/**
 * PATCH /services/{id}: every field of the spec's web-service PATCH, each checked as the spec types it (and
 * autoDeployTrigger, which Render's newer API takes in place of autoDeploy). What the emulator models takes effect; the
 * rest is kept, so a GET shows it.
 */
function updateService({ state, params, body }: RouteContext): Answer {
    const where = "PATCH /services/{serviceId}";
    const input = objectBody(body, where, [
        "name",
        "autoDeploy",
        "autoDeployTrigger",
        "repo",
        "branch",
        "image",
        "buildFilter",
        "rootDir",
        "serviceDetails",
    ]);
    if (input.autoDeploy !== undefined && input.autoDeployTrigger !== undefined) {
        throw badRequest(`send autoDeploy or autoDeployTrigger, not both (autoDeploy "no" is autoDeployTrigger "off")`);
    }
    const patch: ServicePatch = {};
    if (input.name !== undefined) {
        if (typeof input.name !== "string" || input.name.trim() === "")
            throw badRequest(`name must be a non-empty string`);
        patch.name = input.name;
    }
    if (input.autoDeploy !== undefined) patch.autoDeploy = oneOf("autoDeploy", input.autoDeploy, AUTO_DEPLOY);
    if (input.autoDeployTrigger !== undefined) {
        patch.autoDeployTrigger = oneOf("autoDeployTrigger", input.autoDeployTrigger, AUTO_DEPLOY_TRIGGER);
    }
    if (input.repo !== undefined) patch.repo = nonEmptyString("repo", input.repo);
    if (input.branch !== undefined) patch.branch = nonEmptyString("branch", input.branch);
    if (input.rootDir !== undefined) patch.rootDir = stringField("rootDir", input.rootDir);
    if (input.buildFilter !== undefined) {
        const filter = objectBody(input.buildFilter, "buildFilter", ["paths", "ignoredPaths"]);
        patch.buildFilter = {
            paths: stringList("buildFilter.paths", filter.paths),
            ignoredPaths: stringList("buildFilter.ignoredPaths", filter.ignoredPaths),
        };
    }
    if (input.image !== undefined) {
        // Render's image field is for services deployed from a prebuilt image; this one builds from its repository.
        objectBody(input.image, "image", ["ownerId", "registryCredentialId", "imagePath"]);
        throw badRequest(
            `image is for image-backed services; ${params.serviceId} builds from its Git repository (change repo or branch)`,
        );
    }
    if (input.serviceDetails !== undefined) patch.details = webServiceDetails(input.serviceDetails);
    return ok(state.updateService(params.serviceId, patch));
}

/** The spec's webServiceDetailsPATCH, checked field by field. */
function webServiceDetails(body: unknown): NonNullable<ServicePatch["details"]> {
    const details = objectBody(body, "serviceDetails", [
        "envSpecificDetails",
        "healthCheckPath",
        "maintenanceMode",
        "plan",
        "preDeployCommand",
        "pullRequestPreviewsEnabled",
        "previews",
        "runtime",
        "maxShutdownDelaySeconds",
        "renderSubdomainPolicy",
        "cache",
    ]);
    const patch: NonNullable<ServicePatch["details"]> = {};
    if (details.maintenanceMode !== undefined) {
        // The spec requires both of its fields.
        const mode = objectBody(details.maintenanceMode, "serviceDetails.maintenanceMode", ["enabled", "uri"]);
        if (typeof mode.enabled !== "boolean")
            throw badRequest(`serviceDetails.maintenanceMode.enabled must be a boolean`);
        if (typeof mode.uri !== "string") {
            throw badRequest(`serviceDetails.maintenanceMode.uri must be a string ("" for the default page)`);
        }
        patch.maintenanceMode = { enabled: mode.enabled, uri: mode.uri };
    }
    if (details.healthCheckPath !== undefined) {
        const path = stringField("serviceDetails.healthCheckPath", details.healthCheckPath);
        if (path !== "" && !path.startsWith("/")) {
            throw badRequest(
                `serviceDetails.healthCheckPath must be a path starting with "/" (or "" for none), got ${JSON.stringify(path)}`,
            );
        }
        patch.healthCheckPath = path;
    }
    if (details.plan !== undefined) patch.plan = oneOf("serviceDetails.plan", details.plan, PATCH_PLANS);
    if (details.runtime !== undefined) {
        patch.runtime = oneOf("serviceDetails.runtime", details.runtime, RUNTIMES);
        if (patch.runtime === "image") {
            throw badRequest(
                `serviceDetails.runtime "image" is for image-backed services; this one builds from its Git repository`,
            );
        }
    }
    if (details.envSpecificDetails !== undefined) {
        const fields = objectBody(details.envSpecificDetails, "serviceDetails.envSpecificDetails", [
            "buildCommand",
            "startCommand",
            "dockerCommand",
            "dockerContext",
            "dockerfilePath",
            "registryCredentialId",
        ]);
        const native = ["buildCommand", "startCommand"].filter((k) => fields[k] !== undefined);
        const docker = ["dockerCommand", "dockerContext", "dockerfilePath", "registryCredentialId"].filter(
            (k) => fields[k] !== undefined,
        );
        if (native.length > 0 && docker.length > 0) {
            throw badRequest(
                `serviceDetails.envSpecificDetails: send a native runtime's ${native.join(", ")} or Docker's ` +
                    `${docker.join(", ")}, not both`,
            );
        }
        if (fields.registryCredentialId !== undefined) {
            stringField("serviceDetails.envSpecificDetails.registryCredentialId", fields.registryCredentialId);
            throw new ApiError(404, `not found: registry credential ${String(fields.registryCredentialId)}`);
        }
        const checked: Record<string, string> = {};
        for (const key of [...native, ...docker]) {
            checked[key] = stringField(`serviceDetails.envSpecificDetails.${key}`, fields[key]);
        }
        patch.envSpecificDetails = checked;
    }
    if (details.preDeployCommand !== undefined) {
        patch.preDeployCommand = stringField("serviceDetails.preDeployCommand", details.preDeployCommand);
    }
    if (details.pullRequestPreviewsEnabled !== undefined) {
        patch.pullRequestPreviewsEnabled = oneOf(
            "serviceDetails.pullRequestPreviewsEnabled",
            details.pullRequestPreviewsEnabled,
            YES_NO,
        );
    }
    if (details.previews !== undefined) {
        const previews = objectBody(details.previews, "serviceDetails.previews", ["generation"]);
        patch.previews =
            previews.generation === undefined
                ? {}
                : { generation: oneOf("serviceDetails.previews.generation", previews.generation, PREVIEW_GENERATIONS) };
    }
    if (details.maxShutdownDelaySeconds !== undefined) {
        const seconds = details.maxShutdownDelaySeconds;
        if (typeof seconds !== "number" || !Number.isInteger(seconds) || seconds < 1 || seconds > 300) {
            throw badRequest(
                `serviceDetails.maxShutdownDelaySeconds must be a whole number of seconds from 1 to 300, got ${JSON.stringify(seconds)}`,
            );
        }
        patch.maxShutdownDelaySeconds = seconds;
    }
    if (details.renderSubdomainPolicy !== undefined) {
        patch.renderSubdomainPolicy = oneOf(
            "serviceDetails.renderSubdomainPolicy",
            details.renderSubdomainPolicy,
            SUBDOMAIN_POLICIES,
        );
    }
    if (details.cache !== undefined) {
        const cache = objectBody(details.cache, "serviceDetails.cache", ["profile"]);
        patch.cache = { profile: nonEmptyString("serviceDetails.cache.profile", cache.profile) };
    }
    return patch;
}

function scale({ state, params, body }: RouteContext): Answer {
    const { numInstances } = objectBody(body, "POST /services/{serviceId}/scale", ["numInstances"]);
    if (typeof numInstances !== "number" || !Number.isInteger(numInstances) || numInstances < 1) {
        throw badRequest(`numInstances must be an integer of at least 1, got ${JSON.stringify(numInstances)}`);
    }
    state.scale(params.serviceId, numInstances);
    return { status: 202 };
}

// ---- environment variables ----

function listEnvVars({ state, params, query }: RouteContext): Answer {
    return ok(page(state.listEnvVars(params.serviceId), query, "env", (envVar, cursor) => ({ envVar, cursor })));
}

function replaceEnvVars({ state, params, body }: RouteContext): Answer {
    // A null (or absent) body deletes every variable, as the live API does.
    const items = body ?? [];
    if (!Array.isArray(items))
        throw badRequest(`PUT /env-vars takes an array of {key, value} or {key, generateValue: true}`);
    const seen = new Set<string>();
    const entries = items.map((item: unknown, index) => {
        const where = `item ${index}`;
        const fields = objectBody(item, where, ["key", "value", "generateValue"]);
        if (typeof fields.key !== "string") throw badRequest(`${where}: key must be a string`);
        const key = checkKey(fields.key);
        if (seen.has(key)) throw badRequest(`${where}: key ${key} appears more than once; each key may be set once`);
        seen.add(key);
        return { key, value: valueOrGenerate(fields, `${where} (${key})`) };
    });
    state.replaceEnvVars(params.serviceId, entries);
    const all = state.listEnvVars(params.serviceId);
    return ok(all.map(({ seq, item }) => ({ envVar: item, cursor: encodeCursor("env", seq) })));
}

function putEnvVar({ state, params, body }: RouteContext): Answer {
    const key = checkKey(params.envVarKey);
    const fields = objectBody(body, `PUT /env-vars/${key}`, ["value", "generateValue"]);
    return ok(state.putEnvVar(params.serviceId, key, valueOrGenerate(fields, key)));
}

const KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function checkKey(key: string): string {
    if (!KEY_PATTERN.test(key)) {
        throw badRequest(
            `env var key ${JSON.stringify(key)} is not valid: use letters, digits, "_", "." and "-", not starting with a digit`,
        );
    }
    return key;
}

/** `{value}` gives the value; `{generateValue: true}` asks for a random one (undefined here). Never echoes a value. */
function valueOrGenerate(fields: Record<string, unknown>, where: string): string | undefined {
    const { value, generateValue } = fields;
    if (value !== undefined && generateValue !== undefined) {
        throw badRequest(`${where}: send value or generateValue, not both`);
    }
    if (value !== undefined) {
        if (typeof value !== "string") throw badRequest(`${where}: value must be a string, got ${typeName(value)}`);
        return value;
    }
    if (generateValue === true) return undefined;
    throw badRequest(`${where}: needs a string value, or generateValue: true`);
}

// ---- deploys ----

function listDeploys({ state, params, query }: RouteContext): Answer {
    let deploys = state.listDeploys(params.serviceId);
    const statuses = listParam(query, "status");
    for (const status of statuses) {
        if (!(DEPLOY_STATUSES as readonly string[]).includes(status)) {
            throw badRequest(
                `status ${JSON.stringify(status)} is not a deploy status; expected one of ${DEPLOY_STATUSES.join(", ")}`,
            );
        }
    }
    if (statuses.length > 0) deploys = deploys.filter(({ item }) => statuses.includes(item.status));
    const timeFilters: [string, "createdAt" | "updatedAt" | "finishedAt", "before" | "after"][] = [
        ["createdBefore", "createdAt", "before"],
        ["createdAfter", "createdAt", "after"],
        ["updatedBefore", "updatedAt", "before"],
        ["updatedAfter", "updatedAt", "after"],
        ["finishedBefore", "finishedAt", "before"],
        ["finishedAfter", "finishedAt", "after"],
    ];
    for (const [name, field, side] of timeFilters) {
        const raw = query.get(name);
        if (raw === null) continue;
        const bound = Date.parse(raw);
        if (Number.isNaN(bound))
            throw badRequest(
                `${name} must be an ISO 8601 timestamp such as 2025-01-13T16:48:10Z, got ${JSON.stringify(raw)}`,
            );
        deploys = deploys.filter(({ item }) => {
            const at = item[field];
            if (typeof at !== "string") return false;
            return side === "before" ? Date.parse(at) < bound : Date.parse(at) > bound;
        });
    }
    return ok(page(deploys, query, "dep", (deploy, cursor) => ({ deploy, cursor })));
}

const CLEAR_CACHE = ["clear", "do_not_clear"] as const;
const DEPLOY_MODE = ["build_and_deploy", "deploy_only"] as const;

function triggerDeploy({ state, params, body }: RouteContext): Answer {
    const input = objectBody(body ?? {}, "POST /services/{serviceId}/deploys", [
        "clearCache",
        "commitId",
        "imageUrl",
        "deployMode",
    ]);
    if (input.deployMode !== undefined) {
        const others = ["clearCache", "commitId", "imageUrl"].filter((k) => input[k] !== undefined);
        if (others.length > 0) throw badRequest(`deployMode may not be combined with ${others.join(", ")}`);
    }
    // The emulator keeps no build cache, so clearCache is checked and then has nothing to clear.
    if (input.clearCache !== undefined) oneOf("clearCache", input.clearCache, CLEAR_CACHE);
    if (input.imageUrl !== undefined) {
        throw badRequest(
            `imageUrl is for image-backed services; ${params.serviceId} builds from its Git repository (use commitId)`,
        );
    }
    if (input.commitId !== undefined && typeof input.commitId !== "string") {
        throw badRequest(`commitId must be a Git commit SHA string, got ${typeName(input.commitId)}`);
    }
    const deployMode = input.deployMode === undefined ? undefined : oneOf("deployMode", input.deployMode, DEPLOY_MODE);
    const { deploy, queued } = state.triggerDeploy(params.serviceId, { commitId: input.commitId, deployMode });
    // Render answers a deploy that has to wait with 202 and no body at all: the caller finds it by listing.
    return queued ? { status: 202 } : { status: 201, body: deploy };
}

function rollback({ state, params, body }: RouteContext): Answer {
    const { deployId } = objectBody(body, "POST /services/{serviceId}/rollback", ["deployId"]);
    if (typeof deployId !== "string" || deployId === "")
        throw badRequest(`deployId is required: the id (dep-...) of the deploy to roll back to`);
    return { status: 201, body: state.rollback(params.serviceId, deployId) };
}

// ---- events and logs ----

function listEvents({ state, params, query }: RouteContext): Answer {
    const types = eventTypesFilter(listParam(query, "type"));
    const start = optionalTime(query, "startTime");
    const end = optionalTime(query, "endTime");
    if (start !== undefined && end !== undefined && start > end) {
        throw badRequest(`startTime (${query.get("startTime")}) is after endTime (${query.get("endTime")})`);
    }
    // Without a range every event is listed; a cursor and a range apply together.
    const events = eventsOf(state)
        .list(params.serviceId)
        .filter(({ at, item }) => {
            if (types.length > 0 && !types.includes(item.type)) return false;
            return (start === undefined || at >= start) && (end === undefined || at <= end);
        });
    return ok(page(events, query, "evt", (event, cursor) => ({ event, cursor })));
}

/** The owner and resources of a /logs request: the owner must exist and own every resource (a service or Postgres). */
function logsScope(state: RenderState, query: URLSearchParams, resources: readonly string[]): void {
    const ownerId = query.get("ownerId");
    if (ownerId === null || ownerId === "") {
        throw badRequest(`ownerId is required: the workspace (tea-... or usr-...) that owns the resources`);
    }
    if (resources.length === 0) {
        throw badRequest(`resource is required: one or more service (srv-...) or Postgres (dpg-...) ids`);
    }
    const account = accountOf(state);
    if (!account.owner(ownerId)) throw notFound(`owner ${ownerId}`);
    for (const resource of resources) {
        const owner = account.ownerOf(resource);
        if (owner === undefined) throw notFound(`resource ${resource}`);
        if (owner !== ownerId) {
            throw badRequest(
                `resource ${resource} belongs to ${owner}, not ${ownerId}: all resources must be the owner's`,
            );
        }
    }
}

function listLogs({ state, query }: RouteContext): Answer {
    const logs = logsQuery(query);
    logsScope(state, query, logs.resources);
    return ok(logsOf(state).query(logs));
}

function listLogValues({ state, query }: RouteContext): Answer {
    const label = query.get("label");
    if (label === null || label === "") throw badRequest(`label is required: one of ${VALUE_LABELS.join(", ")}`);
    const logs = logsQuery(query);
    logsScope(state, query, logs.resources);
    return ok(logsOf(state).values(logs, oneOf("label", label, VALUE_LABELS)));
}

// ---- the account ----

function listOwners({ state, query }: RouteContext): Answer {
    const names = listParam(query, "name");
    const emails = listParam(query, "email");
    const owners = accountOf(state)
        .owners()
        .filter(({ item }) => names.length === 0 || names.includes(item.name))
        .filter(({ item }) => emails.length === 0 || emails.includes(item.email));
    return ok(page(owners, query, "own", (owner, cursor) => ({ owner, cursor })));
}

function getOwner({ state, params }: RouteContext): Answer {
    const owner = accountOf(state).owner(params.ownerId);
    if (!owner) throw notFound(`owner ${params.ownerId}`);
    return ok(owner);
}

/** The account has no projects: the filters are checked, and the list is empty. */
function listProjects({ query }: RouteContext): Answer {
    checkTimes(query, ["createdBefore", "createdAfter", "updatedBefore", "updatedAfter"]);
    return ok(page([], query, "prj", (project, cursor) => ({ project, cursor })));
}

const REGIONS = ["frankfurt", "oregon", "ohio", "singapore", "virginia"] as const;
const SUSPENDED = ["suspended", "not_suspended"] as const;

function listPostgres({ state, query }: RouteContext): Answer {
    const times = checkTimes(query, ["createdBefore", "createdAfter", "updatedBefore", "updatedAfter"]);
    const regions = listParam(query, "region").map((r) => oneOf("region", r, REGIONS));
    const suspended = listParam(query, "suspended").map((v) => oneOf("suspended", v, SUSPENDED));
    const includeReplicas = query.get("includeReplicas");
    if (includeReplicas !== null) oneOf("includeReplicas", includeReplicas, ["true", "false"] as const);
    const names = listParam(query, "name");
    const owners = listParam(query, "ownerId");
    // The account's databases are in no environment: an environment filter matches none of them.
    const environments = listParam(query, "environmentId");
    const databases = accountOf(state)
        .listPostgres()
        .filter(({ item }) => names.length === 0 || names.includes(item.name))
        .filter(({ item }) => regions.length === 0 || regions.includes(item.region))
        .filter(({ item }) => suspended.length === 0 || suspended.includes(item.suspended))
        .filter(({ item }) => owners.length === 0 || owners.includes(item.owner.id))
        .filter(() => environments.length === 0)
        .filter(({ item }) => times(item.createdAt, item.updatedAt));
    return ok(page(databases, query, "dpg", (postgres, cursor) => ({ postgres, cursor })));
}

/** The account has no Key Value instances (Ahoy's sessions live in its own Redis): the filters are checked. */
function listKeyValue({ query }: RouteContext): Answer {
    checkTimes(query, ["createdBefore", "createdAfter", "updatedBefore", "updatedAfter"]);
    listParam(query, "region").forEach((r) => oneOf("region", r, REGIONS));
    return ok(page([], query, "red", (keyValue, cursor) => ({ keyValue, cursor })));
}

/** An optional date-time parameter in ms, or 400 naming it and the form it takes. */
function optionalTime(query: URLSearchParams, name: string): number | undefined {
    const raw = query.get(name);
    if (raw === null || raw === "") return undefined;
    const at = Date.parse(raw);
    if (Number.isNaN(at)) {
        throw badRequest(
            `${name} must be an ISO 8601 timestamp such as 2025-01-13T16:48:10Z, got ${JSON.stringify(raw)}`,
        );
    }
    return at;
}

/** Checks the created/updated before/after filters; answers whether a resource's two times pass them. */
function checkTimes(
    query: URLSearchParams,
    names: readonly string[],
): (createdAt: string, updatedAt: string) => boolean {
    const bounds = names.map((name) => ({ name, at: optionalTime(query, name) }));
    return (createdAt, updatedAt) =>
        bounds.every(({ name, at }) => {
            if (at === undefined) return true;
            const value = Date.parse(name.startsWith("created") ? createdAt : updatedAt);
            return name.endsWith("Before") ? value < at : value > at;
        });
}

// ---- shared helpers ----

/** One page of a newest-first list: `limit` items (1-100, default 20) after the item `cursor` names. */
function page<T, W>(
    listed: Listed<T>[],
    query: URLSearchParams,
    kind: string,
    wrap: (item: T, cursor: string) => W,
): W[] {
    const limit = parseLimit(query.get("limit"));
    const cursor = query.get("cursor");
    let items = listed;
    if (cursor !== null && cursor !== "") {
        const after = decodeCursor(kind, cursor);
        if (after === undefined)
            throw badRequest(`cursor ${JSON.stringify(cursor)} is not a cursor this list returned`);
        items = listed.filter(({ seq }) => seq < after);
    }
    return items.slice(0, limit).map(({ seq, item }) => wrap(item, encodeCursor(kind, seq)));
}

function parseLimit(raw: string | null): number {
    if (raw === null) return 20;
    const limit = Number(raw);
    if (!/^\d+$/.test(raw) || limit < 1 || limit > 100)
        throw badRequest(`limit must be an integer from 1 to 100, got ${JSON.stringify(raw)}`);
    return limit;
}

/** A list-valued query parameter, sent either repeated (`status=a&status=b`) or comma-separated (`name=a,b`). */
function listParam(query: URLSearchParams, name: string): string[] {
    return query
        .getAll(name)
        .flatMap((v) => v.split(","))
        .filter((v) => v !== "");
}

function objectBody(body: unknown, where: string, allowed: readonly string[]): Record<string, unknown> {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
        throw badRequest(`${where}: the body must be a JSON object with ${allowed.join(", ")}`);
    }
    const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
    if (unknown.length > 0) {
        throw badRequest(
            `${where}: unknown field${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; expected ${allowed.join(", ")}`,
        );
    }
    return body as Record<string, unknown>;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
        throw badRequest(
            `${name} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(value)}`,
        );
    }
    return value as T;
}

function stringField(name: string, value: unknown): string {
    if (typeof value !== "string") throw badRequest(`${name} must be a string, got ${typeName(value)}`);
    return value;
}

function nonEmptyString(name: string, value: unknown): string {
    const text = stringField(name, value);
    if (text.trim() === "") throw badRequest(`${name} must not be empty`);
    return text;
}

function stringList(name: string, value: unknown): string[] {
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
        throw badRequest(`${name} must be a list of strings, got ${typeName(value)}`);
    }
    return [...value];
}

function typeName(value: unknown): string {
    return value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
}
