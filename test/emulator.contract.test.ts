// Every answer the Render emulator can give, checked against the schema Render's spec declares for its path, method and status.
import { strict as assert } from "node:assert";
import { Emulator, startEmulator } from "../emulator";
import { METRIC_ROUTES } from "../emulator/metrics";
import { ROUTES } from "../emulator/routes";
import { api, expectStatus, type CallOptions, type Reply } from "./support/emulatorApi";
import { RenderSpec } from "./support/openapi";
import { waitFor } from "./support/wait";

const METRIC_PATHS = Object.keys(METRIC_ROUTES);

// Statuses the emulator sends that the spec does not declare for the operation: list endpoints answer an invalid
// `limit`, `cursor` or filter with 400 (the spec bounds `limit` to 1-100 but lists no 400 for them). Their bodies are
// still checked against the spec's shared `error` schema.
const UNDECLARED_BUT_SENT = new Set([
    "GET /services 400",
    "GET /services/{serviceId}/deploys 400",
    "GET /services/{serviceId}/env-vars 400",
    "GET /owners 400",
    // The metrics operations declare only 200, 400 and 500; without a key, over a limit or in an outage they answer as
    // every other endpoint does.
    ...METRIC_PATHS.flatMap((route) => [401, 429, 503].map((status) => `GET ${route} ${status}`)),
]);

// What each route can answer besides 401, 429, 500 and 503 (which every route can): the whole repertoire.
const REPERTOIRE: Record<string, number[]> = {
    "GET /services": [200, 400],
    "GET /services/{serviceId}": [200, 404],
    "PATCH /services/{serviceId}": [200, 400, 404],
    "GET /services/{serviceId}/env-vars": [200, 400, 404],
    "PUT /services/{serviceId}/env-vars": [200, 400, 404],
    "GET /services/{serviceId}/env-vars/{envVarKey}": [200, 404],
    "PUT /services/{serviceId}/env-vars/{envVarKey}": [200, 400, 404],
    "DELETE /services/{serviceId}/env-vars/{envVarKey}": [204, 404],
    "GET /services/{serviceId}/deploys": [200, 400, 404],
    "POST /services/{serviceId}/deploys": [201, 202, 400, 404],
    "GET /services/{serviceId}/deploys/{deployId}": [200, 404],
    "POST /services/{serviceId}/deploys/{deployId}/cancel": [200, 400, 404],
    "POST /services/{serviceId}/rollback": [201, 400, 404],
    "POST /services/{serviceId}/restart": [200, 404],
    "POST /services/{serviceId}/scale": [202, 400, 404],
    "GET /services/{serviceId}/instances": [200, 404],
    "GET /services/{serviceId}/events": [200, 400, 404],
    ...Object.fromEntries(METRIC_PATHS.map((route) => [`GET ${route}`, [200, 400]])),
    "GET /logs": [200, 400, 404],
    "GET /logs/values": [200, 400, 404],
    "GET /users": [200],
    "GET /owners": [200, 400],
    "GET /owners/{ownerId}": [200, 404],
    "GET /projects": [200, 400],
    "GET /postgres": [200, 400],
    "GET /key-value": [200, 400],
};
const EVERY_ROUTE_CAN_ANSWER = [401, 429, 500, 503];

describe("the Render emulator against Render's OpenAPI spec", function () {
    const spec = RenderSpec.load();
    const seen = new Set<string>();
    let emu: Emulator;

    /** Calls the emulator and checks the answer's headers and body against the spec; `route` is the spec's template. */
    async function call(
        emulator: Emulator,
        method: string,
        route: string,
        path: string,
        { body, ...options }: { body?: unknown } & CallOptions = {},
    ): Promise<Reply> {
        const reply = await api(emulator, method, path, body, options);
        const where = `${method} ${path} -> ${reply.status}`;

        assert.match(reply.headers.get("render-request-id") ?? "", /\S/, `${where}: no Render-Request-Id header`);
        for (const header of ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"]) {
            assert.match(reply.headers.get(header) ?? "", /^\d+$/, `${where}: ${header} is not a whole number`);
        }
        if (reply.text !== "")
            assert.match(
                reply.headers.get("content-type") ?? "",
                /^application\/json/,
                `${where}: body is not labelled JSON`,
            );

        const kind = `${method} ${route} ${reply.status}`;
        const problems =
            UNDECLARED_BUT_SENT.has(kind) || !spec.hasOperation(method, route)
                ? spec.checkSchema("error", reply.text)
                : spec.checkResponse(method, route, reply.status, reply.text);
        assert.deepEqual(problems, [], `${where} does not match the spec:\n${problems.join("\n")}`);
        seen.add(kind);
        return reply;
    }

    /** A concrete path for a route template, on the seeded service. */
    function pathOf(route: string, ids: { serviceId?: string; deployId?: string; key?: string } = {}): string {
        return route
            .replace("{serviceId}", ids.serviceId ?? emu.serviceId)
            .replace("{deployId}", ids.deployId ?? emu.deploys()[0].id)
            .replace("{envVarKey}", ids.key ?? "SOME_HAND_SET_VAR")
            .replace("{ownerId}", emu.ownerId);
    }

    // The tests share one emulator and run in order: each continues from the service the previous ones left (the deploy
    // test's push autodeploys because the service test turned autoDeploy back on), and the last one checks that
    // together they drew every answer in REPERTOIRE from the emulator.
    before(async () => {
        // Real rate limits are proven on their own emulator below; here they would only get in the way. Each deploy
        // status lasts long enough that a deploy is still in flight (and one queued) across the calls made meanwhile.
        emu = await startEmulator({ stepMs: 250, rateLimits: false });
    });
    after(async () => {
        await emu.close();
    });

    it("serves only operations the spec declares", () => {
        for (const { method, route } of ROUTES) {
            assert.ok(spec.hasOperation(method, route), `${method} ${route} is not an operation in the spec`);
        }
        assert.deepEqual(
            ROUTES.map(({ method, route }) => `${method} ${route}`).sort(),
            Object.keys(REPERTOIRE).sort(),
            "the routes served and the repertoire this test covers differ: cover the new route here",
        );
    });

    it("the spec check rejects bodies that break the declared schema", () => {
        const service = emu.service() as unknown as Record<string, unknown>;
        delete service.slug;
        assert.notDeepEqual(spec.checkResponse("GET", "/services/{serviceId}", 200, JSON.stringify(service)), []);
        assert.notDeepEqual(
            spec.checkResponse(
                "GET",
                "/services/{serviceId}/deploys/{deployId}",
                200,
                JSON.stringify({ status: "live" }),
            ),
            [],
        );
        assert.notDeepEqual(
            spec.checkResponse("POST", "/services/{serviceId}/deploys", 202, "{}"),
            [],
            "202 must have no body",
        );
        assert.notDeepEqual(spec.checkResponse("GET", "/services/{serviceId}", 418, "{}"), [], "418 is not declared");
        // The metrics operations' answers are declared by reference to /metrics/cpu's: the check follows it.
        const point = { timestamp: "2025-06-01T00:00:00Z", value: 1, unit: "count" };
        assert.deepEqual(
            spec.checkResponse(
                "GET",
                "/metrics/http-requests",
                200,
                JSON.stringify([{ labels: [], values: [point], unit: "count" }]),
            ),
            [],
        );
        assert.notDeepEqual(
            spec.checkResponse("GET", "/metrics/memory", 200, JSON.stringify([{ labels: [], values: [point] }])),
            [],
            "a series needs its unit",
        );
        assert.notDeepEqual(
            spec.checkResponse(
                "GET",
                "/metrics/memory",
                200,
                JSON.stringify([{ labels: [], values: [{ ...point, timestamp: "now" }], unit: "bytes" }]),
            ),
            [],
            "a point's timestamp is a date-time",
        );
        // A service event is checked against the details its type has (the spec's oneOf of them cannot be used as is).
        const event = (type: string, details: unknown) =>
            JSON.stringify([
                {
                    event: {
                        id: "evt-cph1rs3idesc73a2b2mg",
                        timestamp: "2025-06-01T00:00:00Z",
                        serviceId: "srv-cph1rs3idesc73a2b2m0",
                        type,
                        details,
                    },
                    cursor: "c",
                },
            ]);
        const events = (type: string, details: unknown) =>
            spec.checkResponse("GET", "/services/{serviceId}/events", 200, event(type, details));
        const instanceID = "srv-cph1rs3idesc73a2b2m0-abcde";
        assert.deepEqual(events("server_failed", { instanceID, reason: { evicted: false, nonZeroExit: 1 } }), []);
        assert.notDeepEqual(events("server_failed", { instanceID, reason: "oom" }), [], "a reason is an object");
        assert.notDeepEqual(
            events("server_failed", { instanceID: "i-1", reason: { evicted: false } }),
            [],
            "instance id",
        );
        assert.notDeepEqual(events("deploy_ended", { deployId: "dep-x" }), [], "deploy_ended needs its status");
        assert.notDeepEqual(events("server_on_fire", {}), [], "an unknown type");
        const log = (entry: unknown) =>
            spec.checkResponse(
                "GET",
                "/logs",
                200,
                JSON.stringify({
                    logs: [entry],
                    hasMore: false,
                    nextStartTime: point.timestamp,
                    nextEndTime: point.timestamp,
                }),
            );
        const line = { id: "l", message: "m", timestamp: point.timestamp, labels: [{ name: "type", value: "app" }] };
        assert.deepEqual(log(line), []);
        assert.notDeepEqual(log({ ...line, labels: undefined }), [], "a line has labels");
        assert.notDeepEqual(log({ ...line, labels: [{ name: "colour", value: "red" }] }), [], "label names are listed");
    });

    it("answers the service endpoints as the spec declares", async () => {
        const id = emu.serviceId;
        const list = await call(emu, "GET", "/services", "/services?name=ahoy-indie-media&limit=1");
        expectStatus(list, 200, "list by name");
        const [first] = list.json as { service: { id: string }; cursor: string }[];
        assert.equal(first.service.id, id);
        const next = await call(emu, "GET", "/services", `/services?cursor=${encodeURIComponent(first.cursor)}`);
        assert.deepEqual(next.json, [], "the page after the only service is empty");
        expectStatus(await call(emu, "GET", "/services", "/services?limit=0"), 400, "limit 0");
        expectStatus(await call(emu, "GET", "/services", "/services?cursor=bogus"), 400, "a cursor never returned");

        expectStatus(await call(emu, "GET", "/services/{serviceId}", `/services/${id}`), 200, "get service");
        expectStatus(
            await call(emu, "GET", "/services/{serviceId}", "/services/srv-00000000000000000000"),
            404,
            "unknown service",
        );

        const patch = "/services/{serviceId}";
        expectStatus(
            await call(emu, "PATCH", patch, `/services/${id}`, { body: { autoDeploy: "no" } }),
            200,
            "autoDeploy no",
        );
        expectStatus(
            await call(emu, "PATCH", patch, `/services/${id}`, { body: { autoDeployTrigger: "commit" } }),
            200,
            "trigger commit",
        );
        expectStatus(
            await call(emu, "PATCH", patch, `/services/${id}`, {
                body: { autoDeploy: "no", autoDeployTrigger: "off" },
            }),
            400,
            "both fields",
        );
        expectStatus(
            await call(emu, "PATCH", patch, `/services/${id}`, { body: { autoDeploy: true } }),
            400,
            "boolean autoDeploy",
        );
        expectStatus(await call(emu, "PATCH", patch, `/services/${id}`, { rawBody: "{not json" }), 400, "invalid JSON");
        expectStatus(
            await call(emu, "PATCH", patch, "/services/srv-00000000000000000000", { body: { autoDeploy: "no" } }),
            404,
            "unknown service",
        );

        const scale = "/services/{serviceId}/scale";
        expectStatus(
            await call(emu, "POST", scale, `/services/${id}/scale`, { body: { numInstances: 2 } }),
            202,
            "scale to 2",
        );
        expectStatus(
            await call(emu, "POST", scale, `/services/${id}/scale`, { body: { numInstances: 0 } }),
            400,
            "scale to 0",
        );
        expectStatus(
            await call(emu, "POST", scale, "/services/srv-00000000000000000000/scale", { body: { numInstances: 2 } }),
            404,
            "unknown service",
        );

        const restart = "/services/{serviceId}/restart";
        expectStatus(await call(emu, "POST", restart, `/services/${id}/restart`), 200, "restart");
        expectStatus(
            await call(emu, "POST", restart, "/services/srv-00000000000000000000/restart"),
            404,
            "unknown service",
        );
    });

    it("answers the env-var endpoints as the spec declares", async () => {
        const id = emu.serviceId;
        const list = "/services/{serviceId}/env-vars";
        const one = "/services/{serviceId}/env-vars/{envVarKey}";
        const page = await call(emu, "GET", list, `/services/${id}/env-vars?limit=2`);
        expectStatus(page, 200, "first page");
        const cursor = (page.json as { cursor: string }[])[1].cursor;
        expectStatus(
            await call(emu, "GET", list, `/services/${id}/env-vars?cursor=${encodeURIComponent(cursor)}`),
            200,
            "next page",
        );
        expectStatus(await call(emu, "GET", list, `/services/${id}/env-vars?limit=101`), 400, "limit 101");
        expectStatus(
            await call(emu, "GET", list, "/services/srv-00000000000000000000/env-vars"),
            404,
            "unknown service",
        );

        expectStatus(
            await call(emu, "PUT", one, `/services/${id}/env-vars/FEATURE_X`, { body: { value: "on" } }),
            200,
            "put value",
        );
        expectStatus(
            await call(emu, "PUT", one, `/services/${id}/env-vars/TOKEN`, { body: { generateValue: true } }),
            200,
            "generate",
        );
        expectStatus(
            await call(emu, "PUT", one, `/services/${id}/env-vars/TOKEN`, {
                body: { value: "a", generateValue: true },
            }),
            400,
            "both",
        );
        expectStatus(
            await call(emu, "PUT", one, `/services/${id}/env-vars/TOKEN`, { body: { value: 42 } }),
            400,
            "number value",
        );
        expectStatus(
            await call(emu, "PUT", one, `/services/${id}/env-vars/1BAD`, { body: { value: "x" } }),
            400,
            "bad key",
        );
        expectStatus(
            await call(emu, "PUT", one, "/services/srv-00000000000000000000/env-vars/TOKEN", { body: { value: "x" } }),
            404,
            "unknown service",
        );
        expectStatus(await call(emu, "GET", one, `/services/${id}/env-vars/FEATURE_X`), 200, "get one");
        expectStatus(await call(emu, "GET", one, `/services/${id}/env-vars/NOT_SET`), 404, "missing key");
        expectStatus(await call(emu, "DELETE", one, `/services/${id}/env-vars/FEATURE_X`), 204, "delete");
        expectStatus(await call(emu, "DELETE", one, `/services/${id}/env-vars/FEATURE_X`), 404, "delete again");

        const replaced = {
            body: [
                { key: "A", value: "1" },
                { key: "B", generateValue: true },
            ],
        };
        expectStatus(await call(emu, "PUT", list, `/services/${id}/env-vars`, replaced), 200, "replace all");
        expectStatus(
            await call(emu, "PUT", list, `/services/${id}/env-vars`, {
                body: [
                    { key: "A", value: "1" },
                    { key: "A", value: "2" },
                ],
            }),
            400,
            "duplicate key",
        );
        expectStatus(
            await call(emu, "PUT", list, `/services/${id}/env-vars`, { body: { key: "A", value: "1" } }),
            400,
            "object, not array",
        );
        expectStatus(
            await call(emu, "PUT", list, "/services/srv-00000000000000000000/env-vars", replaced),
            404,
            "unknown service",
        );
        const cleared = await call(emu, "PUT", list, `/services/${id}/env-vars`, { rawBody: "null" });
        expectStatus(cleared, 200, "null body");
        assert.deepEqual(cleared.json, [], "a null body deletes every variable");
    });

    it("answers the deploy, cancel, rollback endpoints as the spec declares", async () => {
        const id = emu.serviceId;
        const deploys = "/services/{serviceId}/deploys";
        const initial = emu.liveDeploy();
        assert.ok(initial);

        const started = await call(emu, "POST", deploys, `/services/${id}/deploys`, {
            body: { clearCache: "do_not_clear" },
        });
        expectStatus(started, 201, "deploy while idle");
        const queued = await call(emu, "POST", deploys, `/services/${id}/deploys`, { body: {} });
        expectStatus(queued, 202, "deploy while one is in flight");
        assert.equal(queued.text, "", "202 has an empty body");
        expectStatus(
            await call(emu, "POST", deploys, `/services/${id}/deploys`, {
                body: { deployMode: "deploy_only", commitId: emu.branchHead() },
            }),
            400,
            "deployMode with commitId",
        );
        expectStatus(
            await call(emu, "POST", deploys, `/services/${id}/deploys`, { body: { imageUrl: "docker.io/ahoy/app:1" } }),
            400,
            "imageUrl on a repo service",
        );
        expectStatus(
            await call(emu, "POST", deploys, `/services/${id}/deploys`, { body: { commitId: "0".repeat(40) } }),
            400,
            "unknown commit",
        );
        expectStatus(
            await call(emu, "POST", deploys, `/services/${id}/deploys`, { body: { commit: "abc" } }),
            400,
            "misspelt field",
        );
        expectStatus(
            await call(emu, "POST", deploys, "/services/srv-00000000000000000000/deploys", { body: {} }),
            404,
            "unknown service",
        );

        const queuedList = await call(emu, "GET", deploys, `/services/${id}/deploys?status=queued`);
        expectStatus(queuedList, 200, "list queued");
        const [waiting] = queuedList.json as { deploy: { id: string } }[];
        const cancel = "/services/{serviceId}/deploys/{deployId}/cancel";
        expectStatus(
            await call(emu, "POST", cancel, `/services/${id}/deploys/${waiting.deploy.id}/cancel`),
            200,
            "cancel queued",
        );
        expectStatus(
            await call(emu, "POST", cancel, `/services/${id}/deploys/dep-00000000000000000000/cancel`),
            404,
            "cancel unknown",
        );
        await waitFor("the deploy to go live", () => emu.liveDeploy()?.id === (started.json as { id: string }).id);
        expectStatus(
            await call(emu, "POST", cancel, `/services/${id}/deploys/${initial.id}/cancel`),
            400,
            "cancel a finished deploy",
        );

        const since = new Date(Date.parse(initial.createdAt) + 1).toISOString();
        expectStatus(
            await call(
                emu,
                "GET",
                deploys,
                `/services/${id}/deploys?createdAfter=${since}&status=live,deactivated&limit=5`,
            ),
            200,
            "filters",
        );
        expectStatus(await call(emu, "GET", deploys, `/services/${id}/deploys?status=sleeping`), 400, "unknown status");
        expectStatus(
            await call(emu, "GET", deploys, `/services/${id}/deploys?createdBefore=yesterday`),
            400,
            "bad timestamp",
        );
        expectStatus(
            await call(emu, "GET", deploys, "/services/srv-00000000000000000000/deploys"),
            404,
            "unknown service",
        );

        const one = "/services/{serviceId}/deploys/{deployId}";
        expectStatus(await call(emu, "GET", one, `/services/${id}/deploys/${initial.id}`), 200, "get deploy");
        expectStatus(
            await call(emu, "GET", one, `/services/${id}/deploys/dep-00000000000000000000`),
            404,
            "unknown deploy",
        );

        const rollback = "/services/{serviceId}/rollback";
        expectStatus(
            await call(emu, "POST", rollback, `/services/${id}/rollback`, { body: { deployId: initial.id } }),
            201,
            "rollback",
        );
        expectStatus(await call(emu, "POST", rollback, `/services/${id}/rollback`, { body: {} }), 400, "no deployId");
        expectStatus(
            await call(emu, "POST", rollback, `/services/${id}/rollback`, {
                body: { deployId: "dep-00000000000000000000" },
            }),
            404,
            "unknown deploy",
        );
        await waitFor("the rollback to go live", () => emu.deploys()[0].status === "live");
        emu.pushCommit({ failBuild: true });
        await waitFor("the failing build", () => emu.deploys()[0].status === "build_failed");
        const failed = emu.deploys()[0].id;
        expectStatus(
            await call(emu, "POST", rollback, `/services/${id}/rollback`, { body: { deployId: failed } }),
            400,
            "rollback to a failed build",
        );
    });

    it("answers the metrics endpoints as the spec declares, fed by the stand-in app's traffic and the gauges set", async () => {
        const id = emu.serviceId;
        const startTime = new Date(Date.now() - 1_000).toISOString();
        // Real traffic: healthy /healthz answers, a 404, and the app misbehaving (500s, some slow) under /media/.
        emu.misbehave({ pathPrefix: "/media/", share: 0.5, status: 500, delayMs: 20 });
        for (const path of ["/healthz", "/healthz", "/nowhere", "/media/a.jpg", "/media/b.jpg"]) {
            await (await fetch(`${emu.appUrl}${path}`)).arrayBuffer();
        }
        emu.misbehave(undefined);
        emu.metrics.set({
            memory: { usedBytes: 300 * 2 ** 20, limitBytes: 512 * 2 ** 20 },
            disk: { usedBytes: 4 * 2 ** 30, capacityBytes: 10 * 2 ** 30 },
            activeConnections: 42,
        });
        const range = `startTime=${startTime}&endTime=${new Date(Date.now() + 1_000).toISOString()}&resolutionSeconds=30`;
        const metric = async (route: string, query: string, what: string) => {
            const reply = await call(emu, "GET", route, `${route}?${query}`);
            expectStatus(reply, 200, what);
            return reply.json as { labels: { field: string; value: string }[]; values: { value: number }[] }[];
        };
        const total = (series: { values: { value: number }[] }[]) =>
            series.flatMap((s) => s.values).reduce((n, p) => n + p.value, 0);

        const byStatus = await metric(
            "/metrics/http-requests",
            `resource=${id}&${range}&aggregateBy=statusCode`,
            "requests by status",
        );
        const statuses = byStatus.map((s) => s.labels.find((l) => l.field === "statusCode")?.value).sort();
        assert.deepEqual(statuses, ["200", "404", "500"], "one series per status the app answered");
        assert.equal(total(byStatus), 5, "every request the app answered is counted once");
        expectStatus(
            await call(
                emu,
                "GET",
                "/metrics/http-requests",
                `/metrics/http-requests?resource=${id}&${range}&aggregateBy=host`,
            ),
            200,
            "requests by host",
        );
        const latency = await metric(
            "/metrics/http-latency",
            `resource=${id}&${range}&quantile=0.95&quantile=0.5`,
            "latency at two quantiles",
        );
        assert.deepEqual(
            latency.map((s) => s.labels.find((l) => l.field === "quantile")?.value),
            ["0.95", "0.5"],
            "one series per quantile asked",
        );
        const memory = await metric("/metrics/memory", `resource=${id}&${range}`, "memory");
        assert.equal(memory[0].values.at(-1)?.value, 300 * 2 ** 20);
        await metric("/metrics/memory-limit", `resource=${id}&${range}`, "memory limit");
        assert.equal(total(await metric("/metrics/disk-usage", `resource=${id}&${range}`, "disk usage")) > 0, true);
        await metric("/metrics/disk-capacity", `resource=${id}&${range}`, "disk capacity");
        const connections = await metric(
            "/metrics/active-connections",
            `resource=${emu.databaseId}&${range}`,
            "active connections",
        );
        assert.equal(connections[0].values.at(-1)?.value, 42);

        emu.metrics.set({ disk: null });
        const soon = Date.now() + 1;
        const later = `startTime=${new Date(soon).toISOString()}&endTime=${new Date(soon + 1_000).toISOString()}&resolutionSeconds=30`;
        assert.deepEqual(await metric("/metrics/disk-usage", `resource=${id}&${later}`, "no disk"), []);
        assert.deepEqual(await metric("/metrics/disk-capacity", `resource=${id}&${later}`, "no disk"), []);

        for (const route of METRIC_PATHS) {
            expectStatus(
                await call(emu, "GET", route, `${route}?resource=${id}&resolutionSeconds=10`),
                400,
                `${route} at 10 s`,
            );
        }
        const bad: [string, string][] = [
            ["/metrics/http-requests", "aggregateBy=path"],
            ["/metrics/http-latency", "quantile=1.5"],
            ["/metrics/memory", "startTime=yesterday"],
            ["/metrics/memory", `startTime=${new Date().toISOString()}&endTime=${startTime}`],
        ];
        for (const [route, query] of bad) {
            expectStatus(await call(emu, "GET", route, `${route}?resource=${id}&${query}`), 400, `${route}?${query}`);
        }
    });

    it("accepts every field of the spec's web-service PATCH, applies what it models and shows the rest", async () => {
        const id = emu.serviceId;
        const route = "/services/{serviceId}";
        const details = {
            envSpecificDetails: { buildCommand: "npm ci && npm run build:prod", startCommand: "node dist/server.js" },
            healthCheckPath: "/readyz",
            maintenanceMode: { enabled: false, uri: "" },
            plan: "standard",
            preDeployCommand: "npm run migrate",
            pullRequestPreviewsEnabled: "no",
            previews: { generation: "manual" },
            runtime: "node",
            maxShutdownDelaySeconds: 60,
            renderSubdomainPolicy: "enabled",
            cache: { profile: "no-cache" },
        };
        const body = {
            autoDeploy: "yes",
            repo: "https://github.com/ahoy/ahoy-indie-media",
            branch: "main",
            name: "ahoy-indie-media",
            buildFilter: { paths: ["src/**"], ignoredPaths: ["docs/**"] },
            rootDir: "",
            serviceDetails: details,
        };
        // The body is the spec's own: every web-service detail it names, and every service field but image (below).
        assert.deepEqual(Object.keys(details).sort(), spec.propertiesOf("webServiceDetailsPATCH").sort());
        assert.deepEqual(
            [...Object.keys(body), "image"].sort(),
            spec.requestBodyProperties("PATCH", route).sort(),
            "the PATCH sent names every field of the spec's body",
        );
        assert.deepEqual(spec.checkRequestBody("PATCH", route, body, "webServiceDetailsPATCH"), []);
        const patched = await call(emu, "PATCH", route, `/services/${id}`, { body });
        expectStatus(patched, 200, "every field");
        const shown = (await call(emu, "GET", route, `/services/${id}`)).json as {
            buildFilter: unknown;
            serviceDetails: Record<string, unknown>;
        };
        assert.deepEqual(shown.buildFilter, body.buildFilter);
        assert.equal(shown.serviceDetails.healthCheckPath, "/readyz");
        assert.equal(shown.serviceDetails.plan, "standard");
        assert.equal(shown.serviceDetails.maxShutdownDelaySeconds, 60);
        assert.deepEqual(shown.serviceDetails.previews, { generation: "manual" });
        assert.deepEqual(shown.serviceDetails.cache, { profile: "no-cache" });
        assert.deepEqual(shown.serviceDetails.envSpecificDetails, {
            ...details.envSpecificDetails,
            preDeployCommand: "npm run migrate",
        });
        // The plan is a memory limit the metrics report from now on.
        const limit = await call(emu, "GET", "/metrics/memory-limit", `/metrics/memory-limit?resource=${id}`);
        const points = (limit.json as { values: { value: number }[] }[])[0].values;
        assert.equal(points.at(-1)?.value, 2048 * 2 ** 20, "standard's 2 GB limit");

        const docker = {
            serviceDetails: {
                runtime: "docker",
                envSpecificDetails: { dockerCommand: "", dockerContext: ".", dockerfilePath: "./Dockerfile" },
            },
        };
        assert.deepEqual(spec.checkRequestBody("PATCH", route, docker, "webServiceDetailsPATCH"), []);
        expectStatus(await call(emu, "PATCH", route, `/services/${id}`, { body: docker }), 200, "to Docker");
        const back = {
            serviceDetails: { runtime: "node", envSpecificDetails: details.envSpecificDetails, plan: "starter" },
        };
        expectStatus(await call(emu, "PATCH", route, `/services/${id}`, { body: back }), 200, "back to node");

        const refused: [string, unknown][] = [
            ["a Git service given an image", { image: { ownerId: emu.ownerId, imagePath: "docker.io/ahoy/app:1" } }],
            ["a plan the PATCH does not offer", { serviceDetails: { plan: "free" } }],
            ["a shutdown delay over 300 s", { serviceDetails: { maxShutdownDelaySeconds: 301 } }],
            ["Docker commands for a node service", { serviceDetails: { envSpecificDetails: { dockerCommand: "x" } } }],
            ["a health check path without /", { serviceDetails: { healthCheckPath: "healthz" } }],
            ["a build filter without its lists", { buildFilter: { paths: ["src/**"] } }],
            ["a field the spec does not name", { serviceDetails: { numInstances: 3 } }],
        ];
        for (const [what, bad] of refused) {
            expectStatus(await call(emu, "PATCH", route, `/services/${id}`, { body: bad }), 400, what);
        }
        expectStatus(
            await call(emu, "PATCH", route, `/services/${id}`, {
                body: { serviceDetails: { envSpecificDetails: { registryCredentialId: "rgc-00000000000000000000" } } },
            }),
            404,
            "an unknown registry credential",
        );
        // Left as the other tests expect it: a starter node service with autodeploy on.
        assert.equal(emu.service().serviceDetails.plan, "starter");
    });

    it("answers the service's instances and events as the spec declares, with cursors, types and a time range", async () => {
        const id = emu.serviceId;
        const instances = await call(emu, "GET", "/services/{serviceId}/instances", `/services/${id}/instances`);
        expectStatus(instances, 200, "instances");
        assert.deepEqual(
            (instances.json as { id: string }[]).map((i) => i.id),
            emu.instances().map((i) => i.id),
        );
        expectStatus(
            await call(emu, "GET", "/services/{serviceId}/instances", "/services/srv-00000000000000000000/instances"),
            404,
            "unknown service",
        );

        // One of each kind the emulator emits: a crash's, a restart's, a scaling's, a drill's, and the deploys' above.
        emu.crash({ reason: "oom", restartSeconds: 1 });
        await waitFor("the restart after the crash", () => emu.events().some((e) => e.type === "server_available"));
        emu.serviceEvent("server_hardware_failure");
        emu.serviceEvent("image_pull_failed", { message: "manifest unknown", imageURL: "docker.io/ahoy/app:9" });
        emu.serviceEvent("zero_downtime_redeploy_started", { trigger: "render" });
        emu.serviceEvent("zero_downtime_redeploy_ended");
        emu.serviceEvent("service_disk_usage_high");
        const events = "/services/{serviceId}/events";
        const all = await call(emu, "GET", events, `/services/${id}/events?limit=100`);
        expectStatus(all, 200, "every event");
        const types = new Set((all.json as { event: { type: string } }[]).map((e) => e.event.type));
        for (const type of ["deploy_started", "build_started", "build_ended", "deploy_ended", "server_failed"]) {
            assert.ok(types.has(type), `${type} is among ${[...types].join(", ")}`);
        }
        const first = await call(emu, "GET", events, `/services/${id}/events?limit=2`);
        const cursor = (first.json as { cursor: string }[])[1].cursor;
        expectStatus(
            await call(emu, "GET", events, `/services/${id}/events?limit=2&cursor=${encodeURIComponent(cursor)}`),
            200,
            "next page",
        );
        const since = new Date(Date.now() - 60_000).toISOString();
        const failed = await call(
            emu,
            "GET",
            events,
            `/services/${id}/events?type=server_failed,server_restarted&startTime=${since}&endTime=${new Date().toISOString()}`,
        );
        assert.deepEqual([...new Set((failed.json as { event: { type: string } }[]).map((e) => e.event.type))].sort(), [
            "server_failed",
            "server_restarted",
        ]);
        for (const [query, what] of [
            ["type=server_on_fire", "an unknown type"],
            ["startTime=an-hour-ago", "a bad time"],
            ["cursor=bogus", "a cursor never returned"],
            ["limit=500", "limit 500"],
        ]) {
            expectStatus(await call(emu, "GET", events, `/services/${id}/events?${query}`), 400, what);
        }
        expectStatus(
            await call(emu, "GET", events, "/services/srv-00000000000000000000/events"),
            404,
            "unknown service",
        );
    });

    it("answers /logs and /logs/values as the spec declares, paged by time as it says", async () => {
        const id = emu.serviceId;
        for (const path of ["/healthz", "/nowhere", "/healthz"])
            await (await fetch(`${emu.appUrl}${path}`)).arrayBuffer();
        emu.appLog("a warning from the app", { level: "warning" });
        const scope = `ownerId=${emu.ownerId}&resource=${id}`;
        const first = await call(emu, "GET", "/logs", `/logs?${scope}&limit=2`);
        expectStatus(first, 200, "newest two lines");
        const page = first.json as { hasMore: boolean; nextStartTime: string; nextEndTime: string };
        assert.equal(page.hasMore, true);
        const next = `startTime=${page.nextStartTime}&endTime=${page.nextEndTime}`;
        expectStatus(await call(emu, "GET", "/logs", `/logs?${scope}&${next}&limit=2`), 200, "the next page");
        const filtered = await call(
            emu,
            "GET",
            "/logs",
            `/logs?${scope}&type=request&statusCode=2*&path=/healthz&method=GET&direction=forward&limit=100`,
        );
        expectStatus(filtered, 200, "request lines of 2xx /healthz");
        assert.ok((filtered.json as { logs: unknown[] }).logs.length >= 2);
        expectStatus(
            await call(emu, "GET", "/logs", `/logs?ownerId=${emu.ownerId}&resource=${emu.databaseId}`),
            200,
            "the database's (none)",
        );
        const values = await call(emu, "GET", "/logs/values", `/logs/values?${scope}&label=statusCode`);
        expectStatus(values, 200, "status codes seen");
        assert.ok((values.json as string[]).includes("404"));
        for (const label of ["type", "level", "instance", "host", "method"]) {
            expectStatus(await call(emu, "GET", "/logs/values", `/logs/values?${scope}&label=${label}`), 200, label);
        }
        const bad: [string, string, string][] = [
            ["/logs", `resource=${id}`, "no ownerId"],
            ["/logs", `ownerId=${emu.ownerId}`, "no resource"],
            ["/logs", `${scope}&startTime=yesterday`, "a bad startTime"],
            ["/logs", `${scope}&startTime=${new Date(Date.now() - 31 * 86_400_000).toISOString()}`, "31 days ago"],
            ["/logs", `${scope}&direction=sideways`, "a bad direction"],
            ["/logs", `${scope}&limit=101`, "limit 101"],
            ["/logs", `${scope}&text=/(unclosed/`, "a bad regular expression"],
            ["/logs/values", `${scope}`, "no label"],
            ["/logs/values", `${scope}&label=path`, "a label it does not list"],
        ];
        for (const [route, query, what] of bad) {
            expectStatus(await call(emu, "GET", route, `${route}?${query}`), 400, what);
        }
        for (const route of ["/logs", "/logs/values"]) {
            const label = route === "/logs/values" ? "&label=type" : "";
            expectStatus(
                await call(emu, "GET", route, `${route}?ownerId=tea-00000000000000000000&resource=${id}${label}`),
                404,
                `${route}: unknown owner`,
            );
            expectStatus(
                await call(
                    emu,
                    "GET",
                    route,
                    `${route}?ownerId=${emu.ownerId}&resource=srv-00000000000000000000${label}`,
                ),
                404,
                `${route}: unknown resource`,
            );
        }
    });

    it("answers the account's user, owners, projects, Postgres and Key Value as the spec declares", async () => {
        expectStatus(await call(emu, "GET", "/users", "/users"), 200, "the key's user");
        const owners = await call(emu, "GET", "/owners", "/owners");
        expectStatus(owners, 200, "owners");
        const listed = owners.json as { owner: { id: string; type: string }; cursor: string }[];
        assert.deepEqual(
            listed.map((o) => o.owner.type),
            ["user", "team"],
        );
        assert.ok(
            listed.some((o) => o.owner.id === emu.ownerId),
            "the service's workspace is an owner",
        );
        expectStatus(await call(emu, "GET", "/owners", "/owners?name=Ahoy%20Indie%20Media&limit=1"), 200, "by name");
        expectStatus(
            await call(emu, "GET", "/owners", `/owners?cursor=${encodeURIComponent(listed[1].cursor)}`),
            200,
            "past the last",
        );
        expectStatus(await call(emu, "GET", "/owners", "/owners?limit=0"), 400, "limit 0");
        expectStatus(await call(emu, "GET", "/owners/{ownerId}", `/owners/${emu.ownerId}`), 200, "one owner");
        expectStatus(
            await call(emu, "GET", "/owners/{ownerId}", "/owners/tea-00000000000000000000"),
            404,
            "unknown owner",
        );

        const projects = await call(emu, "GET", "/projects", `/projects?ownerId=${emu.ownerId}`);
        expectStatus(projects, 200, "projects");
        assert.deepEqual(projects.json, [], "the account has no projects");
        expectStatus(await call(emu, "GET", "/projects", "/projects?createdAfter=last-week"), 400, "a bad time");

        const postgres = await call(emu, "GET", "/postgres", `/postgres?ownerId=${emu.ownerId}&region=oregon`);
        expectStatus(postgres, 200, "postgres");
        assert.deepEqual(
            (postgres.json as { postgres: { id: string } }[]).map((p) => p.postgres.id),
            [emu.databaseId],
        );
        expectStatus(await call(emu, "GET", "/postgres", "/postgres?region=mars"), 400, "an unknown region");
        expectStatus(await call(emu, "GET", "/postgres", "/postgres?includeReplicas=maybe"), 400, "not a boolean");

        const keyValue = await call(emu, "GET", "/key-value", "/key-value");
        expectStatus(keyValue, 200, "key value");
        assert.deepEqual(keyValue.json, [], "the account has no Key Value instances");
        expectStatus(await call(emu, "GET", "/key-value", "/key-value?limit=1000"), 400, "limit 1000");
    });

    it("answers 401 with Render's error body on every route without the right bearer token", async () => {
        for (const { method, route } of ROUTES) {
            expectStatus(
                await call(emu, method, route, pathOf(route), { auth: null }),
                401,
                `${method} ${route} without a token`,
            );
            expectStatus(
                await call(emu, method, route, pathOf(route), { auth: "Bearer rnd_wrong" }),
                401,
                `${method} ${route} with a wrong key`,
            );
        }
    });

    it("answers injected 429, 500 and 503 faults on every route with the spec's error body", async () => {
        for (const { method, route } of ROUTES) {
            for (const status of [429, 500, 503]) {
                emu.inject({ method, path: route, status, retryAfterSeconds: 1 });
                expectStatus(
                    await call(emu, method, route, pathOf(route)),
                    status,
                    `${method} ${route} with an injected ${status}`,
                );
            }
        }
    });

    it("answers an unknown path 404 with Render's error body", async () => {
        const reply = await call(emu, "GET", "(unknown)", "/blueprints-that-do-not-exist");
        expectStatus(reply, 404, "unknown path");
    });

    it("answers 429 with the error body once a rate-limit bucket is spent", async () => {
        const limited = await startEmulator({ stepMs: 20 });
        try {
            const id = limited.serviceId;
            const buckets: [string, string, string, number, unknown][] = [
                ["PATCH", "/services/{serviceId}", `/services/${id}`, 10, { autoDeploy: "yes" }],
                [
                    "PUT",
                    "/services/{serviceId}/env-vars/{envVarKey}",
                    `/services/${id}/env-vars/X`,
                    100,
                    { value: "1" },
                ],
                ["GET", "/services/{serviceId}", `/services/${id}`, 400, undefined],
            ];
            for (const [method, route, path, limit, body] of buckets) {
                for (let i = 0; i < limit; i++)
                    expectStatus(
                        await call(limited, method, route, path, { body }),
                        200,
                        `${method} ${route} #${i + 1}`,
                    );
                expectStatus(
                    await call(limited, method, route, path, { body }),
                    429,
                    `${method} ${route} over ${limit}`,
                );
            }
        } finally {
            await limited.close();
        }
    });

    it("has covered every answer the emulator can give", () => {
        const expected = Object.entries(REPERTOIRE).flatMap(([kind, statuses]) =>
            [...statuses, ...EVERY_ROUTE_CAN_ANSWER].map((status) => `${kind} ${status}`),
        );
        const missing = expected.filter((kind) => !seen.has(kind));
        assert.deepEqual(missing, [], `answers never checked against the spec:\n${missing.join("\n")}`);
    });
});
