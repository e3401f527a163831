// Dynamic resources whose provider is a few lines of JavaScript that require the implementation in the provider host.
import * as pulumi from "@pulumi/pulumi";

/**
 * The JavaScript Pulumi stores as a dynamic resource's `__provider` and the dynamic-provider host loads
 * (require-from-string, then `handler()`). It names the implementation module and requires it when a method is first
 * called: the engine runs the host in the project directory with plain node, so TypeScript comes in through tsx's
 * require hook, and node's module cache keeps one instance per host, so what `configure` stores there is seen by later
 * calls. Written as text, not produced by Pulumi's closure serializer: nothing can be captured (no secret, no client),
 * the state carries the same few lines whatever the implementation, and the serializer's cost (about 0.3 s on the first
 * resource, measured when this replaced it) is kept out of every preview; `npm run bench` prints the start-up it gives.
 */
function providerSource(modulePath: string, exportName: string): string {
    return `"use strict";
// ahoy-ops dynamic provider: ${exportName}, implemented in ${modulePath} (relative to the project directory).
exports.handler = function () {
    const modulePath = ${JSON.stringify(modulePath)};
    const exportName = ${JSON.stringify(exportName)};
    function impl() {
        const file = require("node:path").join(process.cwd(), modulePath);
        if (!require("node:fs").existsSync(file)) {
            throw new Error("dynamic provider implementation " + modulePath + " not found under " + process.cwd() +
                ": the provider host must run in the ahoy-ops project directory");
        }
        if (!require.extensions[".ts"]) require("tsx/cjs/api").register();
        const provider = require(file)[exportName];
        if (!provider) throw new Error(modulePath + " exports no provider named " + exportName);
        return provider;
    }
    return {
        async configure(req) { const p = impl(); if (p.configure) await p.configure(req); },
        async check(olds, news) { const p = impl(); return p.check ? p.check(olds, news) : { inputs: news }; },
        async diff(id, olds, news) { const p = impl(); return p.diff ? p.diff(id, olds, news) : {}; },
        async create(inputs) { return impl().create(inputs); },
        async read(id, props) { const p = impl(); return p.read ? p.read(id, props) : { id, props }; },
        async update(id, olds, news) { const p = impl(); return p.update ? p.update(id, olds, news) : {}; },
        async delete(id, props) { const p = impl(); if (p.delete) await p.delete(id, props); },
    };
};
`;
}

/** A dynamic resource type: its token parts, and the provider source every resource of the type carries. */
export interface ModuleProvider {
    /** The token's module: `pulumi-nodejs:dynamic/<module>:<type>`. */
    readonly module: string;
    readonly type: string;
    /** What the state stores as `__provider`. */
    readonly source: string;
}

/** The provider of a dynamic resource type whose implementation is `exportName` of `modulePath` (from the project root). */
export function moduleProvider(module: string, type: string, modulePath: string, exportName: string): ModuleProvider {
    return { module, type, source: providerSource(modulePath, exportName) };
}

/**
 * A dynamic resource, registered exactly as `pulumi.dynamic.Resource` registers one (the token
 * `pulumi-nodejs:dynamic/<module>:<type>` and the provider in `__provider`), with the provider given as source text.
 */
export abstract class ModuleResource extends pulumi.CustomResource {
    protected constructor(
        provider: ModuleProvider,
        name: string,
        props: pulumi.Inputs,
        opts?: pulumi.CustomResourceOptions,
    ) {
        if ("__provider" in props)
            throw new Error(`${provider.type} ${name}: a dynamic resource must not define __provider`);
        super(
            `pulumi-nodejs:dynamic/${provider.module}:${provider.type}`,
            name,
            { ...props, __provider: provider.source },
            opts,
        );
    }
}
