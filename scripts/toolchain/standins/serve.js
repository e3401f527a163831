// TEST-ONLY stand-in resource plugins: what the three stand-ins share. Never used outside the toolchain's cache.
//
// A stand-in is a Node.js resource provider served by @pulumi/pulumi's own `provider.main`, speaking the engine's
// ResourceProvider protocol for the few resource types (and properties) this program uses. scripts/pulumi-toolchain
// installs one, under its cache's PULUMI_HOME only, when the real plugin cannot be built from the Go module proxy.
//
// The SDK's provider server answers Configure without passing the request on (server.js `configure`), and a provider
// whose settings come from the stack config (postgresql:host, ...) needs them: `serve` wraps that one gRPC method,
// before `provider.main` registers the server, to hand the request to `configure` first.
//
// Secrets: the server tells the engine it accepts secrets, so secret inputs arrive wrapped in Pulumi's secret
// signature and the engine keeps an output secret only if the provider returns it wrapped (it re-marks outputs by
// input name only for providers that do not accept secrets). The helpers below unwrap values for use and wrap outputs.
"use strict";

const path = require("node:path");

/** Pulumi's wire signatures (sdk/go/common/resource/sig): a special object's "4dabf1..." key holds one of these. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
/** The engine's placeholder, in a preview, for a value not known yet. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

function isObject(v) {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isSecret(v) {
    return isObject(v) && v[SIG_KEY] === SECRET_SIG;
}

/** `v` wrapped as a secret (once). */
function secret(v) {
    return isSecret(v) ? v : { [SIG_KEY]: SECRET_SIG, value: v };
}

/** `v` with every secret (and output value) unwrapped, deeply: what the provider works with. */
function reveal(v) {
    if (Array.isArray(v)) return v.map(reveal);
    if (!isObject(v)) return v;
    if (v[SIG_KEY] === SECRET_SIG) return reveal(v.value);
    if (v[SIG_KEY] === OUTPUT_SIG) return "value" in v ? reveal(v.value) : UNKNOWN;
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = reveal(x);
    return out;
}

/** Whether `v` holds a secret anywhere. */
function containsSecret(v) {
    if (Array.isArray(v)) return v.some(containsSecret);
    if (!isObject(v)) return false;
    if (v[SIG_KEY] === SECRET_SIG) return true;
    if (v[SIG_KEY] === OUTPUT_SIG) return v.secret === true || containsSecret(v.value);
    return Object.values(v).some(containsSecret);
}

/** Whether `v` is, or holds, a value the engine does not know yet (a preview). */
function containsUnknown(v) {
    if (v === UNKNOWN) return true;
    if (Array.isArray(v)) return v.some(containsUnknown);
    if (!isObject(v)) return false;
    if (v[SIG_KEY] === OUTPUT_SIG) return !("value" in v) || containsUnknown(v.value);
    return Object.values(v).some(containsUnknown);
}

/** Deep equality of two revealed values (property order ignored). */
function same(a, b) {
    return JSON.stringify(canonical(reveal(a))) === JSON.stringify(canonical(reveal(b)));
}
function canonical(v) {
    if (Array.isArray(v)) return v.map(canonical);
    if (!isObject(v)) return v === null ? undefined : v;
    const out = {};
    for (const k of Object.keys(v).sort()) if (v[k] !== undefined && v[k] !== null) out[k] = canonical(v[k]);
    return out;
}

/** The properties among `keys` whose new value differs from the recorded one. */
function changedKeys(keys, olds, news) {
    return keys.filter((k) => !same(olds[k], news[k]));
}

/** The type token in a URN: `urn:pulumi:stack::project::parent$type::name` -> `type`. */
function typeOfUrn(urn) {
    const qualified = String(urn).split("::")[2] ?? "";
    return qualified.split("$").pop();
}

/** A one-line reason for a failed precondition, in the form the engine shows a provider's CheckFailure. */
function failure(property, reason) {
    return { property, reason };
}

/**
 * A log line for the engine to show under the resource (severity info), as a real provider's host.Log does. The engine
 * address is the plugin's first argument; the client is made on first use.
 */
let engineClient;
function engineLog(urn, message) {
    const address = require(sdkPath("provider/internals")).parseArgs(process.argv.slice(2))?.engineAddress;
    if (!address) return Promise.resolve();
    const grpc = require(grpcPath());
    const engrpc = require(sdkPath("proto/engine_grpc_pb"));
    const engproto = require(sdkPath("proto/engine_pb"));
    engineClient ??= new engrpc.EngineClient(address, grpc.credentials.createInsecure());
    const req = new engproto.LogRequest();
    req.setSeverity(engproto.LogSeverity.INFO);
    req.setUrn(urn);
    req.setMessage(message);
    return new Promise((resolve) => engineClient.log(req, () => resolve()));
}

/** A file of the @pulumi/pulumi this repository installs (the stand-ins live in it, so node resolves it). */
function sdkPath(rel) {
    return require.resolve(`@pulumi/pulumi/${rel}`);
}
/** The @grpc/grpc-js instance the SDK's provider server uses. */
function grpcPath() {
    return require.resolve("@grpc/grpc-js", { paths: [path.dirname(sdkPath("provider/server"))] });
}

/**
 * The plugin version to report: the one the npm package's `pulumi` field asks for, which is the version
 * scripts/pulumi-toolchain installs the stand-in at.
 */
function wantedVersion(pkg) {
    return require(`@pulumi/${pkg}/package.json`).pulumi.version;
}

/**
 * The provider's settings from a ConfigureRequest: `args` (the engine's typed form, keys without the package prefix)
 * or else `variables` (`pkg:config:key` or `pkg:key` strings), secrets revealed. Values are strings or as the engine
 * typed them.
 */
function configFromRequest(pkg, request) {
    const settings = {};
    const variables = request.getVariablesMap();
    for (const [k, v] of variables.entries()) {
        const key = k.replace(new RegExp(`^${pkg}:(config:)?`), "");
        settings[key] = v;
    }
    const args = request.getArgs()?.toJavaScript() ?? {};
    for (const [k, v] of Object.entries(args)) {
        if (k.startsWith("__")) continue;
        settings[k] = reveal(v);
    }
    return settings;
}

/**
 * Serves `resources` (type token -> { check, diff, create, read, update, delete }, each taking (urn, ...) as the SDK's
 * Provider does) as the plugin `pkg`. `configure(settings)` gets the provider's stack settings.
 */
function serve({ pkg, resources, configure }) {
    const version = wantedVersion(pkg);
    const grpc = require(grpcPath());
    const provrpc = require(sdkPath("proto/provider_grpc_pb"));
    const originalAddService = grpc.Server.prototype.addService;
    grpc.Server.prototype.addService = function (service, implementation) {
        if (service === provrpc.ResourceProviderService && configure) {
            const answer = implementation.configure.bind(implementation);
            implementation.configure = (call, callback) => {
                try {
                    configure(configFromRequest(pkg, call.request));
                } catch (e) {
                    callback(e, undefined);
                    return;
                }
                answer(call, callback);
            };
        }
        return originalAddService.call(this, service, implementation);
    };

    const implFor = (urn) => {
        const type = typeOfUrn(urn);
        const impl = resources[type];
        if (!impl) {
            throw new Error(
                `${pkg} stand-in plugin ${version}: resource type ${type} is not implemented (only ${Object.keys(resources).join(", ")}); ` +
                    "the real plugin could not be built here, see scripts/pulumi-toolchain's status file",
            );
        }
        return impl;
    };
    const provider = {
        version,
        schema: JSON.stringify({
            name: pkg,
            version,
            description: `TEST-ONLY stand-in for the ${pkg} provider plugin (scripts/toolchain/standins)`,
            // As the real schemas say: `random:index/randomBytes:RandomBytes` is module `index`.
            meta: { moduleFormat: "(.*)(?:/[^/]*)" },
            resources: Object.fromEntries(Object.keys(resources).map((t) => [t, { properties: {} }])),
        }),
        check: async (urn, olds, news) => {
            const impl = implFor(urn);
            return impl.check ? impl.check(urn, olds, news) : { inputs: news };
        },
        diff: async (id, urn, olds, news) => implFor(urn).diff(id, urn, olds, news),
        create: async (urn, inputs) => implFor(urn).create(urn, inputs),
        read: async (id, urn, props) => {
            const impl = implFor(urn);
            return impl.read ? impl.read(id, urn, props) : { id, props };
        },
        update: async (id, urn, olds, news) => implFor(urn).update(id, urn, olds, news),
        delete: async (id, urn, props) => {
            const impl = implFor(urn);
            if (impl.delete) await impl.delete(id, urn, props);
        },
    };
    require(sdkPath("provider")).main(provider, process.argv.slice(2));
}

module.exports = {
    UNKNOWN,
    changedKeys,
    containsSecret,
    containsUnknown,
    engineLog,
    failure,
    isSecret,
    reveal,
    same,
    secret,
    serve,
};
