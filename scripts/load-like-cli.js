#!/usr/bin/env node
// Loads index.ts the way the Pulumi CLI's nodejs host does (ts-node registered from tsconfig.json, `noCheck`
// deciding transpile-only, the stack config in PULUMI_CONFIG), evaluates it under mocks, and prints what it declared
// as JSON.
// Used by the load test and the start-up benchmark; plain JavaScript so that no other TypeScript loader is present.
"use strict";
const started = process.hrtime.bigint();
const path = require("node:path");
const fs = require("node:fs");

const root = path.join(__dirname, "..");
process.chdir(root);

async function main() {
    const pulumi = require("@pulumi/pulumi");
    const tsutils = require("@pulumi/pulumi/tsutils");
    const compilerOptions = tsutils.loadTypeScriptCompilerOptions("tsconfig.json");
    const transpileOnly = process.env.PULUMI_NODEJS_TRANSPILE_ONLY
        ? process.env.PULUMI_NODEJS_TRANSPILE_ONLY === "true"
        : compilerOptions.noCheck;
    const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
    // The same options cmd/run/run.js passes for a CommonJS project on TypeScript >= 4.7.
    require(tsnodeRequire).register({
        compiler: typescriptRequire,
        transpileOnly,
        project: "tsconfig.json",
        skipProject: false,
        compilerOptions: {
            target: "ES2020",
            module: "nodenext",
            moduleResolution: "nodenext",
            sourceMap: "true",
            ...compilerOptions,
        },
    });

    const declared = [];
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                declared.push({ type: args.type, name: args.name });
                return { id: `${args.name}-id`, state: args.inputs };
            },
            call: (args) => args.inputs,
        },
        "ahoy-ops",
        "prod",
        true,
    );
    // The CLI hands the program its stack config in PULUMI_CONFIG (JSON, full keys), as the test and the benchmark
    // do; run by hand without it, the script reads Pulumi.prod.yaml (plain values only) plus AHOY_CONFIG_OVERRIDES.
    if (!process.env.PULUMI_CONFIG) {
        const stack = require("yaml").parse(fs.readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8"));
        const config = {};
        for (const [key, value] of Object.entries(stack.config ?? {})) {
            if (typeof value !== "object" || value === null) config[key] = String(value);
        }
        Object.assign(config, JSON.parse(process.env.AHOY_CONFIG_OVERRIDES ?? "{}"));
        pulumi.runtime.setAllConfig(config, []);
    }

    let exported = [];
    await pulumi.runtime.runInPulumiStack(async () => {
        const program = require(path.join(root, "index.ts"));
        exported = Object.keys(program);
        return program;
    });
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    process.stdout.write(
        JSON.stringify({ transpileOnly: Boolean(transpileOnly), elapsedMs, declared, exported }) + "\n",
    );
}

main().catch((err) => {
    process.stderr.write(`${err && err.message ? err.message : err}\n`);
    process.exit(1);
});
