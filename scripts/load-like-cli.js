#!/usr/bin/env node
// Loads index.ts the way the Pulumi CLI and its nodejs language host do, evaluates it under mocks, and prints what it
// declared as JSON. Used by the load test and the start-up benchmark; plain JavaScript so that no other TypeScript
// loader is present.
//
// The stack config is built as the CLI builds it (pulumi/pulumi sdk/go/common/workspace/config.go): the stack file's
// values under full keys (`ahoy-ops:KEY`, `postgresql:host`, `pulumi:...`), the project's `config:` defaults from
// Pulumi.yaml for the keys the stack does not set, and each typed key checked against its type, with the CLI's own
// error, before the program runs. The CLI hands the program every value in plain text (PULUMI_CONFIG, secure ones
// decrypted) and names the keys that were `secure:` in PULUMI_CONFIG_SECRET_KEYS, which is how the program tells a
// secret stored encrypted from one left in plain text. Secure values cannot be decrypted here and are left out unless
// overridden.
//   --print-config                            print that config as JSON and stop
//   PULUMI_CONFIG=<json>                       take the config as given instead (as the language host hands it)
//   AHOY_STACK=prod (default)                  which Pulumi.<stack>.yaml to read
//   AHOY_CONFIG_OVERRIDES='{"ahoy-ops:K":"v"}' full keys to set (null removes one); a bare key or an unknown
//                                             namespace is refused, as the CLI would never send one
//   AHOY_SECRET_OVERRIDES='{"postgresql:password":"v"}'  the same, for keys set with `pulumi config set --secret`
// A failure prints as run.js prints it: a RunError's message alone, anything else with its stack.
"use strict";
const started = process.hrtime.bigint();
const path = require("node:path");
const fs = require("node:fs");

const root = path.join(__dirname, "..");
process.chdir(root);

// The namespaces a stack of this project holds keys in: its own, the engine's, and the providers the program uses.
const NAMESPACES = ["pulumi", "postgresql", "random", "command"];

/** The stack config as the CLI hands it to the language host, with the keys it marks secret, or the CLI's error. */
function cliConfig() {
    const yaml = require("yaml");
    const project = yaml.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
    const stack = process.env.AHOY_STACK || "prod";
    const stackFile = yaml.parse(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8")) ?? {};
    const config = {};
    const secretKeys = new Set();
    for (const [key, value] of Object.entries(stackFile.config ?? {})) {
        if (value !== null && typeof value === "object" && "secure" in value) continue;
        config[key] = typeof value === "object" ? JSON.stringify(value) : String(value);
    }
    for (const [variable, secret] of [
        ["AHOY_CONFIG_OVERRIDES", false],
        ["AHOY_SECRET_OVERRIDES", true],
    ]) {
        for (const [key, value] of Object.entries(JSON.parse(process.env[variable] || "{}"))) {
            const namespace = key.includes(":") ? key.slice(0, key.indexOf(":")) : undefined;
            if (namespace !== project.name && !NAMESPACES.includes(namespace)) {
                throw new Error(
                    `${variable}: ${JSON.stringify(key)} is not a key the CLI would send; expected a full key such as ` +
                        `${project.name}:${key.includes(":") ? key.slice(key.indexOf(":") + 1) : key} (or ${NAMESPACES.join(":, ")}:)`,
                );
            }
            secretKeys.delete(key);
            if (value === null) delete config[key];
            else config[key] = typeof value === "object" ? JSON.stringify(value) : String(value);
            if (secret && value !== null) secretKeys.add(key);
        }
    }
    for (const [name, declared] of Object.entries(project.config ?? {})) {
        const key = name.includes(":") ? name : `${project.name}:${name}`;
        if (!(key in config) && declared.default !== undefined) {
            config[key] =
                typeof declared.default === "object" ? JSON.stringify(declared.default) : String(declared.default);
        }
        if (key in config && declared.type && !fitsType(declared.type, config[key])) {
            throw new Error(`Stack '${stack}' with configuration key '${name}' must be of type '${declared.type}'`);
        }
    }
    return { config, secretKeys: [...secretKeys] };
}

/** The CLI's ValidateConfigValue for a plain (string) stack value. */
function fitsType(type, text) {
    switch (type) {
        case "boolean":
            return text === "true" || text === "false";
        case "integer":
            return /^[+-]?\d+$/.test(text);
        case "object":
            try {
                const parsed = JSON.parse(text);
                return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed);
            } catch {
                return false;
            }
        default:
            return true;
    }
}

async function main() {
    // Given PULUMI_CONFIG (the start-up bench builds it once with --print-config), the config is taken as the
    // language host hands it over: the CLI builds it in Go, before node starts, so its cost is not the program's.
    if (process.env.PULUMI_CONFIG === undefined || process.argv.includes("--print-config")) {
        let config;
        let secretKeys;
        try {
            ({ config, secretKeys } = cliConfig());
        } catch (err) {
            // The CLI refuses such a stack before it starts the program.
            process.stderr.write(`error: ${err.message}\n`);
            process.exit(1);
        }
        if (process.argv.includes("--print-config")) {
            process.stdout.write(JSON.stringify(config) + "\n");
            return;
        }
        // As the language host passes them: the program's SDK reads these when it loads.
        process.env.PULUMI_CONFIG = JSON.stringify(config);
        process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(secretKeys);
    }

    const phase = phases();
    const pulumi = require("@pulumi/pulumi");
    phase("sdk");
    const tsutils = require("@pulumi/pulumi/tsutils");
    const compilerOptions = tsutils.loadTypeScriptCompilerOptions("tsconfig.json");
    const transpileOnly = process.env.PULUMI_NODEJS_TRANSPILE_ONLY
        ? process.env.PULUMI_NODEJS_TRANSPILE_ONLY === "true"
        : compilerOptions.noCheck;
    const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
    // As cmd/run/run.js does (to read its version): TypeScript is loaded before ts-node registers, so ts-node's own
    // v8-compile-cache-lib, whose default directory is a shared one under /tmp, has nothing left to compile or save.
    require(typescriptRequire);
    // The same options cmd/run/run.js passes for a CommonJS project.
    require(tsnodeRequire).register({
        compiler: typescriptRequire,
        transpileOnly,
        project: "tsconfig.json",
        skipProject: false,
        compilerOptions: {},
    });

    phase("loader");
    const breakdown = process.env.AHOY_STARTUP_BREAKDOWN ? instrument(pulumi) : undefined;
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
        process.env.AHOY_STACK || "prod",
        true,
        // The CLI always names the stack's organization; its file backend calls it "organization".
        "organization",
    );

    let exported = [];
    await pulumi.runtime.runInPulumiStack(async () => {
        const program = require(path.join(root, "index.ts"));
        exported = Object.keys(program);
        return program;
    });
    phase("program");
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    const timings = breakdown ? { ...phase.marks, ...breakdown() } : undefined;
    process.stdout.write(
        JSON.stringify({ transpileOnly: Boolean(transpileOnly), elapsedMs, declared, exported, timings }) + "\n",
    );
}

/** Milliseconds since the previous mark, by name: `phase("sdk")` after the SDK's import, and so on. */
function phases() {
    let last = started;
    const mark = (name) => {
        const now = process.hrtime.bigint();
        mark.marks[name] = Number(now - last) / 1e6;
        last = now;
    };
    mark.marks = {};
    return mark;
}

/**
 * Where the program's own time goes (AHOY_STARTUP_BREAKDOWN=1), measured by wrapping what the program calls: ts-node's
 * transpiling of each file, the stack the SDK takes (and source-maps) for every resource, the resource registrations,
 * and the requires of the project's modules and of zod (module loading, less the transpiling inside it).
 */
function instrument(pulumi) {
    const totals = {
        transpileMs: 0,
        moduleLoadMs: 0,
        zodImportMs: 0,
        configParseMs: 0,
        stackTraceMs: 0,
        registerMs: 0,
    };
    const time = (key, fn) =>
        function (...args) {
            const t = process.hrtime.bigint();
            try {
                return fn.apply(this, args);
            } finally {
                totals[key] += Number(process.hrtime.bigint() - t) / 1e6;
            }
        };
    const service = process[Symbol.for("ts-node.register.instance")];
    service.compile = time("transpileMs", service.compile);
    const Module = require("node:module");
    const load = Module._load;
    let depth = 0;
    let zodLoaded = false;
    Module._load = function (request, parent, isMain) {
        const zod = request === "zod" && !zodLoaded;
        if (!request.startsWith(".") && !zod) return load.call(this, request, parent, isMain);
        const outermost = depth === 0;
        depth++;
        const t = process.hrtime.bigint();
        try {
            return load.call(this, request, parent, isMain);
        } finally {
            depth--;
            const ms = Number(process.hrtime.bigint() - t) / 1e6;
            if (zod) {
                zodLoaded = true;
                totals.zodImportMs += ms;
            }
            if (outermost) totals.moduleLoadMs += ms;
        }
    };
    pulumi.Resource.stackTrace = time("stackTraceMs", pulumi.Resource.stackTrace);
    const runtimeResource = require("@pulumi/pulumi/runtime/resource");
    runtimeResource.registerResource = time("registerMs", runtimeResource.registerResource);
    return () => {
        Module._load = load;
        const config = require(path.join(root, "stacks", "config.ts"));
        const t = process.hrtime.bigint();
        config.parseStackConfig({ serviceUrl: "https://ahoy-indie-media.onrender.com" });
        totals.configParseMs = Number(process.hrtime.bigint() - t) / 1e6;
        // Module loading includes the transpiling done inside it.
        totals.moduleLoadMs -= totals.transpileMs;
        return totals;
    };
}

main().catch((err) => {
    const { RunError } = require("@pulumi/pulumi");
    // cmd/run/run.js: "Always hide the stack for RunErrors"; anything else is printed with its stack.
    process.stderr.write(`${RunError.isInstance(err) ? err.message : (err && err.stack) || err}\n`);
    process.exit(1);
});
