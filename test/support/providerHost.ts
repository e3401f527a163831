// Runs @pulumi/pulumi's own dynamic-provider host in a child process and drives it over gRPC the way the engine does.
import { spawn } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import type * as pulumi from "@pulumi/pulumi";
import type { ModuleProvider } from "../../components/dynamicProvider";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as proto from "@pulumi/pulumi/proto/provider_pb";

/** A resource's properties as they cross the wire (JSON-like). */
export type Props = Record<string, unknown>;

/** The property that carries a dynamic resource's provider: the fixed text `provider.source` of its ModuleProvider. */
export const PROVIDER_KEY = "__provider";

const REPO_ROOT = path.resolve(__dirname, "../..");
const HOST_START_TIMEOUT_MS = 20_000;

/** A value wrapped the way the engine sends a secret to a provider that accepts secrets. */
export function secretWire(value: unknown): Props {
    return { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value };
}

/** The provider object the dynamic-provider host builds from the `__provider` text, for calling its methods in-process. */
export function loadProvider<Inputs = Record<string, unknown>, Outputs = Record<string, unknown>>(
    provider: ModuleProvider,
): pulumi.dynamic.ResourceProvider<Inputs, Outputs> {
    const requireFromString = require("require-from-string") as (code: string) => {
        handler(): pulumi.dynamic.ResourceProvider<Inputs, Outputs>;
    };
    return requireFromString(provider.source).handler();
}

/** The URN the engine gives a dynamic resource of this project, e.g. type "render:EnvVar". */
export function dynamicUrn(type: string, name: string, stack = "test"): string {
    return `urn:pulumi:${stack}::ahoy-ops::pulumi-nodejs:dynamic/${type}::${name}`;
}

export interface CheckFailure {
    property: string;
    reason: string;
}

export interface CheckResult {
    inputs: Props;
    failures: CheckFailure[];
}

export interface DiffResult {
    changes: "none" | "some" | "unknown";
    replaces: string[];
    deleteBeforeReplace: boolean;
}

export interface ReadResult {
    /** Empty when the provider reports the resource gone. */
    id: string;
    properties: Props;
    inputs?: Props;
}

/** The dynamic-provider host, one typed call per ResourceProvider RPC. */
export interface ProviderHost {
    /** Configure, as the engine does before anything else; the host hands these to each provider's `configure`. */
    configure(config: Props): Promise<void>;
    check(urn: string, olds: Props, news: Props): Promise<CheckResult>;
    diff(id: string, urn: string, olds: Props, news: Props): Promise<DiffResult>;
    create(urn: string, props: Props): Promise<{ id: string; properties: Props }>;
    read(id: string, urn: string, props: Props, inputs: Props): Promise<ReadResult>;
    update(id: string, urn: string, olds: Props, news: Props): Promise<Props>;
    delete(id: string, urn: string, props: Props): Promise<void>;
    /** Everything the host wrote to stdout and stderr after its port line (the providers' log lines land here). */
    output(): string;
    /** `kill -9` of the host, mid-call if need be (an `up` killed), and waits until it is gone. */
    kill(): Promise<void>;
    close(): Promise<void>;
}

/**
 * Start the SDK's dynamic-provider host with plain node (no TypeScript loader: the `__provider` text registers tsx
 * itself, as it must under `pulumi up`) in the repo root, so `require` inside provider methods finds the
 * implementations and node_modules as it does under the engine. RENDER_API_KEY and NODE_OPTIONS are not inherited;
 * pass what a test needs in `env`.
 */
export async function startProviderHost(env: NodeJS.ProcessEnv = {}): Promise<ProviderHost> {
    const inherited = { ...process.env };
    delete inherited.RENDER_API_KEY;
    delete inherited.NODE_OPTIONS;
    const hostScript = require.resolve("@pulumi/pulumi/cmd/dynamic-provider/index.js");
    // The host wants an engine address; nothing is dialled unless a provider logs through the engine, which needs
    // PULUMI_NODEJS_ENGINE as well, so log lines go to stdout instead.
    const child = spawn(process.execPath, [hostScript, "127.0.0.1:1"], {
        cwd: REPO_ROOT,
        env: { ...inherited, ...env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    // If the test process dies without its `after` hook, the host must not outlive it.
    const kill = () => child.kill("SIGKILL");
    process.once("exit", kill);
    let output = "";
    let stdout = "";
    const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
            child.kill();
            reject(
                new Error(
                    `dynamic-provider host printed no port within ${HOST_START_TIMEOUT_MS} ms; output: ${output}`,
                ),
            );
        }, HOST_START_TIMEOUT_MS);
        child.stdout.setEncoding("utf8");
        child.stderr.setEncoding("utf8");
        child.stdout.on("data", (chunk: string) => {
            if (stdout.includes("\n")) {
                output += chunk;
                return;
            }
            stdout += chunk;
            const newline = stdout.indexOf("\n");
            if (newline >= 0) {
                clearTimeout(timer);
                output += stdout.slice(newline + 1);
                resolve(Number(stdout.slice(0, newline).trim()));
            }
        });
        child.stderr.on("data", (chunk: string) => {
            output += chunk;
        });
        child.once("exit", (code, signal) => {
            clearTimeout(timer);
            reject(
                new Error(
                    `dynamic-provider host exited (code ${code}, signal ${signal}) before printing its port; output: ${output}`,
                ),
            );
        });
    });

    const client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
            resolve();
        } else {
            child.once("exit", () => resolve());
        }
    });

    function call<Req, Res>(method: string, request: Req): Promise<Res> {
        return new Promise<Res>((resolve, reject) => {
            const fn = (
                client as unknown as Record<
                    string,
                    (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => void
                >
            )[method];
            fn.call(client, request, (err, res) => {
                if (err) {
                    // The host puts the provider's error message in `details`; keep it as the message.
                    reject(Object.assign(new Error(err.details || err.message), { code: err.code }));
                } else {
                    resolve(res);
                }
            });
        });
    }

    return {
        async configure(config) {
            const req = new proto.ConfigureRequest();
            req.setArgs(toStruct(config));
            req.setAcceptsecrets(true);
            await call<proto.ConfigureRequest, proto.ConfigureResponse>("configure", req);
        },
        async check(urn, olds, news) {
            const req = new proto.CheckRequest();
            req.setUrn(urn);
            req.setOlds(toStruct(olds));
            req.setNews(toStruct(news));
            const res = await call<proto.CheckRequest, proto.CheckResponse>("check", req);
            return {
                inputs: res.getInputs()?.toJavaScript() ?? {},
                failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
            };
        },
        async diff(id, urn, olds, news) {
            const req = new proto.DiffRequest();
            req.setId(id);
            req.setUrn(urn);
            req.setOlds(toStruct(olds));
            req.setNews(toStruct(news));
            const res = await call<proto.DiffRequest, proto.DiffResponse>("diff", req);
            const changes = {
                [proto.DiffResponse.DiffChanges.DIFF_NONE]: "none",
                [proto.DiffResponse.DiffChanges.DIFF_SOME]: "some",
            } as const;
            return {
                changes: changes[res.getChanges() as keyof typeof changes] ?? "unknown",
                replaces: res.getReplacesList(),
                deleteBeforeReplace: res.getDeletebeforereplace(),
            };
        },
        async create(urn, props) {
            const req = new proto.CreateRequest();
            req.setUrn(urn);
            req.setProperties(toStruct(props));
            const res = await call<proto.CreateRequest, proto.CreateResponse>("create", req);
            return { id: res.getId(), properties: res.getProperties()?.toJavaScript() ?? {} };
        },
        async read(id, urn, props, inputs) {
            const req = new proto.ReadRequest();
            req.setId(id);
            req.setUrn(urn);
            req.setProperties(toStruct(props));
            req.setInputs(toStruct(inputs));
            const res = await call<proto.ReadRequest, proto.ReadResponse>("read", req);
            return {
                id: res.getId(),
                properties: res.getProperties()?.toJavaScript() ?? {},
                inputs: res.getInputs()?.toJavaScript(),
            };
        },
        async update(id, urn, olds, news) {
            const req = new proto.UpdateRequest();
            req.setId(id);
            req.setUrn(urn);
            req.setOlds(toStruct(olds));
            req.setNews(toStruct(news));
            const res = await call<proto.UpdateRequest, proto.UpdateResponse>("update", req);
            return res.getProperties()?.toJavaScript() ?? {};
        },
        async delete(id, urn, props) {
            const req = new proto.DeleteRequest();
            req.setId(id);
            req.setUrn(urn);
            req.setProperties(toStruct(props));
            await call<proto.DeleteRequest, unknown>("delete", req);
        },
        output: () => output,
        async kill() {
            process.removeListener("exit", kill);
            child.kill("SIGKILL");
            await exited;
            client.close();
        },
        async close() {
            process.removeListener("exit", kill);
            client.close();
            child.kill();
            await exited;
        },
    };
}

function toStruct(props: Props): Struct {
    // JSON drops undefined properties, as the engine never sends them.
    return Struct.fromJavaScript(JSON.parse(JSON.stringify(props)));
}

/** What the engine records for one resource after a step. */
export interface ResourceState {
    urn: string;
    id: string;
    inputs: Props;
    outputs: Props;
}

export type StepOp = "create" | "update" | "replace" | "same";

/**
 * One resource through `pulumi up` in the engine's order: Check the new inputs against the recorded ones, Diff them
 * against the recorded outputs, then Create, Update, replace (Delete and Create in the order Diff asks for) or nothing.
 * `inputs` include the serialized provider under `__provider`.
 */
export async function upResource(
    host: ProviderHost,
    urn: string,
    inputs: Props,
    prior?: ResourceState,
): Promise<{ op: StepOp; state: ResourceState; diff?: DiffResult }> {
    const checked = await host.check(urn, prior?.inputs ?? {}, inputs);
    if (checked.failures.length > 0) {
        throw new Error(
            `${urn}: check failed: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`,
        );
    }
    const news = checked.inputs;
    if (!prior) {
        const created = await host.create(urn, news);
        return { op: "create", state: { urn, id: created.id, inputs: news, outputs: created.properties } };
    }
    const diff = await host.diff(prior.id, urn, prior.outputs, news);
    if (diff.changes === "none") {
        return { op: "same", diff, state: { ...prior, inputs: news } };
    }
    if (diff.replaces.length > 0) {
        if (diff.deleteBeforeReplace) {
            await host.delete(prior.id, urn, prior.outputs);
        }
        const created = await host.create(urn, news);
        if (!diff.deleteBeforeReplace) {
            await host.delete(prior.id, urn, prior.outputs);
        }
        return { op: "replace", diff, state: { urn, id: created.id, inputs: news, outputs: created.properties } };
    }
    const outputs = await host.update(prior.id, urn, prior.outputs, news);
    return { op: "update", diff, state: { ...prior, inputs: news, outputs } };
}

/** `pulumi refresh` of one resource: Read, and the state it leaves (undefined when the provider reports it gone). */
export async function refreshResource(host: ProviderHost, state: ResourceState): Promise<ResourceState | undefined> {
    const read = await host.read(state.id, state.urn, state.outputs, state.inputs);
    if (!read.id) {
        return undefined;
    }
    return { urn: state.urn, id: read.id, inputs: read.inputs ?? state.inputs, outputs: read.properties };
}

/**
 * A Render request by kind, ids and keys replaced by placeholders, e.g. "PUT /services/{id}/env-vars/{key}", so tests
 * and the bench can count what a change cost. Paths are taken with or without the /v1 prefix.
 */
export function renderRequestKind(request: { method: string; path: string }): string {
    const path = request.path
        .replace(/^\/v1(?=\/)/, "")
        .replace(/^\/services\/[^/]+/, "/services/{id}")
        .replace(/\/env-vars\/[^/]+/, "/env-vars/{key}")
        .replace(/\/deploys\/[^/]+/, "/deploys/{deployId}");
    return `${request.method} ${path}`;
}
