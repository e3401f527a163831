// The EnvVar provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts).
import { randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { adoptionNote } from "./ownership";
import {
    configureRenderProvider,
    isSecretWrapper,
    isUnknown,
    openRenderClient,
    RenderProvider,
    RenderProviderState,
    revealed,
    serviceChanged,
    serviceFailures,
} from "./providerSupport";

/** The inputs the EnvVar provider receives. */
export interface EnvVarInputs {
    service: string;
    key: string;
    /** The value to store; absent: the variable must not exist on the service (it is deleted). */
    value?: string;
    apiUrl: string;
    /** The value is a secret: what adoption found is never shown, only whether it was there. */
    secret?: boolean;
    /**
     * What the service had before this resource first wrote the key, and what it becomes (set by `check` on a create,
     * so the preview shows it: `"192.0.2.7" (set by hand) => absent`); kept as recorded afterwards.
     */
    found?: string;
}

/** The EnvVar provider's outputs: the inputs plus the service's resolved srv- id and the revision of the last write. */
export interface EnvVarOutputs extends EnvVarInputs {
    serviceId: string;
    /**
     * New on every write to Render (a PUT, or a DELETE of an absent variable), and only then: the deploy's trigger
     * takes every variable's revision, so every write in an `up` is followed by a deploy in that `up`, even one that
     * sets a value back to what the state last recorded.
     */
    revision: string;
}

/** A name Render accepts for an environment variable (its dashboard's rule, from the Kubernetes one it runs on). */
export function envVarKeyProblem(key: unknown): string | undefined {
    if (typeof key !== "string" || !/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(key)) {
        return (
            `key ${JSON.stringify(key)} is not a Render environment variable name: ` +
            `use letters, digits, "_", "-" and ".", not starting with a digit (e.g. DISABLE_SIGNUP)`
        );
    }
    return undefined;
}

/** The resource id: the service and the key, which together name the variable at Render. */
function envVarId(serviceId: string, key: string): string {
    return `${serviceId}/${key}`;
}

/** A revision no other write has: when it was made, and enough randomness that two writes in one millisecond differ. */
function newRevision(): string {
    return `${new Date().toISOString()}-${randomBytes(4).toString("hex")}`;
}

function inputsOf(props: EnvVarInputs): EnvVarInputs {
    const { service, key, value, apiUrl, secret, found } = props;
    return {
        service,
        key,
        ...(value === undefined ? {} : { value }),
        apiUrl,
        ...(secret === undefined ? {} : { secret }),
        ...(found === undefined ? {} : { found }),
    };
}

/**
 * Adoption reads before it writes: on a create (or a move to another service) what the service has now for the key,
 * shown in the preview beside what it becomes, and warned about when a switch set by hand is about to change.
 */
async function adoptionFound(
    provider: RenderProviderState,
    next: EnvVarInputs,
    secret: boolean,
): Promise<{ found?: string; failure?: string }> {
    try {
        const client = openRenderClient(provider, next.apiUrl);
        const current = await client.getEnvVar(await client.resolveServiceId(next.service), next.key);
        if (isUnknown(next.value) && !secret) {
            return { found: `${current === undefined ? "absent" : JSON.stringify(current)} => (known after the up)` };
        }
        const found = adoptionNote(current, next.value, secret);
        if (!secret && current !== undefined && current !== next.value) {
            void pulumi.log.warn(`${next.service}: ${next.key} is ${found.replace(" => ", "; this up makes it ")}`);
        }
        return { found };
    } catch (err) {
        return {
            failure: `could not read ${next.key} on ${next.service} before adopting it: ${(err as Error).message}`,
        };
    }
}

/** Makes Render's stored variable what the inputs say: written with PUT /env-vars/{key}, or deleted when absent. */
async function write(provider: RenderProviderState, inputs: EnvVarInputs, serviceId: string): Promise<EnvVarOutputs> {
    const client = openRenderClient(provider, inputs.apiUrl);
    if (inputs.value === undefined) {
        // A 404 (already gone) is as good as deleted; the deploy still follows, since the live one may predate that.
        await client.deleteEnvVar(serviceId, inputs.key);
    } else {
        await client.setEnvVar(serviceId, inputs.key, inputs.value);
    }
    return { ...inputsOf(inputs), serviceId, revision: newRevision() };
}

/** The EnvVar provider: one key written with PUT /env-vars/{key}, so variables set by hand are never touched. */
export const envVarProvider: RenderProvider<EnvVarInputs, EnvVarOutputs> = {
    configure: configureRenderProvider,

    async check(olds, news) {
        const { service, key, value, apiUrl } = revealed(news);
        const failures = serviceFailures(service, apiUrl);
        const keyProblem = isUnknown(key) ? undefined : envVarKeyProblem(key);
        if (keyProblem) {
            failures.push({ property: "key", reason: keyProblem });
        }
        if (!isUnknown(value) && value !== undefined && typeof value !== "string") {
            // The type only: the value itself may be a secret.
            failures.push({
                property: "value",
                reason: `value of ${String(key)} must be a string or absent, got ${typeof value}`,
            });
        }
        if (failures.length > 0) return { inputs: news, failures };
        // The engine hands check the recorded inputs: none on a create.
        const old = revealed(olds) as Partial<EnvVarInputs>;
        if (old.key !== undefined && old.service === service) {
            // Adopted already (or managed since before adoption was recorded): what was found stays as recorded.
            return { inputs: old.found === undefined ? news : { ...news, found: old.found }, failures };
        }
        // A value the engine sends as a secret is one, flag or not: what was found is then never shown.
        const adoption = await adoptionFound(this, revealed(news), news.secret === true || isSecretWrapper(news.value));
        if (adoption.failure) return { inputs: news, failures: [{ property: "key", reason: adoption.failure }] };
        // The inputs go back as they came, so a secret stays wrapped for the engine.
        return { inputs: { ...news, found: adoption.found }, failures };
    },

    async diff(_id, olds, news) {
        const old = revealed(olds);
        const next = revealed(news);
        const replaces = [
            ...(next.key !== old.key ? ["key"] : []),
            ...(serviceChanged(old, next.service) ? ["service"] : []),
        ];
        return {
            // An apiUrl change alone writes nothing, but it is an update: a "no change" would keep the old URL in the
            // outputs, where refresh and delete read it.
            changes: replaces.length > 0 || next.value !== old.value || next.apiUrl !== old.apiUrl,
            replaces,
            // A variable change only takes effect at the next deploy, so removing the old key before writing the new one
            // costs nothing, and it is the only safe order when two service names turn out to be the same service.
            deleteBeforeReplace: replaces.length > 0,
        };
    },

    async create(inputs) {
        const news = revealed(inputs);
        const serviceId = await openRenderClient(this, news.apiUrl).resolveServiceId(news.service);
        return { id: envVarId(serviceId, news.key), outs: await write(this, news, serviceId) };
    },

    async update(_id, olds, news) {
        const next = revealed(news);
        // diff replaces the resource when the service changes, so it is still the one recorded: no lookup needed.
        const old = revealed(olds);
        if (next.value === old.value) {
            // Only where Render is reached changed: nothing is written, so no deploy is owed.
            return { outs: { ...inputsOf(next), serviceId: old.serviceId, revision: old.revision } };
        }
        return { outs: await write(this, next, old.serviceId) };
    },

    async read(id, props) {
        if (!props) {
            throw new Error(`render:EnvVar ${id}: cannot refresh without its recorded state (service, key and apiUrl)`);
        }
        const recorded = revealed(props);
        const value = await openRenderClient(this, recorded.apiUrl).getEnvVar(recorded.serviceId, recorded.key);
        // What Render stores now, present or absent: a value changed or deleted by hand (or one set by hand where the
        // program wants none) shows as a diff against the program, and the next `pulumi up` puts it back.
        const current = inputsOf({ ...recorded, value });
        // The SDK types `inputs` as the outputs' shape; what the engine wants there is the inputs.
        return {
            id,
            props: { ...current, serviceId: recorded.serviceId, revision: recorded.revision },
            inputs: current as EnvVarOutputs,
        };
    },

    // Letting go never breaks the app: a resource that goes (destroy, a rename, a capability removed, a move to another
    // service) leaves the variable as it is. A secret stays because the app runs on it; a switch is put back as found
    // by the stack's ServiceOwner, once, at destroy, while a renamed resource's old self must not delete the key its
    // new self has just written. To remove a switch, unset it: that deletes it in an update the deploy follows.
    async delete(_id, props) {
        const recorded = revealed(props);
        void pulumi.log.info(`${recorded.service}: ${recorded.key} stays on the service as it is`);
    },
};
