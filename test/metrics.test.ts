// The watch's metrics: Render's figures for the watch window, read through the client, judged by the Verification
// provider in the dynamic-provider host against the emulator, its stand-in app's real traffic and a real PostgreSQL.
import { strict as assert } from "node:assert";
import * as http from "node:http";
import { startEmulator, type Emulator } from "../emulator";
import { closeServer, listenLocal } from "../emulator/http";
import { RenderClient } from "../lib/render/client";
import { RENDER_API_KEY_CONFIG } from "../components/render/providerSupport";
import { verificationFromConfig, verificationPlan, verificationProvider } from "../components/verification";
import { RUNBOOK_THRESHOLDS } from "../components/verification/metricsVerdict";
import { parseStackConfig, StackConfigError } from "../stacks/config";
import { startPostgres, type PostgresServer } from "./support/postgres";
import {
    dynamicUrn,
    PROVIDER_KEY,
    type Props,
    type ProviderHost,
    secretWire,
    startProviderHost,
    upResource,
} from "./support/providerHost";
import { runProgram } from "./support/program";
import { waitFor } from "./support/wait";

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const SERVICE_URL = "https://ahoy-indie-media.onrender.com";
const A_DATABASE = "dpg-cr9q1q3v2p9s73b0ug4g-a";

/** Requests to `url` from `concurrency` loops until stopped; stopping waits for the requests in flight. */
function drive(
    url: string,
    { method = "GET", concurrency = 2 }: { method?: string; concurrency?: number } = {},
): () => Promise<number> {
    let stopped = false;
    let sent = 0;
    const loops = Array.from({ length: concurrency }, async () => {
        while (!stopped) {
            try {
                const body = method === "POST" ? "{}" : undefined;
                await (await fetch(url, { method, body })).arrayBuffer();
                sent++;
            } catch {
                // The app may be closing; the loop ends with the test.
            }
            await new Promise((resolve) => setTimeout(resolve, 5));
        }
    });
    return async () => {
        stopped = true;
        await Promise.all(loops);
        return sent;
    };
}

/** `props` less `keys`. */
function without(props: Props, ...keys: string[]): Props {
    return Object.fromEntries(Object.entries(props).filter(([key]) => !keys.includes(key)));
}

describe("the watch reads Render's metrics and fails at the runbook's thresholds", function () {
    this.timeout(60_000);
    let emulator: Emulator;
    let host: ProviderHost;
    let postgres: PostgresServer;
    let maxConnections: number;
    const urn = dynamicUrn("verify:Verification", "ahoy-verify");

    before(async () => {
        emulator = await startEmulator({ stepMs: 20 });
        postgres = await startPostgres();
        const admin = await postgres.connect();
        maxConnections = Number((await admin.query("SHOW max_connections")).rows[0].max_connections);
        await admin.end();
        host = await startProviderHost({ AHOY_RENDER_RETRY_BASE_MS: "10" });
        await host.configure({
            [RENDER_API_KEY_CONFIG]: secretWire(emulator.apiKey),
            "postgresql:host": postgres.host,
            "postgresql:port": String(postgres.port),
            "postgresql:username": postgres.superuser,
            "postgresql:sslmode": "disable",
        });
    });

    after(async () => {
        await host?.close();
        await postgres?.stop();
        await emulator?.close();
    });

    beforeEach(() => {
        // A healthy service: a fifth of its memory, no disk, a dozen connections, an app that behaves.
        emulator.misbehave(undefined);
        emulator.metrics.set({
            memory: { usedBytes: 110 * MiB, limitBytes: 512 * MiB },
            disk: null,
            activeConnections: 12,
        });
    });

    /** The Verification's inputs as the program declares them, watching for `seconds`. */
    function inputs(
        seconds = 2,
        settings: { disableSignup?: boolean; databaseId?: string | null; databaseManaged?: boolean } = {},
    ): Props {
        const plan = verificationPlan({
            disableSignup: settings.disableSignup ?? false,
            blockDirectMedia: false,
            stabilityWindowSeconds: seconds,
            databaseId: settings.databaseId === null ? undefined : (settings.databaseId ?? emulator.databaseId),
            databaseManaged: settings.databaseManaged ?? true,
        });
        return {
            [PROVIDER_KEY]: verificationProvider.source,
            serviceUrl: emulator.appUrl,
            deployId: emulator.liveDeploy()?.id,
            ...plan,
            checkTimeoutSeconds: 5,
            // By name, as Pulumi.prod.yaml gives it: the provider looks the srv- id up.
            service: "ahoy-indie-media",
            apiUrl: emulator.baseUrl,
        };
    }

    /** Runs the verification while `traffic` (if any) drives the stand-in app; the error message if it failed. */
    async function verify(
        props: Props,
        traffic?: () => () => Promise<number>,
    ): Promise<{ outputs?: Props; error?: string }> {
        const stop = traffic?.();
        try {
            const { state } = await upResource(host, urn, props);
            return { outputs: state.outputs };
        } catch (err) {
            return { error: (err as Error).message };
        } finally {
            await stop?.();
        }
    }

    /** The failure, which must be the metrics' alone: the /healthz checks and watch passed. */
    function metricsFailure(result: { outputs?: Props; error?: string }): string {
        assert.ok(
            result.error,
            `expected the verification to fail; it passed with ${JSON.stringify(result.outputs?.metrics)}`,
        );
        assert.match(result.error, /^verify: after deploy dep-\w+, http:\/\/127\.0\.0\.1:\d+ failed a check/);
        assert.doesNotMatch(result.error, /- (healthz|watch \()/, "only the metrics failed");
        return result.error;
    }

    it("none crossed passes and reports each figure, from one request per metric", async () => {
        emulator.clearRequests();
        const { outputs, error } = await verify(inputs());
        assert.equal(error, undefined);
        assert.ok(outputs);
        const metrics = outputs.metrics as string[];
        assert.equal(metrics.length, 5, metrics.join("\n"));
        assert.match(metrics[0], /^response time: p95 \d+ ms, within 2 s$/);
        assert.match(metrics[1], /^error rate: 0\.0% 5xx \(0 of \d+ requests\), within 5%$/);
        assert.equal(
            metrics[2],
            `database connections: 12 of max_connections ${maxConnections} (${((12 / maxConnections) * 100).toFixed(1)}%), within 80%`,
        );
        assert.equal(metrics[3], "memory: 21.5% of the 512 MB limit, within 90%");
        assert.equal(metrics[4], "disk: not applicable (the service has no persistent disk)");
        const results = outputs.results as string[];
        assert.match(
            results[results.length - 1],
            /^metrics: Render's figures for srv-\w+ over the \d\.\d s watched: response time: p95/,
        );
        assert.equal(
            results[results.length - 1].split("; ").length,
            5,
            "the status update's line carries every figure",
        );

        const asked = emulator.requests().filter((r) => r.path.startsWith("/metrics/"));
        assert.deepEqual(
            asked.map((r) => r.path).sort(),
            [
                "/metrics/active-connections",
                "/metrics/disk-capacity",
                "/metrics/disk-usage",
                "/metrics/http-latency",
                "/metrics/http-requests",
                "/metrics/memory",
                "/metrics/memory-limit",
            ],
            "each metric is asked once per watch, not once per second",
        );
        const latency = asked.find((r) => r.path === "/metrics/http-latency");
        assert.deepEqual(Object.keys(latency?.query ?? {}).sort(), [
            "endTime",
            "quantile",
            "resolutionSeconds",
            "resource",
            "startTime",
        ]);
        assert.equal(latency?.query.quantile, "0.95");
        assert.equal(asked.find((r) => r.path === "/metrics/http-requests")?.query.aggregateBy, "statusCode");
        assert.equal(asked.find((r) => r.path === "/metrics/active-connections")?.query.resource, emulator.databaseId);
    });

    it("responses over 2 s at p95 fail the watch, naming the metric and the figure, while /healthz stays fast", async () => {
        emulator.misbehave({ pathPrefix: "/media/", delayMs: 2_200 });
        const error = metricsFailure(
            await verify(inputs(3), () => drive(`${emulator.appUrl}/media/cover.jpg`, { concurrency: 6 })),
        );
        assert.match(error, /- metrics \(3 s\): response time: p95 2\d{3} ms, over 2 s$/m);
    });

    it("more than 5% of answers 5xx fails the watch, naming the error rate and its count", async () => {
        emulator.misbehave({ pathPrefix: "/media/", share: 0.5, status: 500 });
        const error = metricsFailure(await verify(inputs(), () => drive(`${emulator.appUrl}/media/cover.jpg`)));
        assert.match(error, /- metrics \(2 s\): error rate: \d+\.\d% 5xx \(\d+ of \d+ requests\), over 5%$/m);
    });

    it("memory over 90% of the limit fails the watch, naming the figure and the limit", async () => {
        emulator.metrics.set({ memory: { usedBytes: Math.round(0.931 * 512 * MiB), limitBytes: 512 * MiB } });
        const error = metricsFailure(await verify(inputs()));
        assert.match(error, /- metrics \(2 s\): memory: 93\.1% of the 512 MB limit, over 90%$/m);
    });

    it("a disk filling past 80% fails the watch, naming what is free and what is used", async () => {
        emulator.metrics.set({ disk: { usedBytes: 8.8 * GiB, capacityBytes: 10 * GiB } });
        const error = metricsFailure(await verify(inputs()));
        assert.match(error, /- metrics \(2 s\): disk: 12\.0% free \(8\.8 GB of 10 GB used\), under 20%$/m);
    });

    it("a disk with room passes, with its figure instead of not applicable", async () => {
        emulator.metrics.set({ disk: { usedBytes: 4 * GiB, capacityBytes: 10 * GiB } });
        const { outputs, error } = await verify(inputs());
        assert.equal(error, undefined);
        assert.ok((outputs?.metrics as string[]).includes("disk: 60.0% free (4 GB of 10 GB used), at least 20%"));
    });

    it("connections near max_connections (read from the database) fail the watch, naming both", async () => {
        const active = Math.ceil(maxConnections * 0.85);
        emulator.metrics.set({ activeConnections: active });
        const error = metricsFailure(await verify(inputs()));
        const share = ((active / maxConnections) * 100).toFixed(1);
        assert.ok(
            error.includes(
                `- metrics (2 s): database connections: ${active} of max_connections ${maxConnections} (${share}%), over 80%`,
            ),
            error,
        );
    });

    it("without a databaseId, or a database the stack does not manage, connections are not applicable and pass", async () => {
        emulator.metrics.set({ activeConnections: maxConnections });
        const none = await verify(inputs(2, { databaseId: null }));
        assert.equal(none.error, undefined);
        assert.ok((none.outputs?.metrics as string[]).includes("database connections: not applicable (no databaseId)"));
        const unmanaged = await verify(inputs(2, { databaseManaged: false }));
        assert.equal(unmanaged.error, undefined);
        assert.match(
            (unmanaged.outputs?.metrics as string[])[2],
            new RegExp(
                `^database connections: not applicable \\(${maxConnections} active; max_connections unknown: Render's API does not give it`,
            ),
        );
    });

    it("Render failing to answer a metric fails the watch, saying which request and why", async () => {
        // The client's first try and its six retries.
        emulator.inject({ path: "/metrics/memory", status: 500, count: 7 });
        const error = metricsFailure(await verify(inputs()));
        assert.match(
            error,
            /- metrics \(2 s\): could not read Render's metrics for the window: GET \/metrics\/memory: 500 .*gave up after 7 attempts/,
        );
    });

    it("check refuses a service without apiUrl, and a databaseId that is not a Postgres id", async () => {
        const missing = await host.check(urn, {}, without(inputs(), "apiUrl"));
        assert.deepEqual(
            missing.failures.map((f) => f.property),
            ["apiUrl"],
        );
        const bad = inputs(2, { databaseId: "postgres-main" });
        const checked = await host.check(urn, {}, bad);
        assert.match(
            checked.failures.map((f) => f.reason).join("\n"),
            /databaseId must be a Render Postgres id .*got "postgres-main"/,
        );
    });

    it("a state verified before the watch read metrics is not verified again for them; a changed database is", async () => {
        const news = inputs();
        const before = without(news, "service", "apiUrl", "renderMetrics");
        const olds = { ...before, results: ["seen"], verifiedAt: "2025-06-01T00:00:00Z" };
        assert.equal((await host.diff("v", urn, olds, news)).changes, "none");
        const recorded = { ...news, results: ["seen"], metrics: [], verifiedAt: "2025-06-01T00:00:00Z" };
        assert.equal((await host.diff("v", urn, recorded, news)).changes, "none");
        assert.equal((await host.diff("v", urn, recorded, inputs(2, { databaseId: A_DATABASE }))).changes, "some");
    });

    it("register's 503 while DISABLE_SIGNUP is on is left out of the error rate, and the line says so", async () => {
        emulator.setEnvVar("DISABLE_SIGNUP", "true");
        const deploy = emulator.dashboardDeploy();
        await waitFor("the signup switch to go live", () => emulator.liveDeploy()?.id === deploy.id);
        try {
            const { outputs, error } = await verify(inputs(2, { disableSignup: true }), () =>
                drive(`${emulator.appUrl}/api/auth/register`, { method: "POST" }),
            );
            assert.equal(error, undefined);
            assert.match(
                (outputs?.metrics as string[])[1],
                /^error rate: 0\.0% 5xx \(0 of \d+ requests; \d+ x 503 from \/api\/auth\/register left out: DISABLE_SIGNUP=true refuses signups with 503\), within 5%$/,
            );
        } finally {
            emulator.setEnvVar("DISABLE_SIGNUP", "false");
            const back = emulator.dashboardDeploy();
            await waitFor("signups to open again", () => emulator.liveDeploy()?.id === back.id);
        }
    });
});

describe("the Render client's metric methods", function () {
    let emulator: Emulator;
    let client: RenderClient;

    before(async () => {
        emulator = await startEmulator({ stepMs: 20 });
        client = new RenderClient({ apiKey: emulator.apiKey, baseUrl: emulator.baseUrl, retryBaseMs: 1 });
    });

    after(async () => {
        await emulator?.close();
    });

    it("send exactly the spec's query parameters and read the time series back", async () => {
        const startTime = new Date(Date.now() - 60_000).toISOString();
        await (await fetch(`${emulator.appUrl}/healthz`)).arrayBuffer();
        const endTime = new Date(Date.now() + 1_000).toISOString();
        const range = { resource: emulator.serviceId, startTime, endTime, resolutionSeconds: 30 };
        const latency = await client.getHttpLatency({ ...range, quantile: 0.95, path: "/healthz" });
        assert.deepEqual(emulator.requests().at(-1)?.query, {
            resource: emulator.serviceId,
            startTime,
            endTime,
            resolutionSeconds: "30",
            path: "/healthz",
            quantile: "0.95",
        });
        assert.equal(latency.length, 1);
        assert.equal(latency[0].unit, "ms");
        assert.deepEqual(latency[0].labels, [
            { field: "resource", value: emulator.serviceId },
            { field: "quantile", value: "0.95" },
        ]);
        const byStatus = await client.getHttpRequests({ ...range, aggregateBy: "statusCode" });
        assert.deepEqual(
            byStatus.map((s) => [
                s.labels.find((l) => l.field === "statusCode")?.value,
                s.values.reduce((n, p) => n + p.value, 0),
            ]),
            [["200", 1]],
        );
        assert.equal((await client.getMemoryLimit(range))[0].values.at(-1)?.value, 512 * MiB);
        assert.deepEqual(await client.getDiskUsage(range), [], "the seeded service has no disk");
        const connections = await client.getActiveConnections({ ...range, resource: emulator.databaseId });
        assert.equal(connections[0].unit, "connections");
    });

    it("refuse a resolution under Render's 30 s minimum without sending it", async () => {
        emulator.clearRequests();
        await assert.rejects(
            client.getMemory({ resource: emulator.serviceId, resolutionSeconds: 10 }),
            /GET \/metrics\/memory: resolutionSeconds must be at least 30, got 10/,
        );
        assert.equal(emulator.requests().length, 0);
    });

    it("fail on an answer that is not a list of time series, naming the endpoint and where it differs", async () => {
        const server = http.createServer((_req, res) => {
            res.writeHead(200, { "Content-Type": "application/json" });
            res.end(JSON.stringify([{ labels: [], values: [{ timestamp: "yesterday", value: "1" }], unit: "ms" }]));
        });
        const port = await listenLocal(server, 0);
        try {
            const odd = new RenderClient({ apiKey: "k", baseUrl: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
            await assert.rejects(
                odd.getHttpLatency({ resource: "srv-x", quantile: 0.95 }),
                /GET \/metrics\/http-latency: 200 answer is not a list of metrics time series as Render's API describes it: 0\.values\.0\.timestamp: not a date-time; 0\.values\.0\.value: /,
            );
        } finally {
            await closeServer(server);
        }
    });
});

describe("databaseId, from the stack config to the Verification", () => {
    it("takes a Render Postgres id, with or without the -a Render shows, and refuses anything else by name", () => {
        for (const id of [A_DATABASE, "dpg-cr9q1q3v2p9s73b0ug4g"]) {
            assert.equal(parseStackConfig({ serviceUrl: SERVICE_URL, databaseId: id }).databaseId, id);
        }
        for (const id of ["dpg-123", "srv-cr9q1q3v2p9s73b0ug4g", "dpg-CR9Q1Q3V2P9S73B0UG4G-a"]) {
            assert.throws(
                () => parseStackConfig({ serviceUrl: SERVICE_URL, databaseId: id }),
                (err: Error) =>
                    err instanceof StackConfigError &&
                    /- databaseId: .*expected a Render Postgres id/.test(err.message),
            );
        }
    });

    it("asks the database for max_connections only when the stack manages it (databaseAppHost set)", () => {
        const plan = (values: Record<string, string>) =>
            verificationFromConfig(parseStackConfig({ serviceUrl: SERVICE_URL, ...values }))?.plan.renderMetrics;
        assert.deepEqual(plan({ databaseId: A_DATABASE, databaseAppHost: A_DATABASE }), {
            databaseId: A_DATABASE,
            askMaxConnections: true,
            expected5xx: [],
            thresholds: RUNBOOK_THRESHOLDS,
        });
        assert.equal(plan({ databaseId: A_DATABASE })?.askMaxConnections, false);
        assert.deepEqual(plan({}), { askMaxConnections: false, expected5xx: [], thresholds: RUNBOOK_THRESHOLDS });
        assert.deepEqual(plan({ DISABLE_SIGNUP: "true" })?.expected5xx, [
            { path: "/api/auth/register", status: 503, because: "DISABLE_SIGNUP=true refuses signups with 503" },
        ]);
    });

    it("the program gives the Verification the service, the API URL and the metrics plan", async () => {
        const run = await runProgram({ databaseId: A_DATABASE });
        const [verification] = run.ofType("pulumi-nodejs:dynamic/verify:Verification");
        assert.equal(verification.inputs.service, "ahoy-indie-media");
        assert.equal(verification.inputs.apiUrl, "https://api.render.com/v1");
        assert.deepEqual(verification.inputs.renderMetrics, {
            databaseId: A_DATABASE,
            askMaxConnections: false,
            expected5xx: [],
            thresholds: RUNBOOK_THRESHOLDS,
        });
    });
});
