// What the e2e suites share: the toolchain they need, or their skip, named; a rehearsal stack converged to start from.
import * as assert from "node:assert/strict";
import { configure, converge } from "../../scripts/rehearsal/drills";
import { Rehearsal, type RehearsalOptions } from "../../scripts/rehearsal/rehearsal";
import { loadToolchain, type Toolchain } from "../../scripts/rehearsal/toolchain";

/** The toolchain, checked without building; without one the suite reports itself skipped, by name and why. */
export function toolchainOrSkip(context: Mocha.Context): Toolchain {
    const toolchain = loadToolchain({ build: false });
    if (toolchain.problem) {
        console.log(`    skipped "${context.test?.parent?.title}": ${toolchain.problem}`);
        context.skip();
    }
    return toolchain;
}

/** A rehearsal stack configured and converged by the rehearsal's own first two drills; fails naming what failed. */
export async function convergedRehearsal(options: RehearsalOptions): Promise<Rehearsal> {
    const rehearsal = await Rehearsal.open(options);
    for (const drill of [configure, converge]) {
        const record = await rehearsal.action(drill.name, (a) => drill.run(a));
        assert.ok(!Rehearsal.failed(record), `${drill.name}: ${JSON.stringify(record)}`);
    }
    return rehearsal;
}
