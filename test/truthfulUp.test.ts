// "`pulumi up` succeeded" means the mitigation is live: the flag program driven in the engine's real order through the
// dynamic-provider host, with a fault proxy between it and the emulator, teammates deploying at the same moment,
// and state that has gone stale. Each drill ends in success with the stand-in app showing the switch, or in a clear
// failure that the next `up` converges from; never a success with the stored and the live value apart, never two
// deploys in one `up`.
import { strict as assert } from "node:assert";
import { startEmulator, type Emulator } from "../emulator";
import { flagVariables } from "../components/featureFlags";
import { RENDER_API_KEY_CONFIG } from "../components/render/envVar";
import { verificationPlan, verificationProvider } from "../components/verification";
import { parseStackConfig, type StackConfig } from "../stacks/config";
import { EngineStack, UpFailed, type Step } from "./support/engine";
import { switchSteps } from "./support/switches";
import { startFaultProxy, type FaultProxy } from "./support/faultProxy";
import { RenderClient } from "../lib/render/client";
import { secretWire, startProviderHost, type ProviderHost } from "./support/providerHost";
import { waitFor } from "./support/wait";

// Short, so "slower than the client's timeout" is a fraction of a second; the proxy holds answers longer than this.
const REQUEST_TIMEOUT_MS = 400;
// After a trigger's answer is lost, the client looks for its deploy twice as long as a request may take (60 s after a
// 30 s timeout in production).
const TRIGGER_LOOKUP_MS = 2 * REQUEST_TIMEOUT_MS;

describe("a truthful `pulumi up`: faults, foreign deploys and the engine's step order", function () {
    this.timeout(120_000);

    let emulator: Emulator;
    let proxy: FaultProxy;
    let host: ProviderHost;
    let stack: EngineStack;

    /** The stack's switches as config, parsed as the program parses them. */
    const settings = (values: Record<string, string> = {}): StackConfig =>
        parseStackConfig({ serviceUrl: "http://127.0.0.1:1", ...values });

    /**
     * The program's Render resources for `config`, in the order it declares them: one EnvVar per switch (absent ones
     * included), the deploy after them taking their revisions, its verification against the stand-in app.
     */
    function program(config: StackConfig, opts: { declareAbsent?: boolean } = {}): Step[] {
        const variables = Object.entries(flagVariables(config)).filter(
            ([, value]) => value !== undefined || opts.declareAbsent !== false,
        );
        const plan = verificationPlan({
            disableSignup: config.DISABLE_SIGNUP,
            blockDirectMedia: false,
            stabilityWindowSeconds: 1,
        });
        return [
            ...switchSteps(variables, proxy.baseUrl),
            {
                name: "ahoy-verify",
                provider: verificationProvider,
                inputs: (states) => ({
                    serviceUrl: emulator.appUrl,
                    deployId: states.get("ahoy-deploy")?.outputs.deployId,
                    ...plan,
                    settleSeconds: 1,
                    checkTimeoutSeconds: 3,
                }),
            },
        ];
    }

    /** The deploys created since `before` (ids), oldest first. */
    const createdSince = (before: ReadonlySet<string>) =>
        emulator
            .deploys()
            .filter((d) => !before.has(d.id))
            .reverse();
    const ids = () => new Set(emulator.deploys().map((d) => d.id));
    const apiDeploys = (since: ReadonlySet<string>) => createdSince(since).filter((d) => d.trigger === "api");

    /** What the stand-in app (the live deploy) shows: its answer to register and the rate limits it applies. */
    async function app(): Promise<{ register: number; policy: string }> {
        const res = await fetch(`${emulator.appUrl}/api/auth/register`, { method: "POST", body: "{}" });
        await res.arrayBuffer();
        return { register: res.status, policy: res.headers.get("ratelimit-policy") ?? "" };
    }

    /** The recorded state and Render agree, and the live deploy runs what the stack declares. */
    function assertTruthful(config: StackConfig): void {
        const declared = flagVariables(config);
        for (const [key, value] of Object.entries(declared)) {
            assert.equal(emulator.envVars()[key], value, `${key}: stored at Render as declared`);
            assert.equal(emulator.liveEnv()[key], value, `${key}: the live deploy runs what is declared`);
        }
        assert.equal(emulator.liveDeploy()?.id, stack.outputs("ahoy-deploy").deployId, "the live deploy is ours");
    }

    before(async () => {
        // Render's buckets, over a 2 s window: a file of drills deploys more than 10 times a minute.
        // Updates that take no time at all: a deploy that reuses a build goes live before any poll can see it queued.
        emulator = await startEmulator({
            port: 0,
            stepMs: 40,
            clock: { updateSeconds: 0.1 },
            rateLimitWindowMs: 2_000,
        });
        proxy = await startFaultProxy(emulator.baseUrl);
        host = await startProviderHost({
            AHOY_RENDER_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
            AHOY_RENDER_RETRY_BASE_MS: "20",
            AHOY_RENDER_TRIGGER_LOOKUP_MS: String(TRIGGER_LOOKUP_MS),
        });
        await host.configure({ [RENDER_API_KEY_CONFIG]: secretWire(emulator.apiKey) });
        stack = new EngineStack(host);
        await stack.up(program(settings()));
        assertTruthful(settings());
    });

    after(async () => {
        await host?.close();
        await proxy?.close();
        await emulator?.close();
    });

    describe("lifting a rate limit, in the engine's order", () => {
        it("`pulumi config rm RATE_LIMIT_AUTH`: the app no longer sees the limit after that one up", async () => {
            const limited = settings({ RATE_LIMIT_AUTH: "3 per minute" });
            await stack.up(program(limited));
            assert.match((await app()).policy, /RATE_LIMIT_AUTH=3 per minute/, "the limit is live first");

            const lifted = settings();
            const before = ids();
            const result = await stack.up(program(lifted));
            assert.equal(result.ops["ahoy-RATE_LIMIT_AUTH"], "update", "the removal is an update, before the deploy");
            assert.deepEqual(result.deleted, [], "nothing is left for the engine's deletions after the deploy");
            assert.equal((await app()).policy, "", "the live deploy no longer applies RATE_LIMIT_AUTH");
            assert.equal(createdSince(before).length, 1, "one deploy");
            assertTruthful(lifted);
        });

        it("declared the old way (no resource for an unset switch), removing the resource leaves the limit, stored and live", async () => {
            // What the program did before: the engine deletes a removed resource only after the deploy, so a delete
            // that removed the variable left the stored and the live value apart. Removing a resource now lets go of
            // the variable (it stays, as the app runs it); only an absent declaration lifts it.
            const limited = settings({ RATE_LIMIT_DEFAULT: "10 per minute" });
            await stack.up(program(limited, { declareAbsent: false }));
            assert.match((await app()).policy, /RATE_LIMIT_DEFAULT=10 per minute/);
            const result = await stack.up(program(settings(), { declareAbsent: false }));
            assert.deepEqual(result.deleted, ["ahoy-RATE_LIMIT_DEFAULT"], "deleted only after every registration");
            assert.equal(emulator.envVars().RATE_LIMIT_DEFAULT, "10 per minute", "still stored...");
            assert.match((await app()).policy, /RATE_LIMIT_DEFAULT=10 per minute/, "...and live: the two agree");
            // Back to the program's shape: the absent switches declared again, and the app in step.
            await stack.up(program(settings()));
            assert.equal((await app()).policy, "");
            assertTruthful(settings());
        });

        it("a preview of the removal shows the variable's update and a deploy to follow", async () => {
            await stack.up(program(settings({ BLOCKED_IPS: "10.0.0.50" })));
            const plan = await stack.preview(program(settings()));
            assert.equal(plan["ahoy-BLOCKED_IPS"].op, "update");
            assert.equal(plan["ahoy-deploy"].op, "update", "the deploy's revisions are unknown until the write");
            assert.equal(plan["ahoy-DISABLE_SIGNUP"].op, "same");
            await stack.up(program(settings()));
            assertTruthful(settings());
        });
    });

    describe("faults between the providers and Render", () => {
        let on = false;
        /** Flips DISABLE_SIGNUP, so each drill is a real mitigation (or stand-down) that must reach the app. */
        const flip = () => {
            on = !on;
            return settings({ DISABLE_SIGNUP: String(on) });
        };

        const drills: Array<[string, () => void]> = [
            [
                "a burst of 429s with Retry-After on the variable write",
                () =>
                    proxy.inject({
                        method: "PUT",
                        path: /\/env-vars\//,
                        kind: "refuse",
                        status: 429,
                        retryAfterSeconds: 1,
                        count: 3,
                    }),
            ],
            [
                "429s without Retry-After on the deploy trigger",
                () => proxy.inject({ method: "POST", path: /\/deploys$/, kind: "refuse", status: 429, count: 2 }),
            ],
            [
                "a gateway 502 after Render had accepted the deploy trigger",
                () => proxy.inject({ method: "POST", path: /\/deploys$/, kind: "replace", status: 502 }),
            ],
            [
                "the deploy trigger answered slower than the client's timeout, after Render acted",
                () =>
                    proxy.inject({ method: "POST", path: /\/deploys$/, kind: "slow", delayMs: REQUEST_TIMEOUT_MS * 3 }),
            ],
            [
                "a connection reset after Render accepted the deploy trigger",
                () => proxy.inject({ method: "POST", path: /\/deploys$/, kind: "reset" }),
            ],
            [
                "the variable write answered slower than the client's timeout (it is sent again)",
                () =>
                    proxy.inject({
                        method: "PUT",
                        path: /\/env-vars\//,
                        kind: "slow",
                        delayMs: REQUEST_TIMEOUT_MS * 3,
                    }),
            ],
            [
                "dropped connections and 500s while polling the deploy, for longer than one request's retries",
                () => {
                    proxy.inject({ method: "GET", path: /\/deploys\/dep-/, kind: "drop", count: 8 });
                    proxy.inject({ method: "GET", path: /\/deploys\/dep-/, kind: "refuse", status: 500, count: 6 });
                },
            ],
        ];
        for (const [what, inject] of drills) {
            it(`${what}: the up succeeds with the switch live, with one deploy`, async () => {
                const config = flip();
                const before = ids();
                inject();
                await stack.up(program(config));
                assert.equal(proxy.pending(), 0, "every injected fault was met");
                assert.equal(apiDeploys(before).length, 1, `one deploy: ${JSON.stringify(createdSince(before))}`);
                assert.equal((await app()).register, on ? 503 : 400, "the app answers as the switch says");
                assertTruthful(config);
                const again = await stack.up(program(config));
                assert.ok(
                    Object.values(again.ops).every((op) => op === "same"),
                    `a re-run is a no-op: ${JSON.stringify(again.ops)}`,
                );
            });
        }
    });

    describe("a deploy trigger whose fate cannot be known", () => {
        it("a 500 to the trigger (Render may have acted): the up fails saying its fate is unknown, never resends; the next up deploys once", async () => {
            // The opposite of what runs now, so the up writes and deploys.
            const config = settings({ DISABLE_SIGNUP: String(emulator.envVars().DISABLE_SIGNUP !== "true") });
            const before = ids();
            const triggers = () => proxy.requests().filter((r) => r.method === "POST" && /\/deploys$/.test(r.path));
            const sent = triggers().length;
            proxy.inject({ method: "POST", path: /\/deploys$/, kind: "refuse", status: 500 });
            const failed = await stack.up(program(config)).catch((err: unknown) => err);
            assert.ok(failed instanceof UpFailed, `expected the up to fail, got ${String(failed)}`);
            assert.equal(failed.step, "ahoy-deploy");
            assert.match(
                failed.message,
                /deploys: 500, and no deploy it could have made .*the trigger's fate is unknown/,
            );
            assert.equal(triggers().length - sent, 1, "the trigger was sent once, never again");
            assert.equal(createdSince(before).length, 0, "Render made no deploy");
            assert.equal(proxy.pending(), 0, "the fault was met");
            await stack.up(program(config));
            assert.equal(apiDeploys(before).length, 1, "one deploy");
            assertTruthful(config);
        });
    });

    describe("a deploy trigger Render acts on late, after the client stopped waiting", () => {
        // Production's figures at 1/30: a request times out after 30 s (here 1 s), a lost trigger's deploy is looked
        // for 60 s (here 2 s). Render acts 1 s, 31 s and 90 s past the timeout (here 33 ms, 1033 ms and 3 s).
        const SCALE = 1 / 30;
        const TIMEOUT_MS = 30_000 * SCALE;
        const saved: { emulator?: Emulator; proxy?: FaultProxy; stack?: EngineStack; host?: ProviderHost } = {};
        before(async () => {
            Object.assign(saved, { emulator, proxy, stack, host });
            emulator = await startEmulator({
                port: 0,
                stepMs: 40,
                clock: { updateSeconds: 0.1 },
                rateLimitWindowMs: 2_000,
            });
            proxy = await startFaultProxy(emulator.baseUrl);
            host = await startProviderHost({
                AHOY_RENDER_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
                AHOY_RENDER_RETRY_BASE_MS: "20",
                AHOY_RENDER_TRIGGER_LOOKUP_MS: String(60_000 * SCALE),
            });
            await host.configure({ [RENDER_API_KEY_CONFIG]: secretWire(emulator.apiKey) });
            stack = new EngineStack(host);
            await stack.up(program(settings()));
        });
        after(async () => {
            await host.close();
            await proxy.close();
            await emulator.close();
            ({ emulator, proxy, stack, host } = saved as Required<typeof saved>);
        });

        let on = false;
        for (const [pastTimeout, answer, within] of [
            [1, "never", true],
            [31, "late", true],
            [90, "never", false],
        ] as const) {
            const outcome = within
                ? "the up finds it within its lookup and uses it"
                : "the up fails saying the trigger's fate is unknown, and the next up adopts the late deploy";
            it(`${pastTimeout} s past the timeout (answer ${answer}): ${outcome}; one deploy, the switch live, then a no-op`, async () => {
                on = !on;
                const config = settings({ DISABLE_SIGNUP: String(on) });
                const before = ids();
                const actAfterMs = TIMEOUT_MS + pastTimeout * 1_000 * SCALE;
                proxy.inject({ method: "POST", path: /\/deploys$/, kind: "late", actAfterMs, answer });
                const first = await stack.up(program(config)).catch((err: unknown) => err);
                if (within) {
                    assert.ok(!(first instanceof Error), `expected the up to succeed, got ${String(first)}`);
                } else {
                    assert.ok(first instanceof UpFailed, `expected the up to fail, got ${String(first)}`);
                    assert.equal(first.step, "ahoy-deploy");
                    assert.match(first.message, /no response \(TIMEOUT\).*the trigger's fate is unknown/);
                    assert.equal(createdSince(before).length, 0, "nothing landed before the up gave up");
                    await waitFor("Render to act on the held trigger", () => apiDeploys(before).length === 1, {
                        timeoutMs: 10_000,
                    });
                    const next = await stack.up(program(config));
                    assert.equal(next.ops["ahoy-deploy"], "update");
                    assert.match(host.output(), /adopting dep-\w+ of [0-9a-f]{7} \(trigger api, /);
                }
                assert.equal(proxy.pending(), 0, "the fault was met");
                // Whatever the proxy still holds has landed by now: Render is in its final state.
                await new Promise((resolve) => setTimeout(resolve, 200));
                assert.equal(apiDeploys(before).length, 1, `one deploy: ${JSON.stringify(createdSince(before))}`);
                await waitFor("the deploy to be live", () => emulator.liveDeploy()?.id === apiDeploys(before)[0].id, {
                    timeoutMs: 10_000,
                });
                assert.equal((await app()).register, on ? 503 : 400, "the app answers as the switch says");
                assertTruthful(config);
                const again = await stack.up(program(config));
                assert.ok(
                    Object.values(again.ops).every((op) => op === "same"),
                    `the next up is a no-op: ${JSON.stringify(again.ops)}`,
                );
                assert.equal(apiDeploys(before).length, 1, "still one deploy");
            });
        }
    });

    describe("someone else deploys at the same moment", () => {
        let on = false;
        const flip = () => {
            on = !on;
            return settings({ DISABLE_SIGNUP: String(on) });
        };
        const render = () => new RenderClient({ apiKey: emulator.apiKey, baseUrl: emulator.baseUrl });
        /** Waits until our deploy (created through the API since `before`) is in flight, then cancels it. */
        async function cancelOurs(before: ReadonlySet<string>): Promise<string> {
            await waitFor("our deploy to start", () => apiDeploys(before).length === 1, { timeoutMs: 10_000 });
            const [ours] = apiDeploys(before);
            await render().cancelDeploy(emulator.serviceId, ours.id);
            return ours.id;
        }

        it("a teammate's dashboard deploy at the moment our trigger's answer is lost is not taken for ours", async () => {
            const config = flip();
            const before = ids();
            const liveCommit = emulator.liveDeploy()!.commit.id;
            let teammate = "";
            proxy.inject({
                method: "POST",
                path: /\/deploys$/,
                kind: "reset",
                onMatch: () => (teammate = emulator.dashboardDeploy(liveCommit).id),
            });
            await stack.up(program(config));
            const ours = apiDeploys(before);
            assert.equal(ours.length, 1, "one deploy of ours");
            assert.notEqual(stack.outputs("ahoy-deploy").deployId, teammate, "the teammate's deploy was adopted");
            assert.equal(stack.outputs("ahoy-deploy").deployId, ours[0].id);
            assertTruthful(config);
        });

        it("an autodeploy in flight when the up starts is waited for, and its commit is what the switch ships with", async () => {
            const config = flip();
            const pushed = emulator.pushCommit({ message: "pushed a moment before the flip" });
            assert.equal(emulator.service().autoDeploy, "yes");
            await stack.up(program(config));
            assert.equal(emulator.liveDeploy()?.commit.id, pushed, "the push is not rolled back by the flip");
            assertTruthful(config);
        });

        /** A push lands at the moment our deploy trigger reaches Render: its autodeploy goes first, ours queues. */
        function pushAtTrigger(): { pushed: () => string } {
            let pushed = "";
            proxy.inject({
                method: "POST",
                path: /\/deploys$/,
                kind: "pass",
                onMatch: () => (pushed = emulator.pushCommit({ message: "pushed during the flip" })),
            });
            return { pushed: () => pushed };
        }

        it("a push whose deploy goes live while ours builds too fast to cancel: the up fails saying ours replaced it", async () => {
            const config = flip();
            const liveCommit = emulator.liveDeploy()!.commit.id;
            const push = pushAtTrigger();
            const failed = await stack.up(program(config)).catch((err: unknown) => err);
            assert.ok(failed instanceof UpFailed, `expected the up to fail, got ${String(failed)}`);
            assert.equal(failed.step, "ahoy-deploy");
            const [pushed, ours] = [push.pushed().slice(0, 7), liveCommit.slice(0, 7)];
            assert.match(
                failed.message,
                new RegExp(`went live with commit ${pushed} while deploy dep-\\w+ of ${ours} waited`),
            );
            assert.match(
                failed.message,
                new RegExp(`the variables are live, but on the older commit ${ours}. Deploy ${pushed} again`),
            );
            // Put the push back as the message says (a release pin to it, then unpinned, would do the same).
            emulator.dashboardDeploy(push.pushed());
            await waitFor("the push to be live again", () => emulator.liveDeploy()?.commit.id === push.pushed(), {
                timeoutMs: 10_000,
            });
            await stack.up(program(config));
            assert.equal(emulator.liveDeploy()?.commit.id, push.pushed());
            assertTruthful(config);
        });

        describe("on a service whose deploys take long enough to be seen queued (real builds take minutes)", () => {
            const saved: { emulator?: Emulator; proxy?: FaultProxy; stack?: EngineStack } = {};
            before(async () => {
                Object.assign(saved, { emulator, proxy, stack });
                // A short build, and an update (the new instance starting, which a deploy without a build takes too)
                // longer than the provider's poll while queued: 1.5 s, where real ones take tens of seconds.
                emulator = await startEmulator({
                    port: 0,
                    stepMs: 1_500,
                    clock: { createdSeconds: 1, buildSeconds: 30 },
                    rateLimitWindowMs: 2_000,
                });
                proxy = await startFaultProxy(emulator.baseUrl);
                await host.configure({ [RENDER_API_KEY_CONFIG]: secretWire(emulator.apiKey) });
                stack = new EngineStack(host);
                await stack.up(program(settings()));
            });
            after(async () => {
                await proxy.close();
                await emulator.close();
                ({ emulator, proxy, stack } = saved as Required<typeof saved>);
                await host.configure({ [RENDER_API_KEY_CONFIG]: secretWire(emulator.apiKey) });
            });

            it("a push landing at the moment of our trigger: ours is canceled, the up fails naming both commits, and a re-run converges", async () => {
                const config = settings({ DISABLE_SIGNUP: "true" });
                const before = ids();
                const liveCommit = emulator.liveDeploy()!.commit.id;
                const push = pushAtTrigger();
                const failed = await stack.up(program(config)).catch((err: unknown) => err);
                assert.ok(failed instanceof UpFailed, `expected the up to fail, got ${String(failed)}`);
                assert.equal(failed.step, "ahoy-deploy");
                const [pushed, ours] = [push.pushed().slice(0, 7), liveCommit.slice(0, 7)];
                assert.match(
                    failed.message,
                    new RegExp(
                        `waited its turn, .* went live with commit ${pushed}; deploying ${ours} now would roll ${pushed} back`,
                    ),
                );
                const [mine] = apiDeploys(before);
                assert.equal(emulator.deploys().find((d) => d.id === mine.id)?.status, "canceled", "ours was canceled");
                assert.equal(emulator.liveDeploy()?.commit.id, push.pushed(), "the push stays live");

                await stack.up(program(config));
                assert.equal(
                    emulator.liveDeploy()?.commit.id,
                    push.pushed(),
                    "the re-run ships the push with the switch",
                );
                assertTruthful(config);
            });

            it("a canceled deploy fails the up naming the status; the re-run deploys again", async () => {
                const config = flip();
                const before = ids();
                const [failed] = await Promise.all([
                    stack.up(program(config)).catch((err: unknown) => err),
                    cancelOurs(before),
                ]);
                assert.ok(failed instanceof UpFailed);
                assert.match(
                    failed.message,
                    /Render deploy dep-\w+ of commit [0-9a-f]{7} ended canceled .*, not live; the variables are written but not running/,
                );
                assert.equal(emulator.envVars().DISABLE_SIGNUP, String(on), "the write happened");
                assert.notEqual(emulator.liveEnv().DISABLE_SIGNUP, String(on), "but it is not running");
                await stack.up(program(config));
                assertTruthful(config);
            });

            it("a failed stand-down, an outside deploy, then the switch set back: the write is deployed, not skipped", async () => {
                const mitigated = settings({ DISABLE_SIGNUP: "true" });
                await stack.up(program(mitigated));
                assert.equal((await app()).register, 503);

                // Stand down, and the deploy is canceled: stored false, live still true.
                const before = ids();
                const standDown = settings({ DISABLE_SIGNUP: "false" });
                const [failed] = await Promise.all([
                    stack.up(program(standDown)).catch((err: unknown) => err),
                    cancelOurs(before),
                ]);
                assert.ok(failed instanceof UpFailed);
                // A teammate deploys from the dashboard: the stored false goes live.
                const outside = emulator.dashboardDeploy();
                await waitFor("the outside deploy to go live", () => emulator.liveDeploy()?.id === outside.id, {
                    timeoutMs: 10_000,
                });
                assert.equal((await app()).register, 400, "signups are open again");

                // Set back to what the state last recorded for the deploy: it must write AND deploy.
                const result = await stack.up(program(mitigated));
                assert.equal(result.ops["ahoy-DISABLE_SIGNUP"], "update");
                assert.equal(result.ops["ahoy-deploy"], "update", "a write is always followed by a deploy");
                assert.equal((await app()).register, 503, "signups are refused again");
                assertTruthful(mitigated);
            });
        });
    });
});
