// Start-up on the critical path of every preview: importing @pulumi/pulumi alone, against loading and evaluating the
// whole program the way the Pulumi CLI does (ts-node, transpile only). DESIGN.md's goal: within 1.5x of the import.
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { prodConfig } from "../test/support/program";

const root = path.join(__dirname, "..");
const runs = Number(process.env.BENCH_RUNS ?? 5);
// The stack config as the CLI's language host passes it to the program: Pulumi.prod.yaml's values in PULUMI_CONFIG.
const env = {
    ...process.env,
    PULUMI_CONFIG: JSON.stringify(prodConfig().values),
    PULUMI_CONFIG_SECRET_KEYS: "[]",
    NODE_OPTIONS: "",
};

function wallMs(args: string[]): number {
    const start = process.hrtime.bigint();
    execFileSync(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
    return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}

const importOnly: number[] = [];
const program: number[] = [];
for (let i = 0; i < runs; i++) {
    importOnly.push(wallMs(["-e", 'require("@pulumi/pulumi")']));
    program.push(wallMs([path.join(root, "scripts", "load-like-cli.js")]));
}
const ratio = median(program) / median(importOnly);
console.log(`import @pulumi/pulumi alone:            median ${median(importOnly).toFixed(0)} ms over ${runs} runs`);
console.log(`load + evaluate the program (CLI-like): median ${median(program).toFixed(0)} ms over ${runs} runs`);
console.log(`ratio: ${ratio.toFixed(2)}x (goal: <= 1.5x)`);
