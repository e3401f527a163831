// The Render client against a tiny local HTTP server: retries, backoff bounds, paging, the 202 flow, validation, redaction.
import { strict as assert } from "node:assert";
import * as http from "node:http";
import * as util from "node:util";
import fc from "fast-check";
import {
    AmbiguousDeployError,
    DeployFailedError,
    RenderApiError,
    RenderClient,
    RenderNetworkError,
    DeadlineError,
    TriggerFateUnknownError,
    isTerminal,
    type Deploy,
    type RenderClientOptions,
} from "../lib/render/client";
import {
    backoffDelayMs,
    networkErrorCode,
    retryDelayMs,
    serverRequestedWaitMs,
    failedBeforeSending,
} from "../lib/render/retry";
import { closeServer, listenLocal } from "../emulator/http";
import { redactSecrets } from "../lib/render/client";

const API_KEY = "rnd_unit-test-key-0123456789";
const SERVICE = "srv-d0example0000000000";

interface Seen {
    method: string;
    path: string;
    query: URLSearchParams;
    headers: http.IncomingHttpHeaders;
    body: string;
}
type Handler = (req: Seen, res: http.ServerResponse) => void;

/** A stand-in for api.render.com/v1 whose answers each test scripts through `handler`. */
class FakeRender {
    readonly requests: Seen[] = [];
    handler: Handler = (_req, res) => send(res, 500, { message: "no handler set" });
    baseUrl = "";
    private readonly server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
        req.on("end", () => {
            const url = new URL(req.url ?? "/", "http://127.0.0.1");
            const seen: Seen = {
                method: req.method ?? "",
                path: url.pathname.replace(/^\/v1/, ""),
                query: url.searchParams,
                headers: req.headers,
                body,
            };
            this.requests.push(seen);
            this.handler(seen, res);
        });
    });

    static async start(): Promise<FakeRender> {
        const fake = new FakeRender();
        fake.baseUrl = `http://127.0.0.1:${await listenLocal(fake.server, 0)}/v1`;
        return fake;
    }

    reset(handler: Handler): void {
        this.requests.length = 0;
        this.handler = handler;
    }

    close(): Promise<void> {
        return closeServer(this.server);
    }
}

let requestCounter = 0;
function send(res: http.ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, {
        "Render-Request-Id": `req-${++requestCounter}`,
        "Ratelimit-Limit": "400",
        "Ratelimit-Remaining": "399",
        "Ratelimit-Reset": "42",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...headers,
    });
    res.end(body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body));
}

/** Scripts a handler from a list: each request gets the next answer, the last one repeats. */
function sequence(...answers: Handler[]): Handler {
    let i = 0;
    return (req, res) => answers[Math.min(i++, answers.length - 1)](req, res);
}

/** Serves `items` in pages of at most `pageMax` (and `limit`), with cursors, and `[]` after the last. */
function paged<T>(wrap: (item: T) => object, items: T[], pageMax = 100): Handler {
    return (req, res) => {
        const limit = Number(req.query.get("limit") ?? "20");
        const cursor = req.query.get("cursor");
        const start = cursor === null ? 0 : Number(cursor.slice(1)) + 1;
        const page = items.slice(start, start + Math.min(limit, pageMax));
        send(
            res,
            200,
            page.map((item, i) => ({ ...wrap(item), cursor: `c${start + i}` })),
        );
    };
}

/** A deploy list endpoint serving `deploys`, newest first as given. */
function deployList(deploys: Deploy[]): Handler {
    return paged((d) => ({ deploy: d }), deploys);
}

function deploy(id: string, status: Deploy["status"], createdAt: Date, extra: Partial<Deploy> = {}): Deploy {
    return {
        id,
        status,
        trigger: "api",
        commit: { id: "a".repeat(40), message: "m" },
        createdAt: createdAt.toISOString(),
        ...extra,
    };
}

describe("Render client (local HTTP server)", function () {
    let fake: FakeRender;
    let logs: string[];
    const client = (opts: Partial<RenderClientOptions> = {}) =>
        new RenderClient({
            apiKey: API_KEY,
            baseUrl: fake.baseUrl,
            maxRetries: 3,
            retryBaseMs: 5,
            log: (m) => logs.push(m),
            ...opts,
        });

    before(async () => {
        fake = await FakeRender.start();
    });
    after(async () => {
        await fake.close();
    });
    beforeEach(() => {
        logs = [];
    });

    describe("retries", () => {
        it("waits out a 429 for as long as Retry-After says, then succeeds", async () => {
            fake.reset(
                sequence(
                    (_q, res) => send(res, 429, { message: "rate limit exceeded" }, { "Retry-After": "1" }),
                    (_q, res) => send(res, 200, { key: "A", value: "1" }),
                ),
            );
            const started = Date.now();
            assert.equal(await client().getEnvVar(SERVICE, "A"), "1");
            const waited = Date.now() - started;
            assert.ok(waited >= 1000, `waited only ${waited} ms although Retry-After was 1 s`);
            assert.ok(waited < 1000 + 5 + 700, `waited ${waited} ms, more than Retry-After plus jitter`);
            assert.equal(fake.requests.length, 2);
            assert.match(
                logs.join("\n"),
                /GET \/services\/srv-\w+\/env-vars\/A: 429 \(request id req-\d+\); retry 1 of 3 in 10\d\d ms, server asked for 1000 ms/,
            );
        });

        it("on a 429 without Retry-After, waits Ratelimit-Reset seconds (a duration, not an epoch time)", async () => {
            fake.reset(
                sequence(
                    (_q, res) =>
                        send(
                            res,
                            429,
                            { message: "rate limit exceeded" },
                            { "Ratelimit-Reset": "1", "Ratelimit-Remaining": "0" },
                        ),
                    (_q, res) => send(res, 200, { key: "A", value: "1" }),
                ),
            );
            const started = Date.now();
            await client().getEnvVar(SERVICE, "A");
            const waited = Date.now() - started;
            assert.ok(waited >= 1000 && waited < 1800, `waited ${waited} ms for a 1 s Ratelimit-Reset`);
        });

        it("caps a server-requested wait at maxRetryWaitMs", async () => {
            fake.reset(
                sequence(
                    (_q, res) => send(res, 429, { message: "slow down" }, { "Retry-After": "3600" }),
                    (_q, res) => send(res, 200, { key: "A", value: "1" }),
                ),
            );
            const started = Date.now();
            await client({ maxRetryWaitMs: 50 }).getEnvVar(SERVICE, "A");
            assert.ok(Date.now() - started < 1000, "an hour-long Retry-After was not capped");
        });

        it("retries a 500 and a 503, using backoff rather than the ever-present Ratelimit-Reset", async () => {
            fake.reset(
                sequence(
                    (_q, res) => send(res, 500, { message: "internal error" }),
                    (_q, res) => send(res, 503, { message: "unavailable" }),
                    (_q, res) => send(res, 200, { key: "A", value: "ok" }),
                ),
            );
            const started = Date.now();
            assert.equal(await client().getEnvVar(SERVICE, "A"), "ok");
            // Ratelimit-Reset is 42 on every answer here; honouring it on a 5xx would take 42 s.
            const took = Date.now() - started;
            assert.ok(
                took < 1000,
                `the two retries took ${took} ms: a 5xx must back off, not wait for Ratelimit-Reset`,
            );
            assert.equal(fake.requests.length, 3);
        });

        it("retries a GET whose connection was hung up without an answer", async () => {
            fake.reset(
                sequence(
                    (_q, res) => res.socket?.destroy(),
                    (_q, res) => send(res, 200, [{ envVar: { key: "A", value: "1" }, cursor: "c1" }]),
                    (_q, res) => send(res, 200, []),
                ),
            );
            assert.deepEqual(await client().listEnvVars(SERVICE), [{ key: "A", value: "1" }]);
            assert.equal(fake.requests.length, 3);
            assert.match(
                logs[0],
                /GET \/services\/srv-\w+\/env-vars: no response \((ECONNRESET|UND_ERR_SOCKET)\); retry 1 of 3/,
            );
        });

        it("gives up after maxRetries with the status, Render's message, the request id and the attempt count", async () => {
            fake.reset((_q, res) => send(res, 503, { message: "service unavailable" }));
            const err = await client({ maxRetries: 2 })
                .listEnvVars(SERVICE)
                .then(
                    () => assert.fail("listEnvVars succeeded against a server that only answers 503"),
                    (e: unknown) => e,
                );
            assert.ok(err instanceof RenderApiError, `expected a RenderApiError, got ${String(err)}`);
            assert.equal(fake.requests.length, 3);
            assert.equal(err.status, 503);
            assert.equal(err.attempts, 3);
            assert.equal(err.method, "GET");
            assert.equal(err.path, `/services/${SERVICE}/env-vars`);
            assert.match(err.requestId ?? "", /^req-\d+$/);
            assert.equal(
                err.message,
                `GET /services/${SERVICE}/env-vars: 503 service unavailable (request id ${err.requestId}); gave up after 3 attempts`,
            );
        });

        it("does not retry a 4xx other than 429, and reports Render's message", async () => {
            fake.reset((_q, res) => send(res, 400, { id: "invalid", message: "autoDeploy must be yes or no" }));
            await assert.rejects(client().updateAutoDeploy(SERVICE, "no"), (e: unknown) => {
                assert.ok(e instanceof RenderApiError, `expected a RenderApiError, got ${String(e)}`);
                assert.equal(e.status, 400);
                assert.match(
                    e.message,
                    /^PATCH \/services\/srv-\w+: 400 autoDeploy must be yes or no \(request id req-\d+\)$/,
                );
                return true;
            });
            assert.equal(fake.requests.length, 1);
        });

        it("reports a connection refused as a network error that never reached Render", async () => {
            const closed = await FakeRender.start();
            const deadUrl = closed.baseUrl;
            await closed.close();
            const err = await new RenderClient({ apiKey: API_KEY, baseUrl: deadUrl, maxRetries: 1, retryBaseMs: 1 })
                .getService(SERVICE)
                .catch((e: unknown) => e);
            assert.ok(err instanceof RenderNetworkError, `expected a RenderNetworkError, got ${String(err)}`);
            assert.equal(err.code, "ECONNREFUSED");
            assert.equal(err.maybeDelivered, false);
            assert.equal(err.attempts, 2);
            assert.match(
                err.message,
                /^GET \/services\/srv-\w+: no response \(ECONNREFUSED; the request never reached Render\); gave up after 2 attempts$/,
            );
        });
    });

    describe("backoff and jitter (pure functions)", () => {
        it("full jitter stays within [0, min(cap, base * 2^attempt))", () => {
            fc.assert(
                fc.property(
                    fc.integer({ min: 0, max: 20 }),
                    fc.integer({ min: 1, max: 5_000 }),
                    fc.integer({ min: 1, max: 120_000 }),
                    fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
                    (attempt, base, cap, r) => {
                        const d = backoffDelayMs(attempt, base, cap, () => r);
                        return d >= 0 && d < Math.min(cap, base * 2 ** attempt) && Number.isInteger(d);
                    },
                ),
            );
        });

        it("full jitter spreads waits over the whole window, not around its top", () => {
            const waits = Array.from({ length: 2000 }, () => backoffDelayMs(4, 100, 60_000));
            assert.ok(Math.min(...waits) < 160, "no wait fell in the bottom tenth of the 1600 ms window");
            assert.ok(Math.max(...waits) > 1440, "no wait fell in the top tenth of the 1600 ms window");
        });

        it("a server-requested wait is honoured with at most base ms of jitter on top, and never beyond the cap", () => {
            fc.assert(
                fc.property(
                    fc.integer({ min: 0, max: 10 }),
                    fc.integer({ min: 0, max: 200_000 }),
                    fc.integer({ min: 1, max: 5_000 }),
                    fc.integer({ min: 1, max: 120_000 }),
                    fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
                    (attempt, server, base, cap, r) => {
                        const d = retryDelayMs(attempt, server, base, cap, () => r);
                        return d <= cap && (d >= server || d === cap) && d <= server + base;
                    },
                ),
            );
        });

        it("reads Retry-After as seconds or an HTTP date, and Ratelimit-Reset only on a 429", () => {
            const h = (entries: Record<string, string>) => new Headers(entries);
            assert.equal(serverRequestedWaitMs(429, h({ "Retry-After": "7" })), 7000);
            assert.equal(serverRequestedWaitMs(503, h({ "Retry-After": "2" })), 2000);
            const now = Date.parse("2025-01-13T16:48:10Z");
            assert.equal(
                serverRequestedWaitMs(429, h({ "Retry-After": "Mon, 13 Jan 2025 16:48:40 GMT" }), now),
                30_000,
            );
            assert.equal(serverRequestedWaitMs(429, h({ "Ratelimit-Reset": "12" })), 12_000);
            assert.equal(
                serverRequestedWaitMs(429, h({ "Retry-After": "3", "Ratelimit-Reset": "50" })),
                3000,
                "Retry-After wins",
            );
            assert.equal(serverRequestedWaitMs(500, h({ "Ratelimit-Reset": "12" })), undefined);
            assert.equal(serverRequestedWaitMs(429, h({})), undefined);
        });

        it("classifies failures before sending (safe to resend a POST) apart from ones after", () => {
            const refused = Object.assign(new TypeError("fetch failed"), {
                cause: Object.assign(new Error("connect"), { code: "ECONNREFUSED" }),
            });
            const reset = Object.assign(new TypeError("fetch failed"), {
                cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }),
            });
            assert.equal(networkErrorCode(refused), "ECONNREFUSED");
            assert.equal(failedBeforeSending(networkErrorCode(refused)), true);
            assert.equal(failedBeforeSending(networkErrorCode(reset)), false);
            assert.equal(networkErrorCode(new DOMException("timed out", "TimeoutError")), "TIMEOUT");
        });
    });

    describe("paging", () => {
        it("lists every environment variable across pages, passing each page's last cursor, until []", async () => {
            const vars = Array.from({ length: 250 }, (_, i) => ({ key: `K${i}`, value: `v${i}` }));
            fake.reset(paged((v) => ({ envVar: v }), vars, 100));
            assert.deepEqual(await client().listEnvVars(SERVICE), vars);
            assert.deepEqual(
                fake.requests.map((r) => [r.query.get("limit"), r.query.get("cursor")]),
                [
                    ["100", null],
                    ["100", "c99"],
                    ["100", "c199"],
                    ["100", "c249"],
                ],
            );
        });

        it("listDeploys follows cursors only until `limit` deploys are collected", async () => {
            const t0 = Date.now();
            const deploys = Array.from({ length: 40 }, (_, i) =>
                deploy(`dep-${i}`, "deactivated", new Date(t0 - i * 1000)),
            );
            fake.reset(paged((d) => ({ deploy: d }), deploys, 10));
            const got = await client().listDeploys(SERVICE, { limit: 25 });
            assert.deepEqual(
                got.map((d) => d.id),
                deploys.slice(0, 25).map((d) => d.id),
            );
            assert.deepEqual(
                fake.requests.map((r) => r.query.get("limit")),
                ["25", "15", "5"],
            );
        });

        it("sends the status filter as one parameter per value and liveDeploy asks for one live deploy", async () => {
            const now = new Date();
            fake.reset(deployList([deploy("dep-live", "live", now)]));
            const live = await client().liveDeploy(SERVICE);
            assert.equal(live?.id, "dep-live");
            assert.deepEqual(fake.requests[0].query.getAll("status"), ["live"]);
            assert.equal(fake.requests[0].query.get("limit"), "1");
            await client().listDeploys(SERVICE, { status: ["build_failed", "canceled"], limit: 1 });
            assert.deepEqual(fake.requests[1].query.getAll("status"), ["build_failed", "canceled"]);
        });

        it("stops with a clear error when a cursor does not advance", async () => {
            fake.reset((_q, res) => send(res, 200, [{ envVar: { key: "A", value: "1" }, cursor: "stuck" }]));
            await assert.rejects(
                client().listEnvVars(SERVICE),
                /GET \/services\/srv-\w+\/env-vars: 200 the cursor did not advance/,
            );
        });
    });

    describe("deploys", () => {
        /**
         * A service's deploy list that POSTs add to: `onPost` says what Render answers to each POST and which deploy,
         * if any, it creates (listed from then on, newest first). `existing` were there before.
         */
        function renderWithDeploys(
            existing: Deploy[],
            onPost: (n: number, body: unknown, res: http.ServerResponse) => Deploy | undefined,
        ): { posts: () => number; list: Deploy[] } {
            const list = [...existing];
            let posts = 0;
            fake.reset((req, res) => {
                if (req.method === "POST") {
                    const made = onPost(++posts, req.body ? JSON.parse(req.body) : undefined, res);
                    if (made) list.unshift(made);
                    return;
                }
                deployList(list)(req, res);
            });
            return { posts: () => posts, list };
        }
        const COMMIT = "a".repeat(40);
        const earlier = (ms: number) => new Date(Date.now() - ms);
        const live = () => deploy("dep-live", "live", earlier(60_000), { trigger: "new_commit" });

        it("triggerDeploy returns the deploy Render created (201) and sends the commit to build", async () => {
            const fakeRender = renderWithDeploys([live()], (_n, _body, res) => {
                const made = deploy("dep-new", "build_in_progress", new Date());
                send(res, 201, made);
                return made;
            });
            const got = await client().triggerDeploy(SERVICE, { commitId: COMMIT });
            assert.equal(got.id, "dep-new");
            const post = fake.requests.find((r) => r.method === "POST")!;
            assert.equal(post.path, `/services/${SERVICE}/deploys`);
            assert.deepEqual(JSON.parse(post.body), { commitId: COMMIT });
            assert.equal(fakeRender.posts(), 1);
        });

        it("lists the deploys before the POST only when the caller has not (the snapshot it tells its own deploy by)", async () => {
            renderWithDeploys(
                [live()],
                (_n, _body, res) => void send(res, 201, deploy("dep-new", "created", new Date())),
            );
            await client().triggerDeploy(SERVICE, { commitId: COMMIT }, { before: [live()] });
            assert.deepEqual(
                fake.requests.map((r) => r.method),
                ["POST"],
                "a snapshot was given, so nothing else is asked",
            );
        });

        it("after a 202 with an empty body, finds its own queued deploy: the API deploy that was not there before", async () => {
            const running = deploy("dep-running", "build_in_progress", earlier(2000), { trigger: "new_commit" });
            const fakeRender = renderWithDeploys([running, live()], (_n, _body, res) => {
                send(res, 202);
                return deploy("dep-mine", "queued", new Date());
            });
            const got = await client().triggerDeploy(SERVICE, { commitId: COMMIT });
            assert.equal(got.id, "dep-mine");
            assert.equal(fakeRender.posts(), 1, "the deploy trigger was sent more than once");
            assert.match(logs.join("\n"), /202, queued behind a running deploy as dep-mine/);
        });

        it("after a 202, never takes a teammate's dashboard deploy, a push's autodeploy or a deploy of another commit", async () => {
            // Created after the snapshot, but none by this request.
            const now = new Date();
            const lookalikes = [
                deploy("dep-dashboard", "queued", now, { trigger: "manual" }),
                deploy("dep-push", "queued", now, { trigger: "new_commit" }),
                deploy("dep-other", "queued", now, { commit: { id: "c".repeat(40) } }),
            ];
            const before = [live()];
            fake.reset((req, res) =>
                req.method === "POST" ? send(res, 202) : deployList([...lookalikes, ...before])(req, res),
            );
            const err = await client({ retryBaseMs: 1 })
                .triggerDeploy(SERVICE, { commitId: COMMIT }, { before })
                .catch((e: unknown) => e);
            assert.match(
                String(err),
                /202 Render queued the deploy but none created through the API since the 1 listed before the request appeared after 6 lookups; check the service's deploys before triggering again \(request id req-\d+\)/,
            );
        });

        it("after a 202 with two API deploys of the commit created since, fails listing both instead of guessing", async () => {
            const before = [live()];
            const now = new Date();
            const twins = [deploy("dep-twin-a", "queued", now), deploy("dep-twin-b", "build_in_progress", now)];
            fake.reset((req, res) =>
                req.method === "POST" ? send(res, 202) : deployList([...twins, ...before])(req, res),
            );
            const err = await client()
                .triggerDeploy(SERVICE, { commitId: COMMIT }, { before })
                .catch((e: unknown) => e);
            assert.ok(err instanceof AmbiguousDeployError, `expected an AmbiguousDeployError, got ${String(err)}`);
            assert.match(err.message, /dep-twin-b of aaaaaaa \(trigger api, build_in_progress, created /);
            assert.match(err.message, /dep-twin-a of aaaaaaa \(trigger api, queued, created /);
        });

        it("resends a deploy trigger answered 429 (Render did not act)", async () => {
            const fakeRender = renderWithDeploys([live()], (n, _body, res) => {
                if (n === 1) return void send(res, 429, { message: "rate limit" }, { "Retry-After": "0" });
                const made = deploy("dep-new", "created", new Date());
                send(res, 201, made);
                return made;
            });
            assert.equal((await client().triggerDeploy(SERVICE)).id, "dep-new");
            assert.equal(fakeRender.posts(), 2);
        });

        it("never resends after a 500 (Render may have acted): no deploy within the lookup window fails saying the trigger's fate is unknown", async () => {
            const fakeRender = renderWithDeploys(
                [live()],
                (_n, _body, res) => void send(res, 500, { message: "oops" }),
            );
            const started = Date.now();
            const err = await client({ triggerLookupMs: 300 })
                .triggerDeploy(SERVICE, { commitId: COMMIT })
                .catch((e: unknown) => e);
            assert.ok(err instanceof TriggerFateUnknownError, `expected TriggerFateUnknownError, got ${String(err)}`);
            assert.equal(fakeRender.posts(), 1, "the trigger was sent again");
            assert.ok(Date.now() - started >= 300, "it looked for the whole window");
            assert.match(
                err.message,
                /POST \/services\/srv-\w+\/deploys: 500 \(request id req-\d+\), and no deploy it could have made \(trigger api, commit aaaaaaa, created since \S+\) appeared in the 0\.\d s since\. Render may still act on it, so it was not sent again: the trigger's fate is unknown\. .* run pulumi up again: it adopts the deploy if Render made it, and triggers one if not/,
            );
        });

        it("a trigger Render holds past the client's timeout and acts on later is found when it lands within the lookup window", async () => {
            const list = [live()];
            let posts = 0;
            fake.reset((req, res) => {
                if (req.method !== "POST") return deployList(list)(req, res);
                posts++;
                // Render acts 300 ms after the client stopped waiting, and never answers this connection.
                setTimeout(() => list.unshift(deploy("dep-late", "queued", new Date())), 400);
                setTimeout(() => res.socket?.destroy(), 2_000);
            });
            const got = await client({ requestTimeoutMs: 100, triggerLookupMs: 3_000 }).triggerDeploy(SERVICE, {
                commitId: COMMIT,
            });
            assert.equal(got.id, "dep-late");
            assert.equal(posts, 1);
            assert.match(logs.join("\n"), /no response \(TIMEOUT\), but Render created deploy dep-late; using it/);
        });

        for (const [what, answer] of [
            ["a gateway 502", (res: http.ServerResponse) => send(res, 502, { message: "bad gateway" })],
            ["a connection reset", (res: http.ServerResponse) => res.socket?.destroy()],
        ] as const) {
            it(`after ${what} to a deploy trigger Render had accepted, uses the deploy it created and never sends a second`, async () => {
                const fakeRender = renderWithDeploys([live()], (_n, _body, res) => {
                    answer(res);
                    return deploy("dep-made", "build_in_progress", new Date());
                });
                assert.equal((await client().triggerDeploy(SERVICE, { commitId: COMMIT })).id, "dep-made");
                assert.equal(fakeRender.posts(), 1, "one up, one deploy: the trigger must not be resent");
                assert.match(logs.join("\n"), /but Render created deploy dep-made; using it/);
            });
        }

        it("after a reset, does not take a teammate's dashboard deploy of the same commit for its own, nor resends", async () => {
            const fakeRender = renderWithDeploys([live()], (_n, _body, res) => {
                res.socket?.destroy();
                // Meanwhile a teammate pressed "Deploy" in the dashboard.
                return deploy("dep-teammate", "build_in_progress", new Date(), { trigger: "manual" });
            });
            const err = await client({ triggerLookupMs: 200 })
                .triggerDeploy(SERVICE, { commitId: COMMIT })
                .catch((e: unknown) => e);
            assert.ok(err instanceof TriggerFateUnknownError, `expected TriggerFateUnknownError, got ${String(err)}`);
            assert.equal(fakeRender.posts(), 1);
        });

        it("rollback posts the target deploy id and returns the new rollback deploy", async () => {
            renderWithDeploys([live()], (_n, _body, res) => {
                const made = deploy("dep-rb", "update_in_progress", new Date(), { trigger: "rollback" });
                send(res, 201, made);
                return made;
            });
            const got = await client().rollback(SERVICE, "dep-old");
            assert.equal(got.trigger, "rollback");
            const post = fake.requests.find((r) => r.method === "POST")!;
            assert.equal(post.path, `/services/${SERVICE}/rollback`);
            assert.deepEqual(JSON.parse(post.body), { deployId: "dep-old" });
        });

        it("a rollback whose answer was lost is found by its trigger, not mistaken for an API deploy", async () => {
            const fakeRender = renderWithDeploys([live()], (_n, _body, res) => {
                res.socket?.destroy();
                return deploy("dep-rb", "update_in_progress", new Date(), { trigger: "rollback" });
            });
            assert.equal((await client().rollback(SERVICE, "dep-old")).id, "dep-rb");
            assert.equal(fakeRender.posts(), 1);
        });

        it("waitForDeploy reports each status change once and resolves when live", async () => {
            const t = new Date();
            const statuses: Deploy["status"][] = [
                "queued",
                "build_in_progress",
                "build_in_progress",
                "update_in_progress",
                "live",
            ];
            let i = 0;
            fake.reset((_q, res) => send(res, 200, deploy("dep-1", statuses[Math.min(i++, statuses.length - 1)], t)));
            const seen: string[] = [];
            const got = await client().waitForDeploy(SERVICE, "dep-1", {
                firstPollMs: 2,
                maxPollMs: 8,
                onStatus: (d) => seen.push(d.status),
            });
            assert.equal(got.status, "live");
            assert.deepEqual(seen, ["queued", "build_in_progress", "update_in_progress", "live"]);
            assert.equal(fake.requests.length, 5);
        });

        it("waitForDeploy backs off between polls up to maxPollMs", async () => {
            const t = new Date();
            const times: number[] = [];
            fake.reset((_q, res) => {
                times.push(Date.now());
                send(res, 200, deploy("dep-1", times.length >= 6 ? "live" : "build_in_progress", t));
            });
            await client().waitForDeploy(SERVICE, "dep-1", { firstPollMs: 20, maxPollMs: 80 });
            const gaps = times.slice(1).map((at, k) => at - times[k]);
            // Expected waits 20, 40, 80, 80, 80 ms; allow scheduling noise upward only.
            [20, 40, 80, 80, 80].forEach((want, k) =>
                assert.ok(
                    gaps[k] >= want - 2 && gaps[k] < want + 150,
                    `poll gap ${k} was ${gaps[k]} ms, expected ~${want}`,
                ),
            );
        });

        it("waitForDeploy throws DeployFailedError naming the failure status, the deploy and the last poll's request id", async () => {
            const t = new Date();
            fake.reset(
                sequence(
                    (_q, res) => send(res, 200, deploy("dep-bad", "build_in_progress", t)),
                    (_q, res) =>
                        send(res, 200, deploy("dep-bad", "build_failed", t), { "Render-Request-Id": "req-last-poll" }),
                ),
            );
            const err = await client()
                .waitForDeploy(SERVICE, "dep-bad", { firstPollMs: 1 })
                .catch((e: unknown) => e);
            assert.ok(err instanceof DeployFailedError, `expected a DeployFailedError, got ${String(err)}`);
            assert.equal(err.status, "build_failed");
            assert.equal(err.deployId, "dep-bad");
            assert.equal(err.requestId, "req-last-poll");
            assert.equal(err.timedOut, false);
            assert.equal(
                err.message,
                `deploy dep-bad of ${SERVICE} ended build_failed, not live (request id req-last-poll)`,
            );
        });

        it("waitForDeploy rides out polls that fail (500s, dropped connections) and still sees the deploy go live", async () => {
            const t = new Date();
            let polls = 0;
            fake.reset((_q, res) => {
                polls++;
                // Longer than one request's own retry budget (maxRetries 3): the wait as a whole must tolerate it.
                if (polls === 1) return send(res, 200, deploy("dep-1", "build_in_progress", t));
                if (polls <= 6) return send(res, 500, { message: "internal error" });
                if (polls <= 10) return void res.socket?.destroy();
                send(res, 200, deploy("dep-1", "live", t));
            });
            const got = await client().waitForDeploy(SERVICE, "dep-1", {
                firstPollMs: 1,
                maxPollMs: 4,
                timeoutMs: 10_000,
            });
            assert.equal(got.status, "live");
            assert.ok(polls >= 11, `expected every failed poll to be retried, saw ${polls} requests`);
            assert.match(
                logs.join("\n"),
                /poll 1 failed \(GET .*500 internal error.*\); still waiting, last status seen build_in_progress/,
            );
        });

        it("waitForDeploy that only ever gets failed polls times out naming the last status it saw and the trouble", async () => {
            const t = new Date();
            let polls = 0;
            fake.reset((_q, res) =>
                ++polls === 1
                    ? send(res, 200, deploy("dep-1", "update_in_progress", t))
                    : send(res, 503, { message: "busy" }),
            );
            const err = await client({ maxRetries: 0 })
                .waitForDeploy(SERVICE, "dep-1", { firstPollMs: 5, timeoutMs: 150 })
                .catch((e: unknown) => e);
            assert.ok(err instanceof DeployFailedError, `expected a DeployFailedError, got ${String(err)}`);
            assert.equal(err.status, "update_in_progress");
            assert.match(err.message, /was still update_in_progress after .*; the last poll failed \(GET .* 503 busy/);
        });

        it("waitForDeploy stops at once on an answer that is not transient (the deploy is gone: 404)", async () => {
            fake.reset((_q, res) => send(res, 404, { message: "not found: dep-1" }));
            await assert.rejects(
                client().waitForDeploy(SERVICE, "dep-1", { firstPollMs: 1, timeoutMs: 10_000 }),
                /404 not found: dep-1/,
            );
            assert.equal(fake.requests.length, 1);
        });

        it("waitForDeploy gives up after timeoutMs with the status it was stuck in", async () => {
            fake.reset((_q, res) => send(res, 200, deploy("dep-slow", "build_in_progress", new Date())));
            const err = await client()
                .waitForDeploy(SERVICE, "dep-slow", { firstPollMs: 10, timeoutMs: 60 })
                .catch((e: unknown) => e);
            assert.ok(err instanceof DeployFailedError, `expected a DeployFailedError, got ${String(err)}`);
            assert.equal(err.timedOut, true);
            assert.equal(err.status, "build_in_progress");
            assert.match(
                err.message,
                /^deploy dep-slow of srv-\w+ was still build_in_progress after 0\.\d s \(request id req-\d+\)$/,
            );
        });

        it("waitForDeploy stops at the client's deadline, however long its own timeout, naming the status", async () => {
            fake.reset((_q, res) => send(res, 200, deploy("dep-slow", "queued", new Date())));
            const started = Date.now();
            const err = await client({ deadline: Date.now() + 1_500 })
                .waitForDeploy(SERVICE, "dep-slow", { firstPollMs: 10, timeoutMs: 30 * 60_000 })
                .catch((e: unknown) => e);
            assert.ok(err instanceof DeployFailedError, `expected a DeployFailedError, got ${String(err)}`);
            assert.equal(err.timedOut, true);
            assert.match(err.message, /^deploy dep-slow of srv-\w+ was still queued after 0\.\d s/);
            assert.ok(Date.now() - started < 1_500, "it waited past the deadline");
        });

        it("no retry waits past the deadline: a Retry-After longer than the time left fails at once with the last answer", async () => {
            fake.reset((_q, res) => send(res, 429, { message: "slow down" }, { "Retry-After": "30" }));
            const started = Date.now();
            const err = await client({ deadline: Date.now() + 2_000, maxRetryWaitMs: 60_000 })
                .getService(SERVICE)
                .catch((e: unknown) => e);
            assert.ok(err instanceof DeadlineError, `expected a DeadlineError, got ${String(err)}`);
            assert.match(
                err.message,
                /^GET \/services\/srv-\w+: no time left before this client's deadline \(.*\); the last try: GET \/services\/srv-\w+: 429 slow down/,
            );
            assert.ok(Date.now() - started < 1_000, "it slept towards a wait it could not finish");
            assert.equal(fake.requests.length, 1);
        });

        it("isTerminal is true for live and every failure status, false while in flight", () => {
            assert.deepEqual(
                (
                    ["created", "queued", "build_in_progress", "pre_deploy_in_progress", "update_in_progress"] as const
                ).map(isTerminal),
                [false, false, false, false, false],
            );
            assert.deepEqual(
                (
                    ["live", "build_failed", "pre_deploy_failed", "update_failed", "canceled", "deactivated"] as const
                ).map(isTerminal),
                [true, true, true, true, true, true],
            );
        });
    });

    describe("responses are validated", () => {
        it("rejects a deploy with an unknown status, naming the endpoint, the field and the request id", async () => {
            fake.reset((_q, res) =>
                send(res, 200, { id: "dep-x", status: "exploded", createdAt: new Date().toISOString() }),
            );
            await assert.rejects(client().getDeploy(SERVICE, "dep-x"), (e: unknown) => {
                assert.ok(e instanceof RenderApiError, `expected a RenderApiError, got ${String(e)}`);
                assert.match(
                    e.message,
                    /^GET \/services\/srv-\w+\/deploys\/dep-x: 200 answer is not a deploy as Render's API describes it: status: Invalid option: expected one of .*"live".* \(request id req-\d+\)$/,
                );
                return true;
            });
        });

        it("rejects a page whose items lack their cursor", async () => {
            fake.reset((_q, res) => send(res, 200, [{ envVar: { key: "A", value: "1" } }]));
            await assert.rejects(
                client().listEnvVars(SERVICE),
                /answer is not a page of environment variables as Render's API describes it: 0\.cursor: Invalid input/,
            );
        });

        it("rejects a body that is not JSON", async () => {
            fake.reset((_q, res) => send(res, 200, "<html>gateway</html>"));
            await assert.rejects(
                client().getService(SERVICE),
                /^RenderApiError: GET \/services\/srv-\w+: 200 answer is not JSON; expected a service/,
            );
        });

        it("accepts a deploy whose finishedAt is null or absent and whose commit is null", async () => {
            const base = { id: "dep-x", status: "live", createdAt: "2025-01-13T16:48:10.46045Z" };
            fake.reset(
                sequence(
                    (_q, res) => send(res, 200, { ...base, finishedAt: null, commit: null }),
                    (_q, res) => send(res, 200, base),
                ),
            );
            assert.equal((await client().getDeploy(SERVICE, "dep-x")).finishedAt, null);
            assert.equal((await client().getDeploy(SERVICE, "dep-x")).finishedAt, undefined);
        });
    });

    describe("environment variables and services", () => {
        it("sets one variable with PUT /env-vars/{key} and a {value} body, never the whole-set PUT", async () => {
            fake.reset((req, res) => send(res, 200, { key: "DISABLE_SIGNUP", value: JSON.parse(req.body).value }));
            await client().setEnvVar(SERVICE, "DISABLE_SIGNUP", "true");
            assert.equal(fake.requests[0].method, "PUT");
            assert.equal(fake.requests[0].path, `/services/${SERVICE}/env-vars/DISABLE_SIGNUP`);
            assert.deepEqual(JSON.parse(fake.requests[0].body), { value: "true" });
            assert.equal(fake.requests[0].headers["content-type"], "application/json");
        });

        it("getEnvVar answers undefined and deleteEnvVar false for a variable that is not there (404)", async () => {
            fake.reset((_q, res) => send(res, 404, { message: "not found" }));
            assert.equal(await client().getEnvVar(SERVICE, "GONE"), undefined);
            assert.equal(await client().deleteEnvVar(SERVICE, "GONE"), false);
            fake.reset((_q, res) => send(res, 204));
            assert.equal(await client().deleteEnvVar(SERVICE, "THERE"), true);
        });

        it("sends the API key as a Bearer token on every request", async () => {
            fake.reset(
                sequence(
                    (_q, res) => send(res, 500, {}),
                    (_q, res) => send(res, 200, { key: "A", value: "1" }),
                ),
            );
            await client().getEnvVar(SERVICE, "A");
            assert.deepEqual(
                fake.requests.map((r) => r.headers.authorization),
                [`Bearer ${API_KEY}`, `Bearer ${API_KEY}`],
            );
        });

        it("updateAutoDeploy sends only autoDeploy", async () => {
            fake.reset((_q, res) =>
                send(res, 200, { id: SERVICE, name: "ahoy-indie-media", autoDeploy: "no", autoDeployTrigger: "off" }),
            );
            const svc = await client().updateAutoDeploy(SERVICE, "no");
            assert.equal(svc.autoDeploy, "no");
            assert.equal(fake.requests[0].method, "PATCH");
            assert.deepEqual(JSON.parse(fake.requests[0].body), { autoDeploy: "no" });
        });

        it("resolveServiceId returns a srv- id untouched without a request", async () => {
            fake.reset((_q, res) => send(res, 500, {}));
            assert.equal(await client().resolveServiceId(SERVICE), SERVICE);
            assert.equal(fake.requests.length, 0);
        });

        it("resolveServiceId finds the one service with exactly that name", async () => {
            const svc = (id: string, name: string) => ({ service: { id, name, autoDeploy: "yes" }, cursor: id });
            fake.reset(
                sequence(
                    (_q, res) =>
                        send(res, 200, [svc("srv-a", "ahoy-indie-media-staging"), svc("srv-b", "ahoy-indie-media")]),
                    (_q, res) => send(res, 200, []),
                ),
            );
            assert.equal(await client().resolveServiceId("ahoy-indie-media"), "srv-b");
            assert.equal(fake.requests[0].query.get("name"), "ahoy-indie-media");
        });

        it("resolveServiceId fails clearly for a missing or an ambiguous name", async () => {
            fake.reset((_q, res) => send(res, 200, []));
            await assert.rejects(
                client().resolveServiceId("nope"),
                /Render service "nope": no service with that name is visible to this API key/,
            );
            const svc = (id: string) => ({ service: { id, name: "twin", autoDeploy: "yes" }, cursor: id });
            fake.reset(
                sequence(
                    (_q, res) => send(res, 200, [svc("srv-1"), svc("srv-2")]),
                    (_q, res) => send(res, 200, []),
                ),
            );
            await assert.rejects(
                client().resolveServiceId("twin"),
                /Render service "twin": 2 services have that name \(srv-1, srv-2\); give the service id/,
            );
        });

        it("refuses to start without an API key", () => {
            assert.throws(() => new RenderClient({ apiKey: "  " }), /RenderClient: apiKey is empty/);
        });
    });

    describe("secrets stay out of errors and logs", () => {
        // Random-looking, as every secret the program writes is (43 URL-safe characters, generated passwords).
        const SECRET = "Zq8xN2vR7kLp0WcT4bYs9HdE1mJf6gUaQ3oW5iKx2Tn";

        it("a failing PUT of a secret value, even one Render echoes back, leaves no trace of it or the key", async () => {
            fake.reset(
                sequence(
                    (req, res) => send(res, 500, { message: `could not store ${JSON.parse(req.body).value}` }),
                    (req, res) =>
                        send(
                            res,
                            429,
                            {
                                message: `slow down with ${JSON.parse(req.body).value} and ${req.headers.authorization}`,
                            },
                            { "Retry-After": "0" },
                        ),
                    (req, res) =>
                        send(res, 400, {
                            message: `value ${JSON.parse(req.body).value} rejected for key ${req.headers.authorization}`,
                        }),
                ),
            );
            const err = await client()
                .setEnvVar(SERVICE, "SECRET_KEY", SECRET)
                .catch((e: unknown) => e);
            assert.ok(
                err instanceof RenderApiError,
                `expected a RenderApiError, got ${err instanceof Error ? err.name : typeof err}`,
            );
            assert.equal(fake.requests.length, 3, "the PUT was not retried through the 500 and the 429");
            const everything = [err.message, String(err.stack), JSON.stringify(err), util.inspect(err), ...logs].join(
                "\n",
            );
            assert.ok(!everything.includes(SECRET), `the secret value leaked:\n${everything}`);
            assert.ok(!everything.includes(API_KEY), `the API key leaked:\n${everything}`);
            assert.match(
                err.message,
                /PUT \/services\/srv-\w+\/env-vars\/SECRET_KEY: 400 value \[redacted\] rejected for key Bearer \[redacted\]/,
            );
        });

        it("a malformed answer to a secret PUT does not quote the value", async () => {
            fake.reset((req, res) =>
                send(res, 200, { key: "SECRET_KEY", value: 42, echo: JSON.parse(req.body).value }),
            );
            const err = await client()
                .setEnvVar(SERVICE, "SECRET_KEY", SECRET)
                .catch((e: unknown) => e);
            assert.ok(
                err instanceof RenderApiError,
                `expected a RenderApiError, got ${err instanceof Error ? err.name : typeof err}`,
            );
            assert.ok(!err.message.includes(SECRET), "the error quotes the secret value Render echoed");
            assert.match(err.message, /value: Invalid input: expected string, received number/);
        });

        it("an error quoting only part of a secret (Render cuts long values) has that part redacted too", async () => {
            fake.reset((_req, res) =>
                send(res, 400, { message: `invalid value: ${SECRET.slice(0, 4)}… (${SECRET.slice(10, 19)})` }),
            );
            const err = await client()
                .setEnvVar(SERVICE, "SECRET_KEY", SECRET)
                .catch((e: unknown) => e);
            assert.ok(err instanceof RenderApiError);
            assert.ok(!err.message.includes(SECRET.slice(0, 4)), `the start of the secret leaked: ${err.message}`);
            assert.ok(
                !err.message.includes(SECRET.slice(10, 19)),
                `a middle part of the secret leaked: ${err.message}`,
            );
            assert.match(err.message, /400 invalid value: \[redacted\]… \(\[redacted\]\)/);
        });

        it("Render's error quoting a DATABASE_URL's password decoded (it was sent percent-encoded) shows none of it", async () => {
            const password = "Xk9$mQ2!pL7&vR4*hT6(wZ1)";
            const url = `postgresql://ahoy_app_blue:${encodeURIComponent(password).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}@db:5432/ahoy_prod`;
            fake.reset((_req, res) => send(res, 400, { message: `password ${password} is too weak` }));
            const err = await client()
                .setEnvVar(SERVICE, "DATABASE_URL", url)
                .catch((e: unknown) => e);
            assert.ok(err instanceof RenderApiError);
            assert.match(err.message, /400 password \[redacted\] is too weak/);
        });

        it("redactSecrets hides every run of 4 or more characters shared with a secret, and nothing else", () => {
            fc.assert(
                fc.property(
                    fc.string({
                        minLength: 8,
                        maxLength: 40,
                        unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"),
                    }),
                    fc.nat(),
                    fc.nat(),
                    (secret, a, b) => {
                        const start = a % (secret.length - 3);
                        const end = Math.min(secret.length, start + 4 + (b % (secret.length - start - 3)));
                        const text = `ERR <${secret.slice(start, end)}> END`;
                        const out = redactSecrets(text, [secret]);
                        assert.ok(!out.includes(secret.slice(start, end)), `${out} still holds the quoted part`);
                        assert.ok(out.includes("[redacted]"));
                    },
                ),
            );
            assert.equal(redactSecrets("nothing shared here", ["Zq8xN2vR"]), "nothing shared here");
            assert.equal(redactSecrets("flag true set", ["true"]), "flag [redacted] set");
        });

        it("a logged or inspected client does not show its API key", () => {
            const c = client();
            assert.ok(!util.inspect(c, { depth: 5 }).includes(API_KEY), "util.inspect(client) shows the API key");
            assert.ok(!JSON.stringify(c).includes(API_KEY), "JSON.stringify(client) shows the API key");
        });
    });
});
