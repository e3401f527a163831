// Required by ts-node once it has registered (tsconfig.json's "ts-node": {"require"}), when the Pulumi CLI loads the
// program. Three things on the critical path of every preview:
// - V8's compiled code for every module loaded from here on (zod's 95 files, the program's transpiled ones) is kept on
//   disk between runs (v8-compile-cache; Node 22's module.enableCompileCache, on the Node 20 this project runs), and so
//   is swc's output for each TypeScript file, by a hash of its source: a file changed since is transpiled again. Both
//   live in node_modules/.cache/ahoy-ops, which only the current user may write (./private-cache.js): code cached
//   there runs under `pulumi up` beside production secrets.
// - If ts-node only transpiles (tsconfig's noCheck, or PULUMI_NODEJS_TRANSPILE_ONLY=true), it is registered again
//   with ts-node's own swc transpiler, several times faster than TypeScript's; if it must type check
//   (PULUMI_NODEJS_TRANSPILE_ONLY=false), it is left as it is. `"swc": true` in tsconfig.json would instead make
//   ts-node refuse to start whenever type checking is asked for.
// - ts-node maps every stack frame through source maps, and the Pulumi SDK takes a stack for every resource and for
//   every promise it makes (runtime/debuggable.js, kept for leak reports): mapping the SDK's own frames read its files
//   and .js.map from disk, to point at TypeScript sources npm does not ship. Only the program's own frames are mapped
//   (to their TypeScript lines); every other frame keeps its JavaScript position.
"use strict";
const path = require("node:path");
const { privateCacheDir } = require("./private-cache");

const root = path.join(__dirname, "..");

const said = new Set();

/** A cache directory only this user can write (./private-cache.js), or undefined after saying (once) why not. */
function cacheDir(parts) {
    const found = privateCacheDir(root, parts);
    if (found.dir) return found.dir;
    if (!said.has(found.problem)) {
        said.add(found.problem);
        process.stderr.write(
            `ahoy-ops: compiled code is not cached: ${found.problem}; remove it (or make it yours, mode 0700) to cache again\n`,
        );
    }
    return undefined;
}

// V8's cache, per V8 version and architecture as v8-compile-cache keys its own default directory.
const v8Cache = cacheDir([`v8-${process.arch}-${process.versions.v8}`]);
if (v8Cache) process.env.V8_COMPILE_CACHE_CACHE_DIR = v8Cache;
else process.env.DISABLE_V8_COMPILE_CACHE = "1";
require("v8-compile-cache");

const REGISTER_INSTANCE = Symbol.for("ts-node.register.instance");
const service = process[REGISTER_INSTANCE];
if (service && service.options.transpileOnly && !service.options.swc) {
    // The first instance stays registered beneath the new one: disabled, its handler passes every file through.
    service.enabled(false);
    cacheTranspiled(require("ts-node").register({ ...service.options, swc: true, require: [] }));
}

/**
 * swc's output for a file, kept in the project's private cache (node_modules/.cache/ahoy-ops/transpiled) under a hash
 * of everything it depends on (the source, the file's path, swc's and ts-node's versions, the compiler options). The
 * output carries its source map inline; source-map-support reads it from `transpiled`, as it reads ts-node's own cache.
 */
function cacheTranspiled(swcService) {
    const crypto = require("node:crypto");
    const fs = require("node:fs");
    const dir = cacheDir(["transpiled"]);
    const salt = JSON.stringify([
        require("@swc/core/package.json").version,
        require("ts-node/package.json").version,
        swcService.config.options,
    ]);
    const transpiled = new Map();
    const compile = swcService.compile;
    swcService.compile = (code, fileName, lineOffset) => {
        const key = crypto.createHash("sha256").update(salt).update(fileName).update("\0").update(code).digest("hex");
        if (!dir) {
            const output = compile(code, fileName, lineOffset);
            transpiled.set(fileName, output);
            return output;
        }
        const file = path.join(dir, `${key}.js`);
        let output;
        try {
            output = fs.readFileSync(file, "utf8");
        } catch {
            output = compile(code, fileName, lineOffset);
            try {
                // Written aside, then renamed: a reader never sees half a file.
                const partial = `${file}.${process.pid}`;
                fs.writeFileSync(partial, output, { mode: 0o600 });
                fs.renameSync(partial, file);
            } catch {
                // A cache that cannot be written only costs the next run the transpiling.
            }
        }
        transpiled.set(fileName, output);
        return output;
    };
    require("@cspotcode/source-map-support").install({ retrieveFile: (file) => transpiled.get(file) ?? null });
}

const sourceMapSupport = require("@cspotcode/source-map-support");
const project = root + path.sep;
const programFrame = (site) => {
    const file = site.getFileName();
    return typeof file === "string" && file.startsWith(project) && !file.includes(`${path.sep}node_modules${path.sep}`);
};
// As source-map-support formats a stack (its prepareStackTrace), mapping only the program's frames, each once: the
// same constructor lines recur in the stacks of every resource.
const mappedFrames = new Map();
Error.prepareStackTrace = (error, stack) => {
    const state = { nextPosition: null, curPosition: null };
    const frames = [];
    for (let i = stack.length - 1; i >= 0; i--) {
        const site = stack[i];
        let text = String(site);
        if (programFrame(site)) {
            const known = mappedFrames.get(text);
            if (known === undefined) {
                const mapped = String(sourceMapSupport.wrapCallSite(site, state));
                mappedFrames.set(text, mapped);
                text = mapped;
            } else {
                text = known;
            }
        }
        frames.push(`\n    at ${text}`);
        state.nextPosition = state.curPosition;
    }
    return `${error}${frames.reverse().join("")}`;
};
