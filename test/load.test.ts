// The program loads the way the Pulumi CLI loads it: the stack config as the CLI builds it, ts-node with the project's
// tsconfig, in a fresh node process; and fails the way the CLI shows a failure.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = path.join(__dirname, "..");
const script = path.join(root, "scripts", "load-like-cli.js");

interface Loaded {
    transpileOnly: boolean;
    elapsedMs: number;
    declared: Array<{ type: string; name: string }>;
    exported: string[];
}

async function loadLikeCli(
    overrides: Record<string, string | null> = {},
    env: NodeJS.ProcessEnv = {},
): Promise<Loaded> {
    // No tsx here: the child must load TypeScript only through ts-node, as the CLI's language host does.
    const { stdout } = await run(process.execPath, [script], {
        env: { ...process.env, AHOY_CONFIG_OVERRIDES: JSON.stringify(overrides), NODE_OPTIONS: "", ...env },
        cwd: root,
    });
    return JSON.parse(stdout.trim().split("\n").pop() ?? "") as Loaded;
}

/** The loader's stderr when it fails (it must). */
async function failure(overrides: Record<string, string | null>, env: NodeJS.ProcessEnv = {}): Promise<string> {
    try {
        await loadLikeCli(overrides, env);
    } catch (err) {
        return (err as { stderr?: string }).stderr ?? "";
    }
    assert.fail(`expected ${JSON.stringify(overrides)} to fail the load`);
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

    it("with PULUMI_NODEJS_TRANSPILE_ONLY=false (type-check at load) it loads, without swc", async () => {
        const loaded = await loadLikeCli({}, { PULUMI_NODEJS_TRANSPILE_ONLY: "false" });
        assert.equal(loaded.transpileOnly, false);
        assert.ok(loaded.declared.length > 5, "the program declared its resources");
    });

    it("a key the stack leaves out takes Pulumi.yaml's default, as the CLI merges it in", async () => {
        // Removing SIGNED_URL_EXPIRY from the stack: the project default (3600) must reach the program, which runs.
        const loaded = await loadLikeCli({ "ahoy-ops:SIGNED_URL_EXPIRY": null, "ahoy-ops:MAINTENANCE_MODE": null });
        assert.ok(loaded.declared.some((d) => d.name === "ahoy-SIGNED_URL_EXPIRY"));
    });

    it("a value of the wrong type for its key is refused with the CLI's own error, before the program runs", async () => {
        const stderr = await failure({ "ahoy-ops:DISABLE_SIGNUP": "yes" });
        assert.match(stderr, /Stack 'prod' with configuration key 'DISABLE_SIGNUP' must be of type 'boolean'/);
        assert.doesNotMatch(stderr, /StackConfigError|The stack's configuration has/, "the program never ran");
    });

    it("a bad value the CLI lets through fails the load with the program's problem list, as a message, not a stack trace", async () => {
        const stderr = await failure({ "ahoy-ops:BLOCKED_IPS": "10.0.0.300", "ahoy-ops:SIGNED_URL_EXPIRY": "10" });
        assert.match(stderr, /The stack's configuration has 2 problems; nothing was changed:/);
        assert.match(stderr, /- BLOCKED_IPS: got "10\.0\.0\.300"/);
        assert.match(stderr, /- SIGNED_URL_EXPIRY: got "10"/);
        assert.doesNotMatch(stderr, /^\s+at /m, "a config error must not print a stack trace");
    });

    it("refuses an override key the CLI would never send: bare, or in a namespace the stack has no use for", async () => {
        assert.match(
            await failure({ DISABLE_SIGNUP: "true" }),
            /AHOY_CONFIG_OVERRIDES: "DISABLE_SIGNUP" is not a key the CLI would send; expected a full key such as ahoy-ops:DISABLE_SIGNUP/,
        );
        assert.match(
            await failure({ "ahoy:DISABLE_SIGNUP": "true" }),
            /"ahoy:DISABLE_SIGNUP" is not a key the CLI would send/,
        );
    });

    it("provider keys reach the program beside its own: a plain-text postgresql:password is refused, managed or not", async () => {
        for (const managed of [{ "ahoy-ops:databaseAppHost": "db.internal" }, {}] as Array<Record<string, string>>) {
            const stderr = await failure({ ...managed, "postgresql:password": "plain-text-password" });
            assert.match(
                stderr,
                /postgresql:password: is stored in plain text; expected `pulumi config set --secret postgresql:password <the admin password>`/,
            );
            assert.ok(!stderr.includes("plain-text-password"), "the value is not printed");
        }
    });

    it("a postgresql:password the CLI marks secret (PULUMI_CONFIG_SECRET_KEYS) is taken", async () => {
        const loaded = await loadLikeCli(
            { "ahoy-ops:databaseAppHost": "db.internal" },
            {
                AHOY_SECRET_OVERRIDES: JSON.stringify({ "postgresql:password": "an-encrypted-one" }),
            },
        );
        assert.ok(
            loaded.declared.some((d) => d.type === "postgresql:index/role:Role"),
            "the login roles are declared",
        );
    });
});

describe("what the CLI and the provider host need at run time is installed without dev dependencies", () => {
    it("ts-node and typescript (the CLI's loader; else it falls back to its bundled ts-node 7 and TypeScript 3.8) and tsx (the provider host's) are dependencies", () => {
        const pkg = require(path.join(root, "package.json")) as { dependencies: Record<string, string> };
        for (const name of ["ts-node", "typescript", "tsx", "@swc/core", "@pulumi/pulumi"]) {
            assert.ok(pkg.dependencies[name], `${name} must be a dependency, not a devDependency`);
        }
    });
});

describe("stack traces under the CLI's loader (scripts/ts-swc.js)", function () {
    this.timeout(30_000);

    it("still point at the program's TypeScript lines, and at the SDK's JavaScript ones", async () => {
        const fs = await import("node:fs");
        const dir = path.join(root, ".tmp");
        fs.mkdirSync(dir, { recursive: true });
        const file = path.join(dir, "throws.ts");
        // Line 4 throws; the type annotations make swc's output lines differ from the source's.
        fs.writeFileSync(
            file,
            "interface Shape {\n    readonly size: number;\n}\nexport function fail(shape: Shape): never {\n    throw new Error(`no ${shape.size}`);\n}\n",
        );
        const script = `
            require("ts-node").register({ transpileOnly: true, project: "tsconfig.json" });
            const pulumi = require("@pulumi/pulumi");
            try { require(${JSON.stringify(file)}).fail({ size: 1 }); } catch (err) { console.log(err.stack); }
            try { new pulumi.Config("ahoy-ops").require("nothing-by-this-name"); } catch (err) { console.log(err.stack); }
        `;
        const { stdout } = await run(process.execPath, ["-e", script], {
            cwd: root,
            env: { ...process.env, NODE_OPTIONS: "" },
        });
        assert.match(
            stdout,
            /at (Object\.)?fail \(.*throws\.ts:5:11\)/,
            `the program's frame maps to its TypeScript line:\n${stdout}`,
        );
        assert.match(
            stdout,
            /node_modules\/@pulumi\/pulumi\/config\.js:\d+:\d+/,
            "the SDK's frame keeps its JavaScript position",
        );
        fs.rmSync(file);
    });
});

describe("the transpiled-file cache of the CLI's loader (scripts/ts-swc.js)", function () {
    this.timeout(30_000);

    it("runs a file changed since it was cached as it is now, not as it was", async () => {
        const fs = await import("node:fs");
        const dir = path.join(root, ".tmp");
        fs.mkdirSync(dir, { recursive: true });
        const file = path.join(dir, "answer.ts");
        const answer = async () => {
            const script = `require("ts-node").register({ transpileOnly: true, project: "tsconfig.json" }); console.log(require(${JSON.stringify(file)}).answer);`;
            const { stdout } = await run(process.execPath, ["-e", script], {
                cwd: root,
                env: { ...process.env, NODE_OPTIONS: "" },
            });
            return stdout.trim();
        };
        fs.writeFileSync(file, "export const answer: number = 41;\n");
        assert.equal(await answer(), "41");
        assert.equal(await answer(), "41", "the cached output runs the same");
        fs.writeFileSync(file, "export const answer: number = 42;\n");
        assert.equal(await answer(), "42", "a changed source is transpiled again");
        fs.rmSync(file);
    });
});
