// What tests that declare resources under Pulumi's mocks share: the mocks and a look at each registration, secrets as the
// engine receives them, awaiting an output, and a stand-in for the Render deploy that rotation steps wait for.
import * as pulumi from "@pulumi/pulumi";

/** Pulumi's wire marker for a secret value: `{ [SIG_KEY]: SECRET_SIG, value }`. */
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

/** Every character RFC 3986 reserves, and `%`: passwords that hold them all exercise URL encoding. */
export const RESERVED = ":/?#[]@!$&'()*+,;=%";

/** Whether a serialized input is a secret. */
export function isSecretValue(raw: unknown): boolean {
    return typeof raw === "object" && raw !== null && (raw as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** A value with its secret wrapper (if any) removed: what the provider would receive. */
export function reveal(value: unknown): unknown {
    return isSecretValue(value) ? (value as { value: unknown }).value : value;
}

/** A serialized value with every secret wrapper in it removed, however deep. */
export function revealAll(raw: unknown): unknown {
    if (isSecretValue(raw)) return revealAll((raw as { value: unknown }).value);
    if (Array.isArray(raw)) return raw.map(revealAll);
    if (typeof raw === "object" && raw !== null)
        return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, revealAll(v)]));
    return raw;
}

/**
 * Pulumi's mocks for this project's `prod` stack, as `pulumi up` (not a preview) would run it: each resource answers
 * `newResource` (by default: id `<name>-id`, its inputs as its state), each call its inputs.
 */
export function setProjectMocks(
    newResource: pulumi.runtime.Mocks["newResource"] = (args) => ({ id: `${args.name}-id`, state: args.inputs }),
): Promise<void> {
    return pulumi.runtime.setMocks(
        { newResource, call: (args) => args.inputs },
        "ahoy-ops",
        "prod",
        false,
        "organization",
    );
}

/** A resource registration as the mock monitor receives it: the parts tests look at. */
export interface RegisterRequest {
    getType(): string;
    getName(): string;
    /** The parent's URN ("" for none: the stack). */
    getParent(): string;
    /** The inputs as serialized for the engine: secrets still wrapped in Pulumi's secret signature. */
    getObject(): { toJavaScript(): Record<string, unknown> };
    getDependenciesList(): string[];
    getDeletebeforereplace(): boolean;
    getRetainondelete(): boolean | undefined;
    /** Structured aliases (the mock monitor supports them): each a URN or a spec the engine resolves. */
    getAliasesList(): AliasMessage[];
}

/** One alias as the SDK sends it: a URN, or a spec (empty fields take the resource's own). */
export interface AliasMessage {
    getUrn(): string;
    getSpec():
        | {
              getName(): string;
              getType(): string;
              getStack(): string;
              getProject(): string;
              getParenturn(): string;
              getNoparent(): boolean;
          }
        | undefined;
}

/**
 * Shows `observe` every resource registration, before the mock monitor handles it (call after setting the mocks):
 * the mocks' `newResource` sees inputs unwrapped, this sees them as the engine would, with the options beside them.
 */
export function observeRegistrations(observe: (req: RegisterRequest) => void): void {
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        registerResource(req: RegisterRequest, cb: unknown): unknown;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
        observe(req);
        return register(req, cb);
    };
}

/** The value an output resolves to. */
export const valueOf = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));

/**
 * Stands in for the Render deploy the program declares: what waits for the deploy only needs a resource to wait for,
 * and the time it went live (`liveAt`, an input here, so the mocks hand it back).
 */
export class StandInDeploy extends pulumi.CustomResource {
    static readonly TYPE = "ahoy:test:Deploy";
    declare public readonly liveAt: pulumi.Output<string>;

    constructor(name: string, props: pulumi.Inputs = {}) {
        super(StandInDeploy.TYPE, name, { liveAt: "2026-12-01T03:00:00.000Z", ...props });
    }
}
