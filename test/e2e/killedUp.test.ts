// An `up` killed with `kill -9` during a flip's deploy (a CI runner's timeout, a closed laptop), then what the README
// says to do, through the real Pulumi CLI: `pulumi cancel`, then `pulumi up`, converge with one deploy.
import * as assert from "node:assert/strict";
import type { Deploy } from "../../emulator";
import { Rehearsal } from "../../scripts/rehearsal/rehearsal";
import { waitFor } from "../support/wait";
import { convergedRehearsal, toolchainOrSkip } from "./support";

describe("e2e: a killed up, then pulumi cancel and pulumi up (stack e2e-killed)", function () {
    this.timeout(180_000);
    let rehearsal: Rehearsal | undefined;

    before(async function () {
        this.timeout(240_000);
        toolchainOrSkip(this);
        // Each deploy status lasts 1.5 s: long enough to kill the up while its deploy is in flight.
        rehearsal = await convergedRehearsal({ stack: `e2e-killed-${process.pid}`, verify: false, stepMs: 1_500 });
    });

    after(async () => {
        await rehearsal?.close();
    });

    it("kill -9 during DISABLE_SIGNUP's deploy: pulumi cancel, then pulumi up: one deploy, the switch live, then a no-op", async () => {
        const r = rehearsal!;
        const record = await r.action("killed flip, cancel, up", async (a) => {
            const emulator = r.emulator;
            const before = new Set(emulator.deploys().map((d) => d.id));
            const ours = (): Deploy[] => emulator.deploys().filter((d) => !before.has(d.id) && d.trigger === "api");
            await a.configSet("DISABLE_SIGNUP", "true");
            const killed = a.pulumi(["up", "--yes"], { allowFailure: true });
            await waitFor("the flip's deploy to be in flight", () => ours().length === 1, { timeoutMs: 90_000 });
            r.cli.killAll();
            const result = await killed;
            a.check("the up was killed", result.signal === "SIGKILL", `${result.signal ?? result.code}`);
            a.check("its deploy was still in flight", ours()[0]?.status !== "live", ours()[0]?.status);

            // What an up says while the killed one's lock is held.
            const locked = await a.pulumi(["up", "--yes"], { allowFailure: true });
            a.check("the next up is refused while the lock is held", locked.code !== 0, "it ran");
            a.check(
                "...saying so",
                /locked/i.test(locked.output),
                locked.output.trim().split("\n").slice(-3).join(" "),
            );

            await a.pulumi(["cancel", "--yes"]);
            const up = await a.pulumi(["up", "--yes"]);
            a.check(
                "pulumi up warns of the killed up's pending operations",
                /pending operations from previous deployment/.test(up.output) &&
                    /pulumi-nodejs:dynamic\/render:Deploy::ahoy-deploy, interrupted while updating/.test(up.output),
                up.output
                    .split("\n")
                    .filter((l) => /pending|interrupted/.test(l))
                    .join(" | "),
            );
            a.check("it adopted the killed up's deploy", /adopting dep-\w+/.test(up.output), "no adoption line");
            a.check("one deploy in all", ours().length === 1, JSON.stringify(ours().map((d) => d.id)));
            a.check("DISABLE_SIGNUP is live", emulator.liveEnv().DISABLE_SIGNUP === "true", "not live");
            const res = await fetch(`${emulator.appUrl}/api/auth/register`, { method: "POST", body: "{}" });
            await res.arrayBuffer();
            a.check("the app refuses signups (503)", res.status === 503, String(res.status));
            const exported = JSON.parse((await a.pulumi(["stack", "export"])).stdout) as {
                deployment: { pending_operations?: unknown[] };
            };
            a.check(
                "no pending operation is left in the state",
                (exported.deployment.pending_operations ?? []).length === 0,
                JSON.stringify(exported.deployment.pending_operations),
            );

            const mark = a.mark();
            const again = await a.pulumi(["up", "--yes"]);
            a.check("the next up writes nothing", a.writesSince(mark) === 0, `${a.writesSince(mark)} writes`);
            a.check(
                "and changes nothing",
                !/updated|created|deleted|replaced/.test(again.output.split("Resources:").pop() ?? ""),
                again.output.split("Resources:").pop(),
            );
            a.check("still one deploy", ours().length === 1, JSON.stringify(ours().map((d) => d.id)));
        });
        const failed = record.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
        assert.ok(!Rehearsal.failed(record), `${failed.join("\n")}\n${record.error ?? ""}\n(CLI output: ${r.logFile})`);
    });
});
