// The five-minute watch outside `pulumi up`, through the real Pulumi CLI: a second action typed 5 s after the first went
// live is not refused and is live within its own deploy time plus 15 s, while the first action's watch (npm run watch)
// reports its window as superseded; a regression in a window is reported by that window's watch even after the next
// action started; Ctrl-C ends a watch within 2 s, and the next up neither deploys nor verifies anything.
//
// The window is the issue's 120 s; every watch here ends before it (superseded, or Ctrl-C), so its length costs no time
// and proves the point: an up that waited for the previous window would take over 100 s, not seconds.
import * as assert from "node:assert/strict";
import type { Deploy } from "../../emulator";
import { Rehearsal } from "../../scripts/rehearsal/rehearsal";
import { configureIncident } from "../../scripts/rehearsal/reportDrills";
import { startWatch, type WatchRun } from "../../scripts/rehearsal/watch";
import { convergedRehearsal, toolchainOrSkip } from "./support";
import { startSlackStandIn, type SlackStandIn } from "../support/slackStandIn";

const WINDOW_SECONDS = 120;

describe("e2e: the watch leaves pulumi up (stack e2e-watch)", function () {
    this.timeout(120_000);
    let rehearsal: Rehearsal | undefined;
    let slack: SlackStandIn | undefined;
    const watches: WatchRun[] = [];

    before(async function () {
        this.timeout(240_000);
        toolchainOrSkip(this);
        slack = await startSlackStandIn();
        rehearsal = await convergedRehearsal({ stack: `e2e-watch-${process.pid}`, verify: true, stepMs: 100 });
    });

    after(async () => {
        await Promise.all(watches.map((w) => w.stop()));
        await rehearsal?.close();
        await slack?.close();
    });

    const act = async (name: string, body: Parameters<Rehearsal["action"]>[1]) => {
        const record = await rehearsal!.action(name, body);
        assert.ok(
            !Rehearsal.failed(record),
            `${name}: ${JSON.stringify(record.checks.filter((c) => !c.ok))} ${record.error ?? ""} (CLI output: ${rehearsal!.logFile})`,
        );
    };
    const watch = (args: string[] = []) => {
        const run = startWatch(rehearsal!, args);
        watches.push(run);
        return run;
    };
    /** The deploy Render made since `before` (a set of ids), once it is live. */
    const newDeploy = (before: ReadonlySet<string>): Deploy => {
        const created = rehearsal!.emulator.deploys().filter((d) => !before.has(d.id));
        assert.equal(created.length, 1, `one deploy: ${created.map((d) => `${d.id} ${d.status}`).join(", ")}`);
        return created[0];
    };
    const deployIds = () => new Set(rehearsal!.emulator.deploys().map((d) => d.id));
    const sleepUntil = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

    it("a second action typed 5 s after the first went live is not refused and is live within its own time + 15 s; the first window's verdict is reported, superseded", async () => {
        await act("two actions, one watch", async (a) => {
            const before = deployIds();
            await a.configSet("stabilityWindowSeconds", String(WINDOW_SECONDS));
            const typedFirst = Date.now();
            await a.configSet("RATE_LIMIT_AUTH", "3 per minute");
            const up = await a.pulumi(["up", "--yes"]);
            const first = newDeploy(before);
            const liveAt = Date.parse(String(first.finishedAt));
            // Its own deploy time: a flag flip's, typed with nothing else running, from `config set` to live at Render.
            const alone = liveAt - typedFirst;
            a.check(
                "the up logged the action live and verified, then the command for the rest of the window",
                /is live and verified at \+\d+ s; asking \/healthz for 3 s more .*the rest of its 120 s window: npm run watch -- e2e-watch-/.test(
                    up.output,
                ),
                up.output
                    .split("\n")
                    .filter((l) => l.includes("verify"))
                    .join("\n"),
            );
            a.check(
                "the up ended within 5 s of the deploy going live (its lock is free for the next action)",
                Date.now() - liveAt < 5_000,
                `it ended ${Date.now() - liveAt} ms after ${first.id} went live`,
            );
            // The README's flow: the watch in the same terminal, right after the up.
            const first_watch = watch();
            await sleepUntil(liveAt + 5_000);
            const typed = Date.now();
            const beforeSecond = deployIds();
            await a.configSet("DISABLE_SIGNUP", "true");
            const second = await a.pulumi(["up", "--yes"], { allowFailure: true });
            a.check("the second up is not refused", second.code === 0, second.output.split("\n").slice(-8).join("\n"));
            const deploy = newDeploy(beforeSecond);
            const liveMs = Date.parse(String(deploy.finishedAt)) - typed;
            a.check(
                `the second action is live within its own deploy time + 15 s: ${(liveMs / 1000).toFixed(1)} s after it ` +
                    `was typed, against ${(alone / 1000).toFixed(1)} s for the same kind of action typed alone ` +
                    `(waiting out the first window would add about ${WINDOW_SECONDS} s)`,
                liveMs <= alone + 15_000,
                `${liveMs} ms > ${alone} + 15000 ms`,
            );
            const end = await first_watch.exited;
            const text = first_watch.lines.join("\n");
            a.check(
                "the first watch reports itself superseded by the second deploy, at its time",
                new RegExp(`superseded by ${deploy.id} at \\+\\d+ s`).test(text),
                text,
            );
            a.check(
                "and reports what it saw until then, with a verdict: clean",
                new RegExp(
                    `watch of deploy ${first.id}: clean: nothing crossed in the \\d+ s before ${deploy.id} superseded it \\(health: 1 ok; events: 1 ok; logs: 3 ok; metrics: `,
                ).test(text),
                text,
            );
            a.check("it exits 0", end.code === 0, `exit ${end.code}`);
            a.check("it names no secret", rehearsal!.leakedIn(text).length === 0, rehearsal!.leakedIn(text).join(", "));
        });
    });

    it("a regression in the first window is reported by its watch, with the check, figure, threshold and time, after the next action started, and reaches the open incident's channel once", async () => {
        await act("a regression, then the next action", async (a) => {
            // An incident is open: its alert goes with this up; the watch's finding follows as one Status Update.
            await configureIncident(a, slack!.webhookUrl, "1");
            const before = deployIds();
            await a.configSet("BLOCKED_IPS", "192.168.1.100");
            await a.pulumi(["up", "--yes"]);
            const first = newDeploy(before);
            const first_watch = watch();
            await first_watch.waitForLine(/^watch: watching /);
            // The stand-in app fails /healthz until the watch has said so.
            rehearsal!.emulator.misbehave({ pathPrefix: "/healthz", status: 500 });
            try {
                await first_watch.waitForLine(/^watch: CROSSED /, 10_000);
            } finally {
                rehearsal!.emulator.misbehave(undefined);
            }
            const beforeSecond = deployIds();
            await a.configSet("RATE_LIMIT_AUTH", "5 per minute");
            await a.pulumi(["up", "--yes"]);
            const second = newDeploy(beforeSecond);
            const end = await first_watch.exited;
            const text = first_watch.lines.join("\n");
            a.check("the first watch exits 1: a threshold crossed", end.code === 1, `exit ${end.code}\n${text}`);
            a.check(
                "its failure names the check, the figure, the threshold and the time",
                /^FAILED health: error rate \d+\.\d% is over the 5\.0% limit: \d+ of \d+ answers to GET \/healthz were not 200 \(\d+ x 500\), the first at \+\d+\.\d s/m.test(
                    text,
                ),
                text,
            );
            a.check(
                "its verdict says so, superseded by the next action's deploy",
                new RegExp(
                    `watch of DISABLE_SIGNUP \\(deploy ${first.id}\\): FAILED: \\d thresholds? crossed \\(health.*\\) in the \\d+ s before ${second.id} superseded it`,
                ).test(text),
                text,
            );
            a.check(
                "never 'did not take effect' (that is an up's word for a switch)",
                !/did not take effect/.test(text),
                text,
            );
            const kept = (await a.pulumi(["stack", "tag", "get", `ahoy-watch.${first.id}`])).stdout.trim();
            a.check(
                "its verdict is kept with the stack, for the post-incident report, while the next up ran",
                new RegExp(
                    `^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ watch of DISABLE_SIGNUP \\(deploy ${first.id}\\): FAILED: .*; first: health: error rate`,
                ).test(kept),
                kept,
            );
        });
    });

    it("Ctrl-C ends the watch within 2 s, saying when the action was live and verified and how long it watched; the next up deploys and verifies nothing", async () => {
        await act("Ctrl-C, then an up", async (a) => {
            const run = watch();
            await run.waitForLine(/^watch: watching /);
            await new Promise((resolve) => setTimeout(resolve, 1_500));
            const pressed = run.interrupt();
            const end = await run.exited;
            const ms = Date.now() - pressed;
            const text = run.lines.join("\n");
            a.check(`it ended within 2 s (${ms} ms)`, ms <= 2_000, `${ms} ms`);
            a.check(
                "saying the action was live and verified at +N s and the watch was cut short after M s, and what it saw",
                /^DISABLE_SIGNUP was live and verified at \+\d+ s; the watch was cut short after \d+ s of its 120 s window \(Ctrl-C\); what it saw: nothing crossed in the \d+ s watched \(health: 1 ok; events: 1 could not be judged; logs: 1 could not be judged; metrics: 1 could not be judged\)$/m.test(
                    text,
                ),
                text,
            );
            // npm, given the terminal's SIGINT too, ends by the same signal once the watch has exited 130: $? is 130.
            a.check(
                "it exits 130 (as the shell sees it)",
                end.code === 130 || (end.code === null && end.signal === "SIGINT"),
                `exit ${end.code} ${end.signal ?? ""}`,
            );
            // Written after the watch has gone, by a process of its own.
            let kept: Record<string, string> = {};
            for (let i = 0; i < 40 && !Object.values(kept).some((v) => v.includes("cut short")); i++) {
                await new Promise((resolve) => setTimeout(resolve, 250));
                kept = JSON.parse((await a.pulumi(["stack", "tag", "ls", "--json"])).stdout) as Record<string, string>;
            }
            a.check(
                "its verdict is then kept with the stack all the same",
                Object.values(kept).some((v) => /the watch was cut short after \d+ s/.test(v)),
                JSON.stringify(kept),
            );
            const mark = a.mark();
            const up = await a.pulumi(["up", "--yes"]);
            a.check("the next up deploys nothing", a.deploysCreated() === 0, `${a.deploysCreated()} deploys`);
            a.check("and writes nothing to Render", a.writesSince(mark) === 0, `${a.writesSince(mark)} writes`);
            a.check(
                "nor runs the checks again",
                !/verify:Verification ahoy-verify (updat|creat)/.test(up.output) && /\b\d+ unchanged/.test(up.output),
                up.output
                    .split("\n")
                    .filter((l) => l.includes("ahoy-verify") || l.includes("unchanged"))
                    .join("\n"),
            );
        });
    });

    it("the stack's watch output is plain: the watch reads it without --show-secrets, and it holds no secret", async () => {
        await act("the watch output", async (a) => {
            const outputs = JSON.parse((await a.pulumi(["stack", "output", "--json"])).stdout) as { watch?: unknown };
            a.check(
                "watch is an object, not [secret]",
                typeof outputs.watch === "object",
                JSON.stringify(outputs.watch),
            );
            const text = JSON.stringify(outputs.watch);
            a.check("no secret in it", rehearsal!.leakedIn(text).length === 0, rehearsal!.leakedIn(text).join(", "));
        });
    });
});
