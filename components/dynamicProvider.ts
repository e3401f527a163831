// Dynamic providers whose code is required inside their methods: the serialized provider is a few lines, not the client.
import type * as pulumi from "@pulumi/pulumi";

/**
 * Loads a provider implementation in the process that runs it. The Pulumi engine starts the dynamic-provider host
 * in the project directory, and the host runs plain node, so TypeScript is loaded through tsx's require hook.
 * Node's module cache keeps one instance per host, so what `configure` stores there is seen by later calls.
 */
export function loadProviderModule(modulePath: string, exportName: string): pulumi.dynamic.ResourceProvider {
    const path = require("node:path") as typeof import("node:path");
    const file = path.join(process.cwd(), modulePath);
    if (!require("node:fs").existsSync(file)) {
        throw new Error(
            `dynamic provider implementation ${modulePath} not found under ${process.cwd()}: ` +
                "the provider host must run in the ahoy-ops project directory",
        );
    }
    if (!require.extensions[".ts"]) require("tsx/cjs/api").register();
    const provider = require(file)[exportName];
    if (!provider) throw new Error(`${modulePath} exports no provider named ${exportName}`);
    return provider;
}

/**
 * A dynamic provider that delegates every method to `exportName` of `modulePath` (relative to the project root),
 * required at run time. Pulumi serializes a provider into the state of every resource it manages; this keeps that to
 * the module's name, keeps the client and its dependencies out of the program's start-up, and captures nothing else.
 */
export function providerFromModule<Inputs, Outputs>(modulePath: string, exportName: string): pulumi.dynamic.ResourceProvider<Inputs, Outputs> {
    const impl = () => loadProviderModule(modulePath, exportName);
    return {
        async configure(req) {
            await impl().configure?.(req);
        },
        async check(olds, news) {
            const provider = impl();
            return provider.check ? provider.check(olds, news) : { inputs: news };
        },
        async diff(id, olds, news) {
            const provider = impl();
            return provider.diff ? provider.diff(id, olds, news) : {};
        },
        async create(inputs) {
            return impl().create(inputs);
        },
        async read(id, props) {
            const provider = impl();
            return provider.read ? provider.read(id, props) : { id, props };
        },
        async update(id, olds, news) {
            const provider = impl();
            return provider.update ? provider.update(id, olds, news) : {};
        },
        async delete(id, props) {
            await impl().delete?.(id, props);
        },
    };
}
