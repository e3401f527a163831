// The watch's metrics: Render's figures for the watch's window, read through the client and judged by `npm run watch`'s
// runner against the emulator and its stand-in app's real traffic; max_connections read by the up's Verification in the
// dynamic-provider host from a real PostgreSQL.
import { strict as assert } from "node:assert";
import * as http from "node:http";
import { startEmulator, type Emulator } from "../emulator";
import { closeServer, listenLocal } from "../emulator/http";
import { RenderClient } from "../lib/render/client";
import { RENDER_API_KEY_CONFIG } from "../components/render/providerSupport";
import {
    verificationFromConfig,
    verificationPlan,
    verificationProvider,
    type WatchTarget,
    watchTarget,
} from "../components/verification";
import { type MaxConnections, RUNBOOK_THRESHOLDS } from "../components/verification/metricsVerdict";
import { metricsSource } from "../components/verification/metricsWatch";
import { runWatch } from "../components/verification/watchRunner";
import { WATCH_EXIT, watchOutcome } from "../components/verification/watchVerdict";
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

describe("the watch reads Render's metrics for its window and fails at the runbook's thresholds", function () {
    this.timeout(60_000);
    let emulator: Emulator;
    let client: RenderClient;
    let host: ProviderHost;
    let postgres: PostgresServer;
    let maxConnections: number;
    const urn = dynamicUrn("verify:Verification", "ahoy-verify");

    before(async () => {
        emulator = await startEmulator({ stepMs: 20 });
        client = new RenderClient({ apiKey: emulator.apiKey, baseUrl: emulator.baseUrl, retryBaseMs: 10 });
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

    type Settings = { disableSignup?: boolean; databaseId?: string | null; maxConnections?: MaxConnections };

    /** What the stack would export after an up of the live deploy, its window starting now and lasting `seconds`. */
    function target(seconds = 2, settings: Settings = {}): WatchTarget {
        const plan = verificationPlan({
            disableSignup: settings.disableSignup ?? false,
            blockDirectMedia: false,
            stabilityWindowSeconds: seconds,
            databaseId: settings.databaseId === null ? undefined : (settings.databaseId ?? emulator.databaseId),
            databaseManaged: true,
        });
        const now = new Date().toISOString();
        return watchTarget({
            service: "ahoy-indie-media",
            serviceId: emulator.serviceId,
            apiUrl: emulator.baseUrl,
            serviceUrl: emulator.appUrl,
            plan,
            deployId: emulator.liveDeploy()!.id,
            liveAt: now,
            verifiedAt: now,
            verifiedAfterSeconds: 0,
            maxConnections: settings.databaseId === null ? undefined : (settings.maxConnections ?? maxConnections),
        });
    }

    /** Watches `target` (while `traffic`, if any, drives the stand-in app); its metrics figures and its outcome. */
    async function watchOf(t: WatchTarget, traffic?: () => () => Promise<number>, lagGraceMs = 300) {
        const stop = traffic?.();
        try {
            const report = await runWatch({
                target: t,
                render: client,
                sources: [
                    metricsSource(
                        client,
                        {
                            serviceId: t.serviceId,
                            databaseId: t.metrics.databaseId,
                            maxConnections: t.metrics.maxConnections,
                            expected5xx: t.metrics.expected5xx,
                        },
                        Date.parse(t.liveAt),
                    ),
                ],
                log: () => undefined,
                timing: { sampleMs: 200, pollMs: 500, lagGraceMs, lagPollMs: 100 },
            });
            const metrics = report.sources.find((v) => v.source === "metrics")!.figures;
            return { report, metrics, lines: metrics.map((f) => f.line), outcome: watchOutcome(report) };
        } finally {
            await stop?.();
        }
    }

    /** The failures, which must be the metrics' alone: /healthz stayed healthy. */
    function metricsFailures(result: Awaited<ReturnType<typeof watchOf>>): string {
        assert.equal(
            result.outcome.exitCode,
            WATCH_EXIT.crossed,
            `expected the watch to fail: ${result.outcome.summary}`,
        );
        assert.ok(
            result.outcome.failures.every((f) => f.startsWith("metric: ")),
            `only the metrics failed: ${result.outcome.failures.join("\n")}`,
        );
        return result.outcome.failures.join("\n");
    }

    it("none crossed passes and reports each figure over the whole window, from one request per metric", async () => {
        emulator.clearRequests();
        const t = target();
        const { lines, outcome } = await watchOf(t);
        assert.equal(outcome.exitCode, WATCH_EXIT.clean, outcome.summary);
        assert.equal(lines.length, 5, lines.join("\n"));
        assert.match(lines[0], /^response time: p95 \d+ ms, within 2 s$/);
        assert.match(lines[1], /^error rate: 0\.0% 5xx \(0 of \d+ requests\), within 5%$/);
        assert.equal(
            lines[2],
            `database connections: 12 of max_connections ${maxConnections} (${((12 / maxConnections) * 100).toFixed(1)}%), within 80%`,
        );
        assert.equal(lines[3], "memory: 21.5% of the 512 MB limit, within 90%");
        assert.equal(lines[4], "disk: not applicable (the service has no persistent disk)");
        assert.match(
            outcome.summary,
            /^watch of deploy dep-\w+: clean: nothing crossed in its 2 s window \(health: 1 ok; metrics: 4 ok, 1 not applicable\)$/,
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
        assert.equal(latency?.query.startTime, t.liveAt, "the window counts from when the deploy went live");
        assert.equal(asked.find((r) => r.path === "/metrics/http-requests")?.query.aggregateBy, "statusCode");
        assert.equal(asked.find((r) => r.path === "/metrics/active-connections")?.query.resource, emulator.databaseId);
    });

    it("responses over 2 s at p95 fail the watch, naming the metric, the figure and the span, while /healthz stays fast", async () => {
        emulator.misbehave({ pathPrefix: "/media/", delayMs: 2_200 });
        const failures = metricsFailures(
            await watchOf(target(3), () => drive(`${emulator.appUrl}/media/cover.jpg`, { concurrency: 6 })),
        );
        assert.match(
            failures,
            /^metric: response time: p95 2\d{3} ms, over 2 s \(Render's figures for \+0\.0 s to \+3\.\d s\)$/m,
        );
    });

    it("more than 5% of answers 5xx fails the watch, naming the error rate and its count", async () => {
        emulator.misbehave({ pathPrefix: "/media/", share: 0.5, status: 500 });
        const failures = metricsFailures(await watchOf(target(), () => drive(`${emulator.appUrl}/media/cover.jpg`)));
        assert.match(
            failures,
            /^metric: error rate: \d+\.\d% 5xx \(\d+ of \d+ requests\), over 5% \(Render's figures/m,
        );
    });

    it("memory over 90% of the limit fails the watch, naming the figure and the limit", async () => {
        emulator.metrics.set({ memory: { usedBytes: Math.round(0.931 * 512 * MiB), limitBytes: 512 * MiB } });
        const failures = metricsFailures(await watchOf(target()));
        assert.match(failures, /^metric: memory: 93\.1% of the 512 MB limit, over 90% \(/m);
    });

    it("a disk filling past 80% fails the watch, naming what is free and what is used", async () => {
        emulator.metrics.set({ disk: { usedBytes: 8.8 * GiB, capacityBytes: 10 * GiB } });
        const failures = metricsFailures(await watchOf(target()));
        assert.match(failures, /^metric: disk: 12\.0% free \(8\.8 GB of 10 GB used\), under 20% \(/m);
    });

    it("a disk with room passes, with its figure instead of not applicable", async () => {
        emulator.metrics.set({ disk: { usedBytes: 4 * GiB, capacityBytes: 10 * GiB } });
        const { lines, outcome } = await watchOf(target());
        assert.equal(outcome.exitCode, WATCH_EXIT.clean, outcome.summary);
        assert.ok(lines.includes("disk: 60.0% free (4 GB of 10 GB used), at least 20%"));
    });

    it("connections near max_connections (as the up read it from the database) fail the watch, naming both", async () => {
        const active = Math.ceil(maxConnections * 0.85);
        emulator.metrics.set({ activeConnections: active });
        const failures = metricsFailures(await watchOf(target()));
        const share = ((active / maxConnections) * 100).toFixed(1);
        assert.ok(
            failures.includes(
                `metric: database connections: ${active} of max_connections ${maxConnections} (${share}%), over 80%`,
            ),
            failures,
        );
    });

    it("without a databaseId, or a database the stack does not manage, connections are not applicable and pass", async () => {
        emulator.metrics.set({ activeConnections: maxConnections });
        const none = await watchOf(target(2, { databaseId: null }));
        assert.equal(none.outcome.exitCode, WATCH_EXIT.clean, none.outcome.summary);
        assert.ok(none.lines.includes("database connections: not applicable (no databaseId)"));
        const unmanaged = await watchOf(
            target(2, { maxConnections: { notApplicable: "Render's API does not give it" } }),
        );
        assert.equal(unmanaged.outcome.exitCode, WATCH_EXIT.clean, unmanaged.outcome.summary);
        assert.equal(
            unmanaged.lines[2],
            `database connections: not applicable (${maxConnections} active; max_connections unknown: Render's API does not give it)`,
        );
    });

    it("Render failing to answer a metric: could not be judged, saying which request and why; not a pass (exit 3)", async () => {
        // The client's first try and its six retries; no grace to read again (the runner's own tests wait).
        emulator.inject({ path: "/metrics/memory", status: 500, count: 7 });
        const { metrics, outcome } = await watchOf(target(), undefined, 0);
        assert.equal(outcome.exitCode, WATCH_EXIT.incomplete, outcome.summary);
        assert.equal(metrics[0].status, "could not be judged");
        assert.match(
            metrics[0].line,
            /^Render's metrics: could not be read: GET \/metrics\/memory: 500 .*gave up after 7 attempts/,
        );
        assert.match(outcome.summary, /but 1 figure could not be judged \(Render's metrics\)/);
    });

    it("register's 503 while DISABLE_SIGNUP is on is left out of the error rate, and the line says so", async () => {
        emulator.setEnvVar("DISABLE_SIGNUP", "true");
        const deploy = emulator.dashboardDeploy();
        await waitFor("the signup switch to go live", () => emulator.liveDeploy()?.id === deploy.id);
        try {
            const { lines, outcome } = await watchOf(target(2, { disableSignup: true }), () =>
                drive(`${emulator.appUrl}/api/auth/register`, { method: "POST" }),
            );
            assert.equal(outcome.exitCode, WATCH_EXIT.clean, outcome.summary);
            assert.match(
                lines[1],
                /^error rate: 0\.0% 5xx \(0 of \d+ requests; \d+ x 503 from \/api\/auth\/register left out: DISABLE_SIGNUP=true refuses signups with 503\), within 5%$/,
            );
        } finally {
            emulator.setEnvVar("DISABLE_SIGNUP", "false");
            const back = emulator.dashboardDeploy();
            await waitFor("signups to open again", () => emulator.liveDeploy()?.id === back.id);
        }
    });

    describe("max_connections, read by the up's Verification where the admin connection is", () => {
        /** The Verification's inputs as the program declares them, for the live deploy. */
        function inputs(settings: { databaseId?: string | null; databaseManaged?: boolean } = {}): Props {
            const plan = verificationPlan({
                disableSignup: false,
                blockDirectMedia: false,
                stabilityWindowSeconds: 300,
                databaseId: settings.databaseId === null ? undefined : (settings.databaseId ?? emulator.databaseId),
                databaseManaged: settings.databaseManaged ?? true,
            });
            return {
                [PROVIDER_KEY]: verificationProvider.source,
                serviceUrl: emulator.appUrl,
                deployId: emulator.liveDeploy()?.id,
                ...plan,
                settleSeconds: 0.5,
                checkTimeoutSeconds: 5,
                // By name, as Pulumi.prod.yaml gives it.
                service: "ahoy-indie-media",
                apiUrl: emulator.baseUrl,
            };
        }

        it("SHOW max_connections when the stack manages the database; not applicable when it does not; none without databaseId", async () => {
            const managed = await upResource(host, urn, inputs());
            assert.equal(managed.state.outputs.maxConnections, maxConnections);
            const unmanaged = await upResource(host, urn, inputs({ databaseManaged: false }));
            assert.match(
                String((unmanaged.state.outputs.maxConnections as { notApplicable?: string }).notApplicable),
                /^Render's API does not give it and the stack does not manage the database/,
            );
            const none = await upResource(host, urn, inputs({ databaseId: null }));
            assert.equal(none.state.outputs.maxConnections, undefined);
        });

        it("check refuses a service without apiUrl, and a databaseId that is not a Postgres id", async () => {
            const missing = await host.check(urn, {}, without(inputs(), "apiUrl"));
            assert.deepEqual(
                missing.failures.map((f) => f.property),
                ["apiUrl"],
            );
            const checked = await host.check(urn, {}, inputs({ databaseId: "postgres-main" }));
            assert.match(
                checked.failures.map((f) => f.reason).join("\n"),
                /databaseId must be a Render Postgres id .*got "postgres-main"/,
            );
        });

        it("a state verified before the settle or the metrics plan is not verified again for them; a changed database is", async () => {
            const news = inputs();
            const before = without(news, "service", "apiUrl", "renderMetrics", "settleSeconds");
            const olds = { ...before, results: ["seen"], verifiedAt: "2025-06-01T00:00:00Z" };
            assert.equal((await host.diff("v", urn, olds, news)).changes, "none");
            const recorded = { ...news, results: ["seen"], verifiedAt: "2025-06-01T00:00:00Z" };
            assert.equal((await host.diff("v", urn, recorded, news)).changes, "none");
            assert.equal((await host.diff("v", urn, recorded, inputs({ databaseId: A_DATABASE }))).changes, "some");
            assert.equal(
                (await host.diff("v", urn, recorded, { ...news, stack: "renamed" })).changes,
                "none",
                "the stack's name only names a command in a log line",
            );
        });
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
