// The app's SECRET_KEY: the key the service already has, adopted on the first `up`, or 32 new random bytes (the form
// `secrets.token_urlsafe(32)` prints) whenever the rotation generation is bumped.
import * as pulumi from "@pulumi/pulumi";
import { checkGeneration } from "../stacks/rotation";
import { ModuleResource, moduleProvider } from "./dynamicProvider";

export type { SecretKeySourceInputs, SecretKeySourceOutputs } from "./secretKeyProvider";

/** The provider every resource of this type carries in the state: it requires the implementation in the provider host. */
export const secretKeySourceProvider = moduleProvider("secrets", "SecretKey");

export interface SecretKeyArgs {
    /** The Render service's name or srv- id: where a key to adopt is looked for. */
    readonly service: pulumi.Input<string>;
    /** Render's API base URL. */
    readonly apiUrl: pulumi.Input<string>;
    /** `secretKeyGeneration`: bumping it (in a reviewed PR) is what rotates the key; a lower one is refused. */
    readonly generation: number;
}

/** Where SECRET_KEY's value comes from: adopted from the service, or made anew for a generation. */
export class SecretKeySource extends ModuleResource {
    declare public readonly value: pulumi.Output<string>;
    declare public readonly generation: pulumi.Output<number>;
    /** Where the key came from, in words. */
    declare public readonly origin: pulumi.Output<string>;

    constructor(name: string, args: SecretKeyArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            service: args.service,
            apiUrl: args.apiUrl,
            generation: args.generation,
            origin: undefined,
            value: undefined,
            serviceId: undefined,
        };
        super(secretKeySourceProvider, name, props, pulumi.mergeOptions(opts, { additionalSecretOutputs: ["value"] }));
    }
}

export class SecretKey extends pulumi.ComponentResource {
    /** The key; always a secret. */
    public readonly value: pulumi.Output<string>;
    /** Where it comes from, for tests and `dependsOn`. */
    public readonly source: SecretKeySource;

    constructor(name: string, args: SecretKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ahoy:secrets:SecretKey", name, {}, opts);
        checkGeneration(args.generation, "secretKeyGeneration");
        this.source = new SecretKeySource(`${name}-value`, args, { parent: this });
        // Explicitly secret: additionalSecretOutputs marks it in the state; the value must stay so under every engine.
        this.value = pulumi.secret(this.source.value);
        this.registerOutputs({ value: this.value });
    }
}
