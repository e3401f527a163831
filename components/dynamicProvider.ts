// Dynamic resources whose provider is a few lines of JavaScript that require the implementation in the provider host.
import * as pulumi from "@pulumi/pulumi";

/** Where the `__provider` text finds every implementation, relative to the project directory. */
export const PROVIDER_REGISTRY = "components/providers.ts";

/**
 * The JavaScript Pulumi stores as a dynamic resource's `__provider` and the dynamic-provider host loads
 * (require-from-string, then `handler()`). It names the resource type only, and asks the registry
 * (components/providers.ts) for its implementation when a method is first called: so the state never records a file
 * layout, and a moved implementation still deletes and refreshes what older states hold. The engine runs the host in
 * the project directory with plain node, so TypeScript comes in through tsx's require hook, registered whatever
 * handler node itself may have for `.ts` (Node 23.6 to 24.3 define one that cannot load this project's files). Node's
 * module cache keeps one instance per host, so what `configure` stores there is seen by later calls. Written as text,
 * not produced by Pulumi's closure serializer: nothing can be captured (no secret, no client), the state carries the
 * same few lines whatever the implementation, and the serializer's cost is kept out of every preview.
 */
function providerSource(typeToken: string): string {
    return `"use strict";
// ahoy-ops dynamic provider ${typeToken}: its implementation is looked up in ${PROVIDER_REGISTRY} (project directory).
exports.handler = function () {
    const typeToken = ${JSON.stringify(typeToken)};
    function impl() {
        const registry = require("node:path").join(process.cwd(), ${JSON.stringify(PROVIDER_REGISTRY)});
        if (!require("node:fs").existsSync(registry)) {
            throw new Error("dynamic provider " + typeToken + ": " + ${JSON.stringify(PROVIDER_REGISTRY)} +
                " not found under " + process.cwd() + ": the provider host must run in the ahoy-ops project directory");
        }
        if (!globalThis.__ahoyTsxRegistered) {
            // tsx keeps transpiled code under os.tmpdir() as it is when tsx loads: this host holds the API key and the
            // admin password, so that is the project's private cache (scripts/private-cache.js), or no disk cache at all
            // (a checkout without that file, say after a revert, still runs what an older state's text asks for).
            const path = require("node:path");
            let cacheDir;
            try {
                cacheDir = require(path.join(process.cwd(), "scripts", "private-cache.js")).privateCacheDir(process.cwd(), ["tsx"]).dir;
            } catch {
                cacheDir = undefined;
            }
            const tmpdir = process.env.TMPDIR;
            if (cacheDir) process.env.TMPDIR = cacheDir;
            else process.env.TSX_DISABLE_CACHE = "1";
            try {
                require("tsx/cjs/api").register();
            } finally {
                if (tmpdir === undefined) delete process.env.TMPDIR;
                else process.env.TMPDIR = tmpdir;
            }
            globalThis.__ahoyTsxRegistered = true;
        }
        return require(registry).providerFor(typeToken);
    }
    // The host writes results as protobuf Structs, which refuse an undefined value anywhere ("Unexpected struct type"):
    // an absent property is left out instead, as the engine would never send one.
    function defined(value) {
        if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : defined(item)));
        if (value === null || typeof value !== "object") return value;
        const out = {};
        for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = defined(item);
        return out;
    }
    return {
        async configure(req) { const p = impl(); if (p.configure) await p.configure(req); },
        async check(olds, news) { const p = impl(); return defined(p.check ? await p.check(olds, news) : { inputs: news }); },
        async diff(id, olds, news) { const p = impl(); return p.diff ? p.diff(id, olds, news) : {}; },
        async create(inputs) { return defined(await impl().create(inputs)); },
        async read(id, props) { const p = impl(); return defined(p.read ? await p.read(id, props) : { id, props }); },
        async update(id, olds, news) { const p = impl(); return defined(p.update ? await p.update(id, olds, news) : {}); },
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

/** The provider of the dynamic resource type `<module>:<type>`, whose implementation the registry names. */
export function moduleProvider(module: string, type: string): ModuleProvider {
    return { module, type, source: providerSource(`${module}:${type}`) };
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
