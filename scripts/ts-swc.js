// Required by ts-node once it has registered (tsconfig.json's "ts-node": {"require"}), when the Pulumi CLI loads the
// program. Two things on the critical path of every preview:
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

const service = process[Symbol.for("ts-node.register.instance")];
if (service && service.options.transpileOnly && !service.options.swc) {
    // The first instance stays registered beneath the new one: disabled, its handler passes every file through.
    service.enabled(false);
    require("ts-node").register({ ...service.options, swc: true, require: [] });
}

const sourceMapSupport = require("@cspotcode/source-map-support");
const project = path.join(__dirname, "..") + path.sep;
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
