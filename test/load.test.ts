// The program loads the way the Pulumi CLI loads it: ts-node with the project's tsconfig, in a fresh node process.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { prodConfig } from "./support/program";

const run = promisify(execFile);
const script = path.join(__dirname, "..", "scripts", "load-like-cli.js");

interface Loaded {
    transpileOnly: boolean;
    elapsedMs: number;
    declared: Array<{ type: string; name: string }>;
    exported: string[];
}

async function loadLikeCli(overrides: Record<string, string> = {}): Promise<Loaded> {
    // No tsx here: the child must load TypeScript only through ts-node, as the CLI's language host does.
    // The stack config as the CLI's language host passes it: Pulumi.prod.yaml's values in PULUMI_CONFIG.
    const config = { ...prodConfig().values, ...overrides };
    const env = {
        ...process.env,
        PULUMI_CONFIG: JSON.stringify(config),
        PULUMI_CONFIG_SECRET_KEYS: "[]",
        NODE_OPTIONS: "",
    };
    const { stdout } = await run(process.execPath, [script], { env, cwd: path.dirname(script) });
    return JSON.parse(stdout.trim().split("\n").pop() ?? "") as Loaded;
}

describe("loading the program as the Pulumi CLI does", function () {
    this.timeout(60_000);

    it("ts-node loads index.ts with the project's tsconfig, transpiling only, and the program declares its resources", async () => {
        const loaded = await loadLikeCli();
        assert.equal(loaded.transpileOnly, true, "tsconfig's noCheck should make the CLI transpile only");
        const types = loaded.declared.map((d) => d.type);
        assert.ok(types.includes("pulumi-nodejs:dynamic/render:EnvVar"), `declared: ${types.join(", ")}`);
        assert.ok(types.includes("pulumi-nodejs:dynamic/render:Deploy"), `declared: ${types.join(", ")}`);
        assert.ok(loaded.exported.includes("deployId"), `exported: ${loaded.exported.join(", ")}`);
    });

    it("a bad config value fails the load with the key named", async () => {
        await assert.rejects(loadLikeCli({ "ahoy-ops:DISABLE_SIGNUP": "yes" }), (err: Error & { stderr?: string }) => {
            assert.match(err.stderr ?? "", /DISABLE_SIGNUP: got "yes": expected true or false/);
            return true;
        });
    });
});
