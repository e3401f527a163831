// One Render environment variable as a Pulumi dynamic resource: written, read and deleted key by key.
import * as pulumi from "@pulumi/pulumi";
import { ModuleResource, moduleProvider } from "../dynamicProvider";

export type { EnvVarInputs, EnvVarOutputs } from "./envVarProvider";
export { RENDER_API_KEY_CONFIG } from "./providerSupport";

/** The provider every resource of this type carries in the state: it requires the implementation in the provider host. */
export const envVarProvider = moduleProvider("render", "EnvVar");

/** The arguments of one managed Render environment variable. */
export interface EnvVarArgs {
    /** Render service name or srv- id; a name is resolved through the API inside the provider methods. */
    readonly service: pulumi.Input<string>;
    /** The variable's name, e.g. DISABLE_SIGNUP. */
    readonly key: pulumi.Input<string>;
    /** The variable's value; undefined: the variable must be absent (deleted if present), which is an update the
     * deploy can follow in the same `up`, unlike removing the resource (the engine deletes those after everything). */
    readonly value?: pulumi.Input<string>;
    /** Render API base URL, e.g. https://api.render.com/v1 */
    readonly apiUrl: pulumi.Input<string>;
    /** The value is a secret: it is stored and shown as a Pulumi secret (additionalSecretOutputs ["value"]). */
    readonly secret?: boolean;
}

/**
 * One Render environment variable, present or absent, written and deleted key by key (never PUT /env-vars, which
 * replaces them all). Its first `up` reads what the service has (the preview shows it, found => wanted); removing the
 * resource leaves the variable as it is (the stack's ServiceOwner puts switches back as found on destroy).
 */
export class EnvVar extends ModuleResource {
    // `declare`: with ES2022 class fields a plain field would reset the output the base constructor assigned.
    declare public readonly serviceId: pulumi.Output<string>;
    declare public readonly key: pulumi.Output<string>;
    declare public readonly value: pulumi.Output<string | undefined>;
    /** New on every write to Render; the deploy's trigger takes it, so a write is always followed by a deploy. */
    declare public readonly revision: pulumi.Output<string>;

    constructor(name: string, args: EnvVarArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            service: args.service,
            key: args.key,
            value: args.secret && args.value !== undefined ? pulumi.secret(args.value) : args.value,
            apiUrl: args.apiUrl,
            // Only on a secret: the adoption note then says whether one was there, never what.
            ...(args.secret ? { secret: true } : {}),
            serviceId: undefined,
            revision: undefined,
        };
        const options = args.secret ? pulumi.mergeOptions(opts, { additionalSecretOutputs: ["value"] }) : opts;
        super(envVarProvider, name, props, options);
    }
}
