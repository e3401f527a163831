// The runbook's actions end to end through the real Pulumi CLI, as `npm run rehearse` plays them (the same drills), against
// the emulator and its stand-in app, a throwaway PostgreSQL and Redis; verification off (`verify false`) to keep it quick.
import * as assert from "node:assert/strict";
import { converge, noOp, RUNBOOK, type Drill } from "../../scripts/rehearsal/drills";
import { Rehearsal, type ActionRecord } from "../../scripts/rehearsal/rehearsal";
import { standInLine } from "../../scripts/rehearsal/toolchain";
import { toolchainOrSkip } from "./support";

/** What went wrong in an action, in words: its error and each failed check with what was seen. */
function failures(record: ActionRecord): string {
    const lines = record.checks.filter((c) => !c.ok).map((c) => `check "${c.name}" failed: ${c.detail}`);
    if (record.error) lines.push(`error: ${record.error}`);
    return lines.join("\n");
}

/** The rehearsal's drills, with a no-op up right after the first one too: the second `up` of a stack changes nothing. */
const DRILLS: readonly Drill[] = RUNBOOK.flatMap((drill) =>
    drill === converge ? [drill, { ...noOp, name: "no-op: the second pulumi up changes nothing" }] : [drill],
);

describe("e2e: the runbook through the Pulumi CLI (stack e2e-runbook)", function () {
    this.timeout(120_000);
    let rehearsal: Rehearsal | undefined;

    before(async function () {
        this.timeout(180_000);
        const toolchain = toolchainOrSkip(this);
        console.log(`    ${standInLine(toolchain)}`);
        rehearsal = await Rehearsal.open({
            stack: `e2e-runbook-${process.pid}`,
            verify: false,
            stepMs: 100,
            postgres: true,
            redis: true,
        });
    });

    after(async () => {
        await rehearsal?.close();
    });

    for (const drill of DRILLS) {
        it(drill.name, async () => {
            const record = await rehearsal!.action(drill.name, (a) => drill.run(a));
            assert.ok(
                !Rehearsal.failed(record),
                `${drill.name}:\n${failures(record)}\n(CLI output: ${rehearsal!.logFile})`,
            );
            assert.ok(record.checks.length > 0, `${drill.name} checked nothing`);
        });
    }
});
