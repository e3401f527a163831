// The EnvVar provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts).
import {
    configureRenderProvider,
    isUnknown,
    openRenderClient,
    RenderProvider,
    revealed,
    serviceChanged,
    serviceFailures,
} from "./providerSupport";

/** The inputs the EnvVar provider receives. */
export interface EnvVarInputs {
    service: string;
    key: string;
    value: string;
    apiUrl: string;
}

/** The EnvVar provider's outputs: the inputs plus the service's resolved srv- id. */
export interface EnvVarOutputs extends EnvVarInputs {
    serviceId: string;
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

function envVarOutputs(inputs: EnvVarInputs, serviceId: string): EnvVarOutputs {
    return { service: inputs.service, key: inputs.key, value: inputs.value, apiUrl: inputs.apiUrl, serviceId };
}

/** The EnvVar provider: one key written with PUT /env-vars/{key}, so variables set by hand are never touched. */
export const envVarProvider: RenderProvider<EnvVarInputs, EnvVarOutputs> = {
    configure: configureRenderProvider,

    async check(_olds, news) {
        const { service, key, value, apiUrl } = revealed(news);
        const failures = serviceFailures(service, apiUrl);
        const keyProblem = isUnknown(key) ? undefined : envVarKeyProblem(key);
        if (keyProblem) {
            failures.push({ property: "key", reason: keyProblem });
        }
        if (!isUnknown(value) && typeof value !== "string") {
            // The type only: the value itself may be a secret.
            failures.push({
                property: "value",
                reason: `value of ${String(key)} must be a string, got ${typeof value}`,
            });
        }
        // The inputs go back as they came, so a secret stays wrapped for the engine.
        return { inputs: news, failures };
    },

    async diff(_id, olds, news) {
        const old = revealed(olds);
        const next = revealed(news);
        const replaces = [
            ...(next.key !== old.key ? ["key"] : []),
            ...(serviceChanged(old, next.service) ? ["service"] : []),
        ];
        return {
            changes: replaces.length > 0 || next.value !== old.value,
            replaces,
            // A variable change only takes effect at the next deploy, so removing the old key before writing the new one
            // costs nothing, and it is the only safe order when two service names turn out to be the same service.
            deleteBeforeReplace: replaces.length > 0,
        };
    },

    async create(inputs) {
        const news = revealed(inputs);
        const client = openRenderClient(this, news.apiUrl);
        const serviceId = await client.resolveServiceId(news.service);
        await client.setEnvVar(serviceId, news.key, news.value);
        return { id: envVarId(serviceId, news.key), outs: envVarOutputs(news, serviceId) };
    },

    async update(_id, olds, news) {
        const next = revealed(news);
        // diff replaces the resource when the service changes, so it is still the one recorded: no lookup needed.
        const { serviceId } = revealed(olds);
        await openRenderClient(this, next.apiUrl).setEnvVar(serviceId, next.key, next.value);
        return { outs: envVarOutputs(next, serviceId) };
    },

    async read(id, props) {
        if (!props) {
            throw new Error(`render:EnvVar ${id}: cannot refresh without its recorded state (service, key and apiUrl)`);
        }
        const recorded = revealed(props);
        const value = await openRenderClient(this, recorded.apiUrl).getEnvVar(recorded.serviceId, recorded.key);
        if (value === undefined) {
            // Deleted at Render: the refresh drops it from the state and the next `pulumi up` writes it again.
            return {};
        }
        // Returning the inputs too makes a value changed by hand show as a diff against the program afterwards.
        const current = { ...envVarOutputs(recorded, recorded.serviceId), value };
        const inputs: EnvVarInputs = { service: current.service, key: current.key, value, apiUrl: current.apiUrl };
        // The SDK types `inputs` as the outputs' shape; what the engine wants there is the inputs.
        return { id, props: current, inputs: inputs as EnvVarOutputs };
    },

    async delete(_id, props) {
        const recorded = revealed(props);
        // A 404 (already gone) is as good as deleted.
        await openRenderClient(this, recorded.apiUrl).deleteEnvVar(recorded.serviceId, recorded.key);
    },
};
