// An incident opened and updated through the real Pulumi CLI: the alert and the update posted once each to a Slack
// stand-in (the update reads the stack's own last outputs, a StackReference to itself, and the watch's verdict from the
// stack's tags, while the incident is open), nothing posted by a no-op `up`.
import * as assert from "node:assert/strict";
import { Rehearsal } from "../../scripts/rehearsal/rehearsal";
import { configureIncident } from "../../scripts/rehearsal/reportDrills";
import { convergedRehearsal, toolchainOrSkip } from "./support";
import { startSlackStandIn, type SlackStandIn } from "../support/slackStandIn";

describe("e2e: an incident through the Pulumi CLI (stack e2e-incident)", function () {
    this.timeout(120_000);
    let rehearsal: Rehearsal | undefined;
    let slack: SlackStandIn | undefined;

    before(async function () {
        this.timeout(180_000);
        toolchainOrSkip(this);
        slack = await startSlackStandIn();
        rehearsal = await convergedRehearsal({ stack: `e2e-incident-${process.pid}`, verify: false, stepMs: 100 });
    });

    after(async () => {
        await rehearsal?.close();
        await slack?.close();
    });

    const act = async (name: string, body: Parameters<Rehearsal["action"]>[1]) => {
        const record = await rehearsal!.action(name, body);
        assert.ok(!Rehearsal.failed(record), `${name}: ${JSON.stringify(record.checks)}`);
    };

    it("an incident opened in an up whose mitigation Render refuses: the alert goes out once, and the re-run sends nothing more", async () => {
        await act("open the incident", async (a) => {
            await configureIncident(a, slack!.webhookUrl, "1");
            // The mitigation's first write is refused (a 400, never retried): the comms, declared first and
            // waiting on nothing of the mitigation, still go out.
            await a.configSet("RATE_LIMIT_AUTH", "3 per minute");
            rehearsal!.emulator.inject({ method: "PUT", path: /\/env-vars\/RATE_LIMIT_AUTH$/, status: 400 });
            const refused = await a.pulumi(["up", "--yes"], { allowFailure: true });
            a.check(
                "the up fails at the write",
                refused.code !== 0 && /RATE_LIMIT_AUTH/.test(refused.output),
                `exit ${refused.code}`,
            );
            a.check("one post", slack!.posts.length === 1, `${slack!.posts.length} posts`);
            a.check(
                "the alert",
                /^🚨 INCIDENT ALERT - SEV-1 \(Critical\) - Signup abuse/.test(slack!.posts[0]?.text ?? ""),
                slack!.posts[0]?.text,
            );
            await a.pulumi(["up", "--yes"]);
            a.check("the re-run posts nothing more", slack!.posts.length === 1, `${slack!.posts.length} posts`);
            a.check(
                "and the mitigation is live",
                rehearsal!.emulator.liveEnv().RATE_LIMIT_AUTH === "3 per minute",
                JSON.stringify(rehearsal!.emulator.liveEnv().RATE_LIMIT_AUTH),
            );
        });
    });

    it("a status change posts one update naming the switch on, the stack reading its own last outputs on the way", async () => {
        await act("update the incident", async (a) => {
            await a.configSet("DISABLE_SIGNUP", "true");
            await a.pulumi(["up", "--yes"]);
            // What `npm run watch` keeps of that deploy (test/e2e/watch.test.ts runs the watch itself).
            const deployId = (await a.pulumi(["stack", "output", "deployId"])).stdout.trim();
            const verdict = `watch of DISABLE_SIGNUP (deploy ${deployId}): clean: nothing crossed in its 300 s window`;
            const ended = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
            await a.pulumi(["stack", "tag", "set", `ahoy-watch.${deployId}`, `${ended} ${verdict}`]);
            await a.configSet("incidentStatus", "mitigating");
            await a.pulumi(["up", "--yes"]);
            const update = slack!.posts[1]?.text ?? "";
            a.check("one more post", slack!.posts.length === 2, `${slack!.posts.length} posts`);
            a.check("the update", /^📊 INCIDENT UPDATE - Signup abuse\n/.test(update), update);
            a.check("its Progress names the switch that is on", /Progress: .*DISABLE_SIGNUP/.test(update), update);
            a.check(
                "and what the watch after the switch's up saw, read from the stack's tags",
                update.includes(`; ${verdict} (the watch ended `),
                update,
            );
        });
    });

    it("a no-op up posts nothing, and the webhook URL is in no output", async () => {
        await act("no-op with an incident open", async (a) => {
            const up = await a.pulumi(["up", "--yes"]);
            a.check("nothing posted", slack!.posts.length === 2, `${slack!.posts.length} posts`);
            a.check("the webhook's token is not printed", !up.output.includes(slack!.token), "printed");
            const exported = await a.pulumi(["stack", "export"]);
            a.check("nor in the state in plain text", !exported.stdout.includes(slack!.token), "in the state");
        });
    });
});
