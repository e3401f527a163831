// What the Render dynamic providers share: the API key looked up at run time, secret unwrapping, input checks.
import { SECRET_SIGNATURE, SECRET_SIGNATURE_KEY, UNKNOWN_VALUE } from "../../lib/pulumiWire";
import * as pulumi from "@pulumi/pulumi";
import { renderApiUrlProblem } from "../../lib/render/apiUrl";
import type { RenderClient } from "../../lib/render/client";

// These run in the dynamic-provider host, loaded by the providers' modules at run time (see ../dynamicProvider.ts);
// the API key is read there (from `configure` or the environment), never handed over by the program. The client is
// required inside the function that uses it, so the program itself, which imports the constants here, never loads it.

/** The stack config key holding the Render API key (a secret), handed to the providers' `configure`. */
export const RENDER_API_KEY_CONFIG = "ahoy-ops:renderApiKey";
/** The environment variable read for the Render API key when the stack config has none. */
export const RENDER_API_KEY_ENV = "RENDER_API_KEY";

// The secret wrapper (lib/pulumiWire.ts): the engine sends it only to providers that accept secrets, but a value
// that does arrive wrapped must still be written as the plain value, as the SDK's own host does for config.

/** What a Render provider keeps at run time in the provider host: the API key `configure` found, if any. */
export interface RenderProviderState {
    apiKey?: string;
}

/** A Render dynamic provider: the SDK's provider shape plus the run-time state `configure` fills in. */
export type RenderProvider<Inputs, Outputs> = pulumi.dynamic.ResourceProvider<Inputs, Outputs> & RenderProviderState;

/** The property values with any secret wrapper removed (top level: every property here is a string). */
export function revealed<T extends object>(props: T): T {
    return Object.fromEntries(
        Object.entries(props).map(([name, value]) => [name, isSecretWrapper(value) ? value.value : value]),
    ) as T;
}

/** True for a value the engine sent wrapped as a secret. */
export function isSecretWrapper(value: unknown): value is { value: unknown } {
    return (
        typeof value === "object" &&
        value !== null &&
        (value as Record<string, unknown>)[SECRET_SIGNATURE_KEY] === SECRET_SIGNATURE
    );
}

/** True for the engine's placeholder of a value not known until apply; such a value can't be checked yet. */
export function isUnknown(value: unknown): boolean {
    return value === UNKNOWN_VALUE;
}

/**
 * A Render client for one provider call. The key comes from the stack config (through `configure`) or else from
 * RENDER_API_KEY, looked up when the call runs, in the provider host: it is never a resource input, so never in the state.
 */
export function openRenderClient(
    provider: RenderProviderState,
    apiUrl: string,
    bounds: { deadline?: number; triggerLookupMs?: number } = {},
): RenderClient {
    const apiKey = provider.apiKey || process.env[RENDER_API_KEY_ENV];
    if (!apiKey) {
        throw new Error(
            `No Render API key: set the secret stack config "${RENDER_API_KEY_CONFIG}" ` +
                `(pulumi config set --secret renderApiKey ...) or the ${RENDER_API_KEY_ENV} environment variable`,
        );
    }
    const { RenderClient } = require("../../lib/render/client") as typeof import("../../lib/render/client");
    const tuning = clientTuning(process.env);
    return new RenderClient({
        apiKey,
        baseUrl: apiUrl,
        log: (message) => void pulumi.log.info(message),
        requestTimeoutMs: tuning.requestTimeoutMs,
        retryBaseMs: tuning.retryBaseMs,
        // A drill's shorter lookup wins over the provider's own bound.
        triggerLookupMs: tuning.triggerLookupMs ?? bounds.triggerLookupMs,
        deadline: bounds.deadline,
    });
}

/**
 * A drill's setting in milliseconds (`AHOY_..._MS`), at least `min`; undefined when unset. Throws naming the variable
 * and the expected form: drills only, so a wrong value stops the step rather than running with a guess.
 */
export function drillMs(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
    const raw = env[name];
    if (raw === undefined || raw === "") return undefined;
    if (!/^\d+$/.test(raw) || Number(raw) < min) {
        const bound = min > 0 ? ` >= ${min}` : "";
        throw new Error(
            `${name}: got ${JSON.stringify(raw)}; expected a whole number of milliseconds${bound}, or unset`,
        );
    }
    return Number(raw);
}

/**
 * Drill settings for the Render client, from the provider host's environment: how long one request may take
 * (AHOY_RENDER_REQUEST_TIMEOUT_MS, default 30000), the retry backoff's base (AHOY_RENDER_RETRY_BASE_MS, default
 * 500) and how long to look for the deploy a trigger whose answer was lost may have made
 * (AHOY_RENDER_TRIGGER_LOOKUP_MS, default 60000). Rehearsals and fault drills shorten them; production leaves them unset.
 */
export function clientTuning(env: NodeJS.ProcessEnv): {
    requestTimeoutMs?: number;
    retryBaseMs?: number;
    triggerLookupMs?: number;
} {
    const read = (name: string) => drillMs(env, name, 1);
    return {
        requestTimeoutMs: read("AHOY_RENDER_REQUEST_TIMEOUT_MS"),
        retryBaseMs: read("AHOY_RENDER_RETRY_BASE_MS"),
        triggerLookupMs: read("AHOY_RENDER_TRIGGER_LOOKUP_MS"),
    };
}

/** The `configure` both Render providers share: remember the API key from the stack config, if it is set there. */
export async function configureRenderProvider(
    this: RenderProviderState,
    req: pulumi.dynamic.ConfigureRequest,
): Promise<void> {
    this.apiKey = req.config.get(RENDER_API_KEY_CONFIG);
}

/** True when `service` names a different service than the one recorded; its own srv- id counts as the same one. */
export function serviceChanged(olds: { service: string; serviceId: string }, service: string): boolean {
    return service !== olds.service && service !== olds.serviceId;
}

/** Check failures for the inputs both Render resources take: the service and the API URL. */
export function serviceFailures(service: unknown, apiUrl: unknown): pulumi.dynamic.CheckFailure[] {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (!isUnknown(service) && (typeof service !== "string" || service.trim() === "" || service.trim() !== service)) {
        failures.push({
            property: "service",
            reason: `service must be a Render service name or srv- id without surrounding spaces, got ${JSON.stringify(service)}`,
        });
    }
    if (!isUnknown(apiUrl)) {
        // A state or an older program may hand over what today's config would refuse: the key goes only to Render.
        const problem = typeof apiUrl === "string" ? renderApiUrlProblem(apiUrl) : `is ${typeof apiUrl}, not a URL`;
        if (problem) failures.push({ property: "apiUrl", reason: `apiUrl ${problem}` });
    }
    return failures;
}

/** True for a string that parses as an http(s) URL. */
export function isHttpUrl(value: unknown): boolean {
    if (typeof value !== "string") return false;
    try {
        const url = new URL(value);
        return url.protocol === "https:" || url.protocol === "http:";
    } catch {
        return false;
    }
}
