// Every wait of a `pulumi up` has a deadline: the sum for the config schema's maxima stays under up.yml's job timeout,
// the up says it at its start, and a deploy step that would wait past its bounds (another deploy in flight too long,
// ours queued too long) fails naming the deploy, through the dynamic-provider host against the emulator.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { startEmulator, type Emulator } from "../emulator";
import { flagVariables } from "../components/featureFlags";
import { deployBounds } from "../components/render/deployProvider";
import { RENDER_API_KEY_CONFIG } from "../components/render/envVar";
import {
    DEPLOY_BUDGET_MINUTES,
    formatUpWaits,
    QUEUED_MAX_MINUTES,
    upWaits,
    type UpWaitSettings,
} from "../components/upWaits";
import { parseStackConfig, type StackConfig } from "../stacks/config";
import { EngineStack, UpFailed, type Step } from "./support/engine";
import { switchSteps } from "./support/switches";
import { startFaultProxy, type FaultProxy } from "./support/faultProxy";
import { runProgram } from "./support/program";
import { secretWire, startProviderHost, type ProviderHost } from "./support/providerHost";
import { waitFor } from "./support/wait";

const root = path.join(__dirname, "..");
/** What the up job does before `pulumi up` (checkout, node, npm ci, the readiness report), at most. */
const JOB_SETUP_MINUTES = 5;

/** The settings that make an up wait longest: every check, the database managed, each number at its maximum. */
const LONGEST: Record<string, string> = {
    serviceUrl: "https://ahoy-indie-media.onrender.com",
    DISABLE_SIGNUP: "true",
    BLOCK_DIRECT_MEDIA: "true",
    mediaProbePath: "/media/probe.jpg",
    databaseAppHost: "dpg-cr9q1q3v2p9s73b0ug4g-a",
};

/** The largest whole number the config schema accepts for `key` (beside `base`), found by bisection. */
function largestAccepted(key: string, base: Record<string, string>): number {
    const accepts = (n: number) => {
        try {
            parseStackConfig({ ...base, [key]: String(n) });
            return true;
        } catch {
            return false;
        }
    };
    let [low, high] = [1, 10_000_000];
    assert.ok(accepts(low) || accepts(10), `${key}: the schema accepts no small value`);
    if (!accepts(low)) low = 10;
    assert.ok(!accepts(high), `${key}: the schema sets no maximum`);
    while (high - low > 1) {
        const mid = Math.floor((low + high) / 2);
        if (accepts(mid)) low = mid;
        else high = mid;
    }
    return low;
}

describe("every wait of an up is bounded", () => {
    describe("the sum, said at the start and held under the workflow's timeout", () => {
        const base: UpWaitSettings = {
            verify: true,
            MAINTENANCE_PAGE: false,
            DISABLE_SIGNUP: false,
            BLOCK_DIRECT_MEDIA: false,
        };
        // The window is `npm run watch`'s, never the up's: an up checks the action and settles for a few seconds.
        const cases: Array<[string, Partial<UpWaitSettings>, string]> = [
            ["a flag flip: /healthz, then the settle", {}, "this up waits at most 28 min: deploy 25, checks 3"],
            [
                "a kill switch: its check after /healthz",
                { DISABLE_SIGNUP: true },
                "at most 30 min: deploy 25, checks 5",
            ],
            [
                "two switches are checked side by side: one check timeout",
                { DISABLE_SIGNUP: true, BLOCK_DIRECT_MEDIA: true },
                "at most 30 min: deploy 25, checks 5",
            ],
            ["verify false: the deploy only", { verify: false }, "at most 25 min: deploy 25, checks 0"],
            ["the maintenance page up: no checks", { MAINTENANCE_PAGE: true }, "at most 25 min: deploy 25, checks 0"],
            [
                "a managed database: the app's login after a rotation",
                { databaseAppHost: "db" },
                "at most 29 min: deploy 25, checks 3, app login 1",
            ],
        ];
        for (const [what, settings, expected] of cases) {
            it(`${what}: "${expected}"`, () => {
                assert.ok(formatUpWaits(upWaits({ ...base, ...settings })).endsWith(expected));
            });
        }

        it("the up job's timeout-minutes in up.yml holds the longest up the config schema allows, and the job's set-up", () => {
            const workflow = parseYaml(fs.readFileSync(path.join(root, ".github", "workflows", "up.yml"), "utf8")) as {
                jobs: Record<string, { "timeout-minutes"?: number; steps: Array<{ with?: { command?: string } }> }>;
            };
            const [name, job] = Object.entries(workflow.jobs).find(([, j]) =>
                j.steps.some((s) => s.with?.command === "up"),
            )!;
            const timeout = job["timeout-minutes"];
            assert.ok(typeof timeout === "number", `up.yml's job ${name} sets no timeout-minutes`);
            const window = largestAccepted("stabilityWindowSeconds", LONGEST);
            const longest: StackConfig = parseStackConfig({ ...LONGEST, stabilityWindowSeconds: String(window) });
            const waits = upWaits(longest);
            assert.ok(
                waits.total + JOB_SETUP_MINUTES <= timeout,
                `${formatUpWaits(waits)} (stabilityWindowSeconds ${window}, the schema's maximum), plus ` +
                    `${JOB_SETUP_MINUTES} min of set-up, does not fit up.yml's timeout-minutes: ${timeout}`,
            );
        });

        it("pulumi up says, before anything else, how long it waits at most", async () => {
            const run = await runProgram({ DISABLE_SIGNUP: "true" });
            assert.ok(
                run.infos.some((line) => /^this up waits at most \d+ min: deploy 25, checks \d+/.test(line)),
                run.infos.join("\n"),
            );
        });
    });

    describe("the deploy step's own bounds, against the emulator", function () {
        this.timeout(120_000);
        // Each bound at 1/400 of production's: 10 minutes queued is 1.5 s, the step's 25 minutes 3.75 s.
        const SCALE = 1 / 400;
        let emulator: Emulator;
        let proxy: FaultProxy;
        let host: ProviderHost;
        let stack: EngineStack;

        const settings = (values: Record<string, string> = {}) => parseStackConfig({ verify: "false", ...values });
        const program = (config: StackConfig): Step[] =>
            switchSteps(Object.entries(flagVariables(config)), proxy.baseUrl);
        const apiDeploys = (before: ReadonlySet<string>) =>
            emulator.deploys().filter((d) => !before.has(d.id) && d.trigger === "api");
        const ids = () => new Set(emulator.deploys().map((d) => d.id));

        before(async () => {
            // A deploy with a build takes about 3.5 s here: longer than the scaled bounds.
            emulator = await startEmulator({ port: 0, stepMs: 1_000, clock: { createdSeconds: 3, buildSeconds: 60 } });
            proxy = await startFaultProxy(emulator.baseUrl);
            host = await startProviderHost({ AHOY_DEPLOY_WAIT_SCALE: String(SCALE), AHOY_RENDER_RETRY_BASE_MS: "20" });
            await host.configure({ [RENDER_API_KEY_CONFIG]: secretWire(emulator.apiKey) });
            stack = new EngineStack(host);
            await stack.up(program(settings()));
        });
        after(async () => {
            await host?.close();
            await proxy?.close();
            await emulator?.close();
        });

        it("the bounds are production's, scaled only by a drill's AHOY_DEPLOY_WAIT_SCALE", () => {
            assert.deepEqual(deployBounds({}), {
                budgetMs: DEPLOY_BUDGET_MINUTES * 60_000,
                othersMs: 10 * 60_000,
                queuedMs: QUEUED_MAX_MINUTES * 60_000,
            });
            assert.equal(deployBounds({ AHOY_DEPLOY_WAIT_SCALE: "0.5" }).queuedMs, QUEUED_MAX_MINUTES * 30_000);
            assert.throws(() => deployBounds({ AHOY_DEPLOY_WAIT_SCALE: "2" }), /AHOY_DEPLOY_WAIT_SCALE: got "2"/);
        });

        it("a teammate's deploy in flight past the bound: the up fails naming it, deploying nothing; the next up deploys once", async () => {
            const config = settings({ DISABLE_SIGNUP: "true" });
            const before = ids();
            const teammate = emulator.dashboardDeploy();
            const failed = await stack.up(program(config)).catch((err: unknown) => err);
            assert.ok(failed instanceof UpFailed, `expected the up to fail, got ${String(failed)}`);
            assert.equal(failed.step, "ahoy-deploy");
            assert.match(
                failed.message,
                new RegExp(
                    `${teammate.id} of [0-9a-f]{7} \\(trigger manual, \\w+, created .*\\), someone else's, was still in ` +
                        `flight after this up waited 1\\.5 s for the deploys ahead of it to end, so it deployed nothing`,
                ),
            );
            assert.equal(apiDeploys(before).length, 0, "nothing was deployed over it");
            await waitFor("the teammate's deploy to end", () => emulator.liveDeploy()?.id === teammate.id, {
                timeoutMs: 20_000,
            });
            await stack.up(program(config));
            assert.equal(apiDeploys(before).length, 1);
            assert.equal(emulator.liveEnv().DISABLE_SIGNUP, "true");
        });

        it("ours queued behind a deploy that lasts past the bound: the up fails naming ours and the one ahead; the next up adopts ours", async () => {
            const config = settings({ DISABLE_SIGNUP: "false" });
            const before = ids();
            let teammate = "";
            // A teammate deploys from the dashboard the moment our trigger reaches Render: ours queues behind it.
            proxy.inject({
                method: "POST",
                path: /\/deploys$/,
                kind: "pass",
                onMatch: () => (teammate = emulator.dashboardDeploy(emulator.liveDeploy()!.commit.id).id),
            });
            const failed = await stack.up(program(config)).catch((err: unknown) => err);
            assert.ok(failed instanceof UpFailed, `expected the up to fail, got ${String(failed)}`);
            const [ours] = apiDeploys(before);
            assert.match(
                failed.message,
                new RegExp(
                    `deploy ${ours.id} stayed queued for 1\\.5 s behind ${teammate} of [0-9a-f]{7} \\(trigger manual, ` +
                        `[a-z_]+, created .*\\): this up stops waiting. It stays queued and carries the variables when it runs`,
                ),
            );
            await waitFor("ours to go live after the teammate's", () => emulator.liveDeploy()?.id === ours.id, {
                timeoutMs: 20_000,
            });
            const next = await stack.up(program(config));
            assert.equal(next.ops["ahoy-deploy"], "update");
            assert.equal(apiDeploys(before).length, 1, "the next up adopted ours: no second deploy");
            assert.equal(stack.outputs("ahoy-deploy").deployId, ours.id);
            assert.equal(emulator.liveEnv().DISABLE_SIGNUP, "false");
            const again = await stack.up(program(config));
            assert.ok(
                Object.values(again.ops).every((op) => op === "same"),
                JSON.stringify(again.ops),
            );
        });
    });
});
