// Required by ts-node once it has registered (tsconfig.json's "ts-node": {"require"}), when the Pulumi CLI loads the
// program: if ts-node only transpiles (tsconfig's noCheck, or PULUMI_NODEJS_TRANSPILE_ONLY=true), it is registered
// again with ts-node's own swc transpiler, several times faster than TypeScript's on every preview; if it must type
// check (PULUMI_NODEJS_TRANSPILE_ONLY=false), it is left as it is. `"swc": true` in tsconfig.json would instead make
// ts-node refuse to start whenever type checking is asked for.
"use strict";
const service = process[Symbol.for("ts-node.register.instance")];
if (service && service.options.transpileOnly && !service.options.swc) {
    // The first instance stays registered beneath the new one: disabled, its handler passes every file through.
    service.enabled(false);
    require("ts-node").register({ ...service.options, swc: true, require: [] });
}
