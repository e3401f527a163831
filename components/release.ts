// Ships the managed variables: one deploy of the live commit per `pulumi up`, after every variable write.
import * as pulumi from "@pulumi/pulumi";
import { Deploy, variablesDigest } from "./render/deploy";
import type { EnvVar } from "./render/envVar";

export interface ReleaseArgs {
    /** The Render service's name or srv- id. */
    readonly service: pulumi.Input<string>;
    /** Render's API base URL. */
    readonly apiUrl: pulumi.Input<string>;
    /** The variable resources whose writes the deploy must follow. */
    readonly variables: readonly EnvVar[];
    /** Every managed key and the value it should have (undefined: absent), digested into the deploy's trigger. */
    readonly values: Readonly<Record<string, pulumi.Input<string> | undefined>>;
}

/** The deploy that carries this `up`'s variable changes to the running service. */
export class Release extends pulumi.ComponentResource {
    /** The digest of the managed variables: when it changes, one deploy follows. */
    public readonly trigger: pulumi.Output<string>;
    public readonly deploy: Deploy;

    constructor(name: string, args: ReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ahoy:render:Release", name, {}, opts);
        // The digest covers secret values too, but SHA-256 over 256-bit random secrets cannot be inverted, and a
        // reviewer must see in the preview that a deploy will follow: so the digest itself is not a secret.
        this.trigger = pulumi.unsecret(pulumi.all(args.values).apply((values) => variablesDigest(values)));
        this.deploy = new Deploy(
            `${name}-deploy`,
            { service: args.service, apiUrl: args.apiUrl, trigger: this.trigger },
            { parent: this, dependsOn: [...args.variables] },
        );
        this.registerOutputs({ trigger: this.trigger, deploy: this.deploy });
    }
}
