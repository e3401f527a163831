// Verification: the checks the settings call for, the watch's judgement, and the checks run against a local app.
import { strict as assert } from "node:assert";
import * as http from "node:http";
import {
    HttpCheck,
    MAX_ERROR_RATE,
    MAX_RESPONSE_MS,
    Sample,
    SETTLE_SECONDS,
    VerificationInputs,
    Watch,
    judgeWindow,
    verificationPlan,
    verificationProvider,
    windowLost,
} from "../components/verification";
import { runCheck, runVerification, verifyDeploy } from "../components/verification/provider";
import { closeServer, listenLocal } from "../emulator/http";
import { dynamicUrn, PROVIDER_KEY, type ProviderHost, startProviderHost } from "./support/providerHost";

const watch = (seconds = 1): Watch => ({
    path: "/healthz",
    seconds,
    maxErrorRate: MAX_ERROR_RATE,
    maxResponseMs: MAX_RESPONSE_MS,
});
const fast = (n: number, status = 200): Sample[] =>
    Array.from({ length: n }, (_, i) => ({ at: i * 1000, status, ms: 40 }));

/** How the stand-in app answers one request: a status, after a delay. */
type Answer = { status: number; delayMs?: number };
type Handler = (method: string, path: string, count: number) => Answer;

/** The app as the runbook expects it after a kill-switch flip: healthy, signup refused, direct media refused. */
const mitigated: Handler = (method, path) => {
    if (path === "/healthz") return { status: 200 };
    if (method === "POST" && path === "/api/auth/register") return { status: 503 };
    if (path === "/media/probe.jpg") return { status: 403 };
    return { status: 404 };
};

describe("verificationPlan", () => {
    it("always checks /healthz and settles a few seconds in the up; the window it plans is the watch's", () => {
        const plan = verificationPlan({ disableSignup: false, blockDirectMedia: false, stabilityWindowSeconds: 300 });
        assert.deepEqual(
            plan.checks.map((c) => `${c.method} ${c.path} ${c.expectStatus}`),
            ["GET /healthz 200"],
        );
        assert.equal(plan.settleSeconds, SETTLE_SECONDS);
        assert.ok(SETTLE_SECONDS <= 3, "the settle keeps the up (and the stack's lock) short");
        assert.deepEqual(plan.watch, { path: "/healthz", seconds: 300, maxErrorRate: 0.05, maxResponseMs: 2000 });
    });

    it("with DISABLE_SIGNUP checks that register answers 503, and with BLOCK_DIRECT_MEDIA that the probe path answers 403", () => {
        const plan = verificationPlan({
            disableSignup: true,
            blockDirectMedia: true,
            mediaProbePath: "/media/probe.jpg",
            stabilityWindowSeconds: 300,
        });
        assert.deepEqual(
            plan.checks.map((c) => `${c.method} ${c.path} ${c.expectStatus}`),
            ["GET /healthz 200", "POST /api/auth/register 503", "GET /media/probe.jpg 403"],
        );
    });

    it("with BLOCK_DIRECT_MEDIA but no mediaProbePath fails naming the missing setting", () => {
        assert.throws(
            () => verificationPlan({ disableSignup: false, blockDirectMedia: true, stabilityWindowSeconds: 300 }),
            /^Error: mediaProbePath: BLOCK_DIRECT_MEDIA is on, .*must answer 403.*got nothing/,
        );
    });
});

describe("judgeWindow", () => {
    it("passes a window of fast 200s and says what it saw", () => {
        const verdict = judgeWindow(fast(300), watch(300));
        assert.equal(verdict.ok, true);
        assert.equal(verdict.summary, "300 requests, 0 errors (0.0%), slowest 40 ms");
        assert.deepEqual(verdict.failures, []);
    });

    it("passes exactly 5% errors: the runbook alerts above 5%, not at it", () => {
        const samples = [...fast(19), { at: 19_000, status: 500, ms: 40 }];
        assert.equal(judgeWindow(samples, watch(20)).ok, true);
    });

    it("fails above 5% errors, counting each kind of error it saw", () => {
        const samples = [
            ...fast(18),
            { at: 18_000, status: 500, ms: 40 },
            { at: 19_000, ms: 10_000, error: "ECONNREFUSED" },
        ];
        const verdict = judgeWindow(samples, watch(20));
        assert.equal(verdict.ok, false);
        assert.equal(
            verdict.failures[0],
            "error rate 10.0% is over the 5.0% limit: 2 of 20 answers to GET /healthz were not 200 " +
                "(1 x 500, 1 x no answer (ECONNREFUSED)), the first at +18.0 s",
        );
        assert.equal(verdict.firstFailureAt, 18_000);
    });

    it("fails on any response slower than 2 s, naming the slowest and when the first came", () => {
        const samples = [...fast(10), { at: 10_000, status: 200, ms: 2_400 }];
        const verdict = judgeWindow(samples, watch(20));
        assert.equal(verdict.ok, false);
        assert.deepEqual(verdict.failures, [
            "1 response took longer than the 2000 ms limit (slowest 2400 ms), the first at +10.0 s",
        ]);
    });

    it("fails a window with no answers at all", () => {
        assert.deepEqual(judgeWindow([], watch(1)).failures, ["GET /healthz was never answered in the window"]);
    });

    it("windowLost: gives up once errors exceed 5% of the samples the window can hold, or a response was slow", () => {
        assert.equal(windowLost([...fast(5, 500)], watch(100), 100), false, "5 errors of 100 possible can still pass");
        assert.equal(windowLost([...fast(6, 500)], watch(100), 100), true, "6 errors of at most 100 cannot");
        assert.equal(windowLost([{ at: 0, status: 200, ms: 2_001 }], watch(100), 100), true);
    });
});

describe("running the checks against a local app", function () {
    this.timeout(30_000);
    let server: http.Server;
    let serviceUrl: string;
    let handler: Handler = mitigated;
    const counts = new Map<string, number>();

    before(async () => {
        server = http.createServer((req, res) => {
            const path = (req.url ?? "/").split("?")[0];
            const key = `${req.method} ${path}`;
            const count = (counts.get(key) ?? 0) + 1;
            counts.set(key, count);
            req.resume();
            const answer = handler(req.method ?? "GET", path, count);
            setTimeout(() => {
                res.writeHead(answer.status, { "Content-Type": "text/plain" });
                res.end(String(answer.status));
            }, answer.delayMs ?? 0);
        });
        serviceUrl = `http://127.0.0.1:${await listenLocal(server, 0)}`;
    });

    after(async () => {
        if (server) await closeServer(server);
    });

    beforeEach(() => {
        handler = mitigated;
        counts.clear();
    });

    const inputs = (overrides: Partial<VerificationInputs> = {}): VerificationInputs => ({
        serviceUrl,
        deployId: "dep-d0abcdefghijklmnopqr",
        ...verificationPlan({
            disableSignup: true,
            blockDirectMedia: true,
            mediaProbePath: "/media/probe.jpg",
            stabilityWindowSeconds: 300,
        }),
        settleSeconds: 1,
        stack: "prod",
        checkTimeoutSeconds: 1,
        ...overrides,
    });

    it("a healthy, mitigated app passes every check and the settle, and each result says what it saw", async () => {
        const lines: string[] = [];
        const run = await verifyDeploy(inputs(), (line) => lines.push(line));
        const results = run.results;
        assert.equal(results.length, 4);
        assert.match(results[0], /^healthz: GET \/healthz answered 200 in \d+ ms \(the app is up\)$/);
        assert.match(
            results[1],
            /^signup disabled: POST \/api\/auth\/register answered 503 in \d+ ms \(DISABLE_SIGNUP=true refuses new signups\)$/,
        );
        assert.match(results[2], /^direct media blocked: GET \/media\/probe\.jpg answered 403 in \d+ ms/);
        assert.match(results[3], /^settle: GET \/healthz for 1 s: \d+ requests, 0 errors \(0\.0%\), slowest \d+ ms$/);
        assert.equal(typeof run.verifiedAfterSeconds, "number");
        // Said before the settle: the engineer knows the switches took effect, and what watches the rest of the window.
        assert.ok(
            lines.some(
                (l) =>
                    l ===
                    `DISABLE_SIGNUP and BLOCK_DIRECT_MEDIA are live and verified at +${run.verifiedAfterSeconds} s; asking ` +
                        "/healthz for 1 s more (errors at most 5.0%, responses within 2000 ms), then this up ends; the rest " +
                        "of its 300 s window: npm run watch -- prod",
            ),
            lines.join("\n"),
        );
        const live = lines.findIndex((l) => l.includes("live and verified"));
        const settled = lines.findIndex((l) => l.startsWith("settle: GET /healthz for 1 s:"));
        assert.ok(live >= 0 && live < settled, "the live line comes before the settle's verdict");
    });

    it("the up no longer waits out the window: a 300 s window costs the checks and the settle, not 300 s", async () => {
        const started = Date.now();
        await verifyDeploy(inputs(), () => undefined);
        assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    });

    it("a /healthz that answers 200 but slower than 2 s fails the check, like the watch would", async () => {
        handler = (method, path, count) =>
            path === "/healthz" ? { status: 200, delayMs: 2_200 } : mitigated(method, path, count);
        const outcome = await runCheck(serviceUrl, inputs().checks[0], 3_000);
        assert.equal(outcome.ok, false);
        assert.match(
            outcome.line,
            /^healthz: GET http:\/\/127\.0\.0\.1:\d+\/healthz answered 200 but took \d+ ms, over the 2000 ms limit/,
        );
    }).timeout(10_000);

    it("waits for /healthz to come up within the timeout while instances switch over", async () => {
        handler = (method, path, count) =>
            path === "/healthz" && count <= 3 ? { status: 502 } : mitigated(method, path, count);
        const outcome = await runCheck(serviceUrl, inputs().checks[0], 2_000);
        assert.equal(outcome.ok, true, outcome.line);
        assert.equal(counts.get("GET /healthz"), 4);
    });

    it("an app answering /healthz with 500 fails the verification as not healthy, naming the check and what it answered", async () => {
        handler = (method, path, count) => (path === "/healthz" ? { status: 500 } : mitigated(method, path, count));
        await assert.rejects(
            runVerification(inputs(), () => undefined),
            (err: Error) => {
                assert.match(
                    err.message,
                    /^verify: after deploy dep-d0abcdefghijklmnopqr, http:\/\/127\.0\.0\.1:\d+ failed a check; the app is not healthy after the deploy/,
                );
                assert.doesNotMatch(err.message, /did not take effect/, "said only of a switch's own check");
                assert.match(
                    err.message,
                    /- health: healthz: GET http:\/\/127\.0\.0\.1:\d+\/healthz answered 500, expected 200 \(the app is up\); still so after \d+ tries over \d\.\d s/,
                );
                return true;
            },
        );
        assert.equal(counts.get("POST /api/auth/register"), undefined, "the switch checks wait for a healthy app");
    });

    it("signup still open fails naming the kill switch that did not take effect, and the status seen", async () => {
        handler = (method, path, count) =>
            path === "/api/auth/register" ? { status: 400 } : mitigated(method, path, count);
        await assert.rejects(
            runVerification(inputs(), () => undefined),
            /did not take effect[\s\S]*- switch: signup disabled: POST http:\/\/127\.0\.0\.1:\d+\/api\/auth\/register answered 400, expected 503 \(DISABLE_SIGNUP=true refuses new signups\); still so after \d+ tries over \d\.\d s: DISABLE_SIGNUP did not take effect$/,
        );
    });

    it("media still served fails naming the media check; both switch failures are reported together", async () => {
        handler = () => ({ status: 200 });
        await assert.rejects(
            runVerification(inputs(), () => undefined),
            (err: Error) => {
                assert.match(err.message, /failed 2 checks/);
                assert.match(err.message, /- switch: signup disabled: .* answered 200, expected 503/);
                assert.match(
                    err.message,
                    /- switch: direct media blocked: GET http:\/\/127\.0\.0\.1:\d+\/media\/probe\.jpg answered 200, expected 403 \(BLOCK_DIRECT_MEDIA=true refuses direct media URLs\)/,
                );
                return true;
            },
        );
    });

    it("an app that falls over right after its checks fails the settle on the error rate, naming when", async () => {
        // Healthy for the check, then every other /healthz fails.
        handler = (method, path, count) =>
            path === "/healthz" && count > 2 && count % 2 === 1 ? { status: 500 } : mitigated(method, path, count);
        await assert.rejects(
            runVerification(inputs(), () => undefined),
            (err: Error) => {
                assert.match(err.message, /the app is not healthy after the deploy/);
                assert.match(
                    err.message,
                    /- health: settle \(1 s\): error rate \d+\.\d% is over the 5\.0% limit: \d+ of \d+ answers to GET \/healthz were not 200 \(\d+ x 500\), the first at \+\d+\.\d s; \d+ requests/,
                );
                return true;
            },
        );
    });

    it("a slow /healthz fails the settle on response time, without waiting out the settle", async () => {
        handler = (method, path, count) =>
            path === "/healthz" && count > 1 ? { status: 200, delayMs: 2_200 } : mitigated(method, path, count);
        const started = Date.now();
        await assert.rejects(
            runVerification(inputs({ settleSeconds: 20 }), () => undefined),
            /- health: settle \(20 s\): 1 response took longer than the 2000 ms limit \(slowest 2\d{3} ms\), the first at \+\d+\.\d s/,
        );
        assert.ok(Date.now() - started < 10_000, "the settle stops at the first slow answer");
    });

    it("an app that is not listening fails the health check as no answer", async () => {
        // A port that was free a moment ago: nothing listens there now.
        const closed = http.createServer();
        const url = `http://127.0.0.1:${await listenLocal(closed, 0)}`;
        await closeServer(closed);
        const outcome = await runCheck(url, inputs().checks[0] as HttpCheck, 300);
        assert.equal(outcome.ok, false);
        assert.match(outcome.line, /healthz got no answer \(ECONNREFUSED\), expected 200/);
    });

    describe("through the dynamic-provider host", function () {
        this.timeout(60_000);
        let host: ProviderHost;
        const providerText = verificationProvider.source;
        const urn = dynamicUrn("verify:Verification", "ahoy-verify");

        before(async () => {
            host = await startProviderHost();
        });

        after(async () => {
            await host?.close();
        });

        const wire = (overrides: Partial<VerificationInputs> = {}) => ({
            [PROVIDER_KEY]: providerText,
            ...inputs(overrides),
        });

        it("the provider, loaded by the host from its text, runs the checks on create and records what each saw", async () => {
            const checked = await host.check(urn, {}, wire());
            assert.deepEqual(checked.failures, []);
            const created = await host.create(urn, checked.inputs);
            assert.equal(created.id, "verification-dep-d0abcdefghijklmnopqr");
            const results = created.properties.results as string[];
            assert.equal(results.length, 4);
            assert.match(results[3], /^settle: GET \/healthz for 1 s: \d+ requests, 0 errors/);
            assert.match(String(created.properties.verifiedAt), /^\d{4}-\d\d-\d\dT/);
            assert.equal(typeof created.properties.verifiedAfterSeconds, "number");
            assert.equal(created.properties.maxConnections, undefined, "no databaseId: no max_connections to read");
        });

        it("check refuses a service URL that is not http(s), naming the property and what it expects", async () => {
            const checked = await host.check(urn, {}, wire({ serviceUrl: "ahoy-indie-media.onrender.com" }));
            assert.deepEqual(
                checked.failures.map((f) => f.property),
                ["serviceUrl"],
            );
            assert.match(
                checked.failures[0].reason,
                /must be the service's http\(s\) URL such as https:\/\/.*got "ahoy-indie-media\.onrender\.com"/,
            );
        });

        it("the same deploy is not verified again; a new deploy is", async () => {
            const olds = { ...inputs(), results: ["seen"], verifiedAt: "2025-06-01T00:00:00Z" };
            assert.equal((await host.diff("v", urn, olds, wire())).changes, "none");
            const diff = await host.diff("v", urn, olds, wire({ deployId: "dep-d0abcdefghijklmnopqs" }));
            assert.equal(diff.changes, "some");
            assert.deepEqual(diff.replaces, []);
            const updated = await host.update("v", urn, olds, wire({ deployId: "dep-d0abcdefghijklmnopqs" }));
            assert.equal(updated.deployId, "dep-d0abcdefghijklmnopqs");
            assert.notDeepEqual(updated.results, ["seen"]);
        });

        it("a failed check fails the create (so `pulumi up` fails), with the message naming the check", async () => {
            handler = (method, path, count) =>
                path === "/api/auth/register" ? { status: 201 } : mitigated(method, path, count);
            await assert.rejects(
                host.create(urn, wire()),
                /verify: after deploy dep-d0abcdefghijklmnopqr, .* failed a check[\s\S]*- switch: signup disabled: POST .* answered 201, expected 503/,
            );
        });
    });
});
