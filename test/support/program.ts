// Runs index.ts under pulumi.runtime.setMocks with the real Pulumi.prod.yaml (plus overrides) and records what it declares.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { observeRegistrations, type RegisterRequest, RESERVED } from "./mocks";

export const repoRoot = path.join(__dirname, "..", "..");

/** One resource registration, as the engine would receive it. */
export interface Registration {
    readonly type: string;
    readonly name: string;
    /** Its URN, as the engine makes it: the stack, the project, the parents' types and its own, its name. */
    readonly urn: string;
    readonly inputs: Record<string, unknown>;
    /** The inputs as serialized for the engine: secrets still wrapped in Pulumi's secret signature. */
    readonly raw: Record<string, unknown>;
    /** URNs of the resources this one was declared to depend on. */
    readonly dependencies: string[];
    /** Its parent's URN; "" for the stack itself. */
    readonly parent: string;
    readonly retainOnDelete: boolean;
    /** The URNs its aliases name, resolved as the engine resolves them (a spec's empty fields are the resource's own). */
    readonly aliases: string[];
}

/** The engine's root resource: its children's URNs do not carry its type. */
const STACK_TYPE = "pulumi:pulumi:Stack";

/**
 * The URN the engine gives a resource (pulumi/pulumi resource/urn.go NewURN): the parent's qualified type (its whole
 * chain, the stack's own left out), then its own type, and its name.
 */
export function urnOf(stack: string, project: string, parent: string, type: string, name: string): string {
    const parentType = parent ? parent.split("::")[2] : "";
    const chain = parentType && parentType !== STACK_TYPE ? `${parentType}$${type}` : type;
    return `urn:pulumi:${stack}::${project}::${chain}::${name}`;
}

/** The URN the SDK's mock monitor hands back (runtime/mocks.js newUrn): only the parent's last type, the stack's too. */
function mockUrnOf(stack: string, project: string, parent: string, type: string, name: string): string {
    const chain = parent ? `${parent.split("::")[2].split("$").pop()}$${type}` : type;
    return `urn:pulumi:${stack}::${project}::${chain}::${name}`;
}

/**
 * Engine URNs for registrations seen under the mocks: the mock monitor's URNs are not the engine's (they keep only
 * the parent's last type), so each parent (and alias parent) is looked up by its mock URN.
 */
class UrnBook {
    private readonly engineByMock = new Map<string, string>();

    constructor(
        private readonly stack: string,
        private readonly project: string,
    ) {}

    private engine(mockUrn: string): string {
        return mockUrn ? (this.engineByMock.get(mockUrn) ?? mockUrn) : "";
    }

    /** The engine URN of the registration's parent ("" for none). */
    parent(req: RegisterRequest): string {
        return this.engine(req.getParent());
    }

    /** The registration's engine URN, remembered so its children find their parent's. */
    urn(req: RegisterRequest): string {
        const urn = urnOf(this.stack, this.project, this.engine(req.getParent()), req.getType(), req.getName());
        this.engineByMock.set(mockUrnOf(this.stack, this.project, req.getParent(), req.getType(), req.getName()), urn);
        return urn;
    }

    /** The URNs its aliases name, resolved as the engine resolves a spec (empty fields are the resource's own). */
    aliases(req: RegisterRequest): string[] {
        return req.getAliasesList().map((alias) => {
            const spec = alias.getSpec();
            if (!spec || alias.getUrn()) return alias.getUrn();
            const parent = spec.getNoparent() ? "" : this.engine(spec.getParenturn() || req.getParent());
            return urnOf(
                spec.getStack() || this.stack,
                spec.getProject() || this.project,
                parent,
                spec.getType() || req.getType(),
                spec.getName() || req.getName(),
            );
        });
    }
}

/** Records every registration's engine URN, parent, aliases and options, in order (call after setting the mocks). */
export function recordRegistrations(stack = "prod", project = "ahoy-ops"): readonly Seen[] {
    const book = new UrnBook(stack, project);
    const seen: Seen[] = [];
    observeRegistrations((req) => {
        seen.push({
            type: req.getType(),
            name: req.getName(),
            urn: book.urn(req),
            raw: req.getObject().toJavaScript(),
            dependencies: req.getDependenciesList(),
            parent: book.parent(req),
            retainOnDelete: req.getRetainondelete() ?? false,
            aliases: book.aliases(req),
        });
    });
    return seen;
}

function unseen(type: string, name: string): Seen {
    return { type, name, urn: "", raw: {}, dependencies: [], parent: "", retainOnDelete: false, aliases: [] };
}

/** What a registration shows beside its inputs. */
export type Seen = Pick<
    Registration,
    "urn" | "raw" | "dependencies" | "parent" | "retainOnDelete" | "aliases" | "type" | "name"
>;

export interface ProgramRun {
    readonly registrations: Registration[];
    /** What the program logged as warnings (the preview shows them under the stack). */
    readonly warnings: string[];
    /** What the program logged as information (the preview shows it under the stack too). */
    readonly infos: string[];
    readonly outputs: Record<string, unknown>;
    /** The registrations of one resource type, e.g. `pulumi-nodejs:dynamic/render:EnvVar`. */
    ofType(type: string): Registration[];
    /** The one registration named `name`; fails the test if there is not exactly one. */
    named(name: string): Registration;
}

/**
 * What a provider would answer beside the inputs: Render's deploy, and random values that, like the real ones, change
 * exactly when their keepers do (derived from the name and keepers, so a test can tell old from new).
 */
function mockOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    const seed = createHash("sha256")
        .update(`${name}:${JSON.stringify(inputs.keepers ?? {})}`)
        .digest();
    switch (type) {
        case "pulumi-nodejs:dynamic/render:EnvVar":
            return { revision: `revision-of-${name}`, serviceId: "srv-mock" };
        case "pulumi-nodejs:dynamic/comms:Incident":
            // What the provider answers in peacetime: never undefined, which the engine would warn about.
            return { summary: "none", texts: { updates: [] }, channels: {}, deadlines: {}, failures: [] };
        case "pulumi-nodejs:dynamic/verify:Verification":
            // What the provider always answers after its checks: never undefined, which the engine would warn about.
            return {
                results: ["healthz: GET /healthz answered 200 (mock)"],
                verifiedAt: "2026-12-01T03:00:04.000Z",
                verifiedAfterSeconds: 1,
            };
        case "pulumi:pulumi:StackReference":
            // The stack reading its own last outputs (while an incident is open): a first up has none.
            return { outputs: {}, secretOutputNames: [] };
        case "pulumi-nodejs:dynamic/render:MaintenanceMode":
            return { serviceId: "srv-mock", seen: "off: nothing changed" };
        case "pulumi-nodejs:dynamic/render:Deploy":
            return {
                deployId: "dep-mock",
                commitId: "c0ffee",
                status: "live",
                serviceId: "srv-mock",
                liveAt: "2026-12-01T03:00:03.000Z",
            };
        case "pulumi-nodejs:dynamic/render:ServiceOwner":
            return { serviceId: "srv-mock", claim: "claim-mock", since: "2026-12-01T03:00:00.000Z", found: {} };
        case "pulumi-nodejs:dynamic/secrets:SecretKey":
            // A new key per generation, as a bump makes; the form of token_urlsafe(32).
            return {
                value: createHash("sha256")
                    .update(`${name}:${String(inputs.generation)}`)
                    .digest("base64url"),
                origin: "generated (mock)",
            };
        case "random:index/randomBytes:RandomBytes":
            return { base64: seed.toString("base64"), hex: seed.toString("hex") };
        case "random:index/randomPassword:RandomPassword":
            // Every URL-reserved character, so the URL encoding is exercised as with real passwords.
            return { result: `${seed.toString("base64url").slice(0, 20)}${RESERVED}` };
        default:
            return {};
    }
}

/** The stack config of Pulumi.prod.yaml, full keys to strings; `secure:` values are reported separately. */
export function prodConfig(): { values: Record<string, string>; secure: string[] } {
    const stack = parseYaml(fs.readFileSync(path.join(repoRoot, "Pulumi.prod.yaml"), "utf8")) as {
        config?: Record<string, unknown>;
    };
    const values: Record<string, string> = {};
    const secure: string[] = [];
    for (const [key, value] of Object.entries(stack.config ?? {})) {
        if (value !== null && typeof value === "object" && "secure" in value) secure.push(key);
        else values[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return { values, secure };
}

/**
 * Declares the program with Pulumi.prod.yaml's settings plus `overrides` (bare keys of this project, or full
 * `ns:key` keys; undefined removes a key). `secrets` are set as secret config values.
 */
export async function runProgram(
    overrides: Record<string, string | undefined> = {},
    secrets: Record<string, string> = {},
    opts: { preview?: boolean; stack?: string } = {},
): Promise<ProgramRun> {
    const registrations: Registration[] = [];
    const stack = opts.stack ?? "prod";
    let seen: readonly Seen[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
                const found = seen.find((r) => r.name === args.name && r.type === args.type);
                registrations.push({ ...(found ?? unseen(args.type, args.name)), inputs: args.inputs });
                const outputs = mockOutputs(args.type, args.name, args.inputs);
                return { id: `${args.name}-id`, state: { ...args.inputs, ...outputs } };
            },
            call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
                return args.inputs;
            },
        },
        "ahoy-ops",
        stack,
        opts.preview ?? false,
        // What the CLI's file backend calls every stack's organization (the program's StackReference to itself, while an
        // incident is open, and the owner's marker name it).
        "organization",
    );
    // The mock monitor hands newResource unwrapped inputs; keep the wire form too, to see which inputs are secret.
    seen = recordRegistrations(stack);
    const full = (key: string) => (key.includes(":") ? key : `ahoy-ops:${key}`);
    const config = { ...prodConfig().values };
    for (const [key, value] of Object.entries(overrides)) {
        if (value === undefined) delete config[full(key)];
        else config[full(key)] = value;
    }
    for (const [key, value] of Object.entries(secrets)) config[full(key)] = value;
    pulumi.runtime.setAllConfig(config, Object.keys(secrets).map(full));

    const entry = require.resolve(path.join(repoRoot, "index.ts"));
    delete require.cache[entry];
    let outputs: Record<string, unknown>;
    // Without an engine the SDK logs to the console: kept here, where a test can read them, instead of the test output.
    const warnings: string[] = [];
    const consoleWarn = console.warn;
    console.warn = (message: unknown) => void warnings.push(String(message).replace(/^warning: \[runtime\] /, ""));
    const infos: string[] = [];
    const consoleLog = console.log;
    console.log = (message: unknown) => {
        const text = String(message);
        if (text.startsWith("info: [runtime] ")) infos.push(text.slice("info: [runtime] ".length));
        else consoleLog(message);
    };
    try {
        outputs = (await pulumi.runtime.runInPulumiStack(async () => require(entry))) ?? {};
        // Resources declared late (after a deploy, inside applies) register asynchronously: wait as the CLI does.
        await (require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> }).waitForRPCs();
    } catch (err) {
        // What was declared before the failure, so a test can prove nothing was.
        throw Object.assign(err as Error, { registrations });
    } finally {
        console.warn = consoleWarn;
        console.log = consoleLog;
    }
    return {
        registrations,
        warnings,
        infos,
        outputs,
        ofType: (type) => registrations.filter((r) => r.type === type),
        named(name) {
            const found = registrations.filter((r) => r.name === name);
            if (found.length !== 1) {
                throw new Error(
                    `expected one resource named ${name}, found ${found.length}: ${registrations.map((r) => r.name).join(", ")}`,
                );
            }
            return found[0];
        },
    };
}

/** Resolves an output's value (and whether it is secret) without callbacks in tests. */
export async function unwrap<T>(output: pulumi.Output<T>): Promise<{ value: T; secret: boolean }> {
    const value = await new Promise<T>((resolve) => output.apply(resolve));
    return { value, secret: await pulumi.isSecret(output) };
}
