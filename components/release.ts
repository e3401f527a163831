// Ships the managed variables: one deploy per `pulumi up` after every variable write (the live commit, or the release
// pin), then the runbook's verification of it.
import * as pulumi from "@pulumi/pulumi";
import { Deploy, variablesDigest } from "./render/deploy";
import type { EnvVar } from "./render/envVar";
import { Verification, type VerificationPlan } from "./verification";

export interface ReleaseArgs {
    /** The Render service's name or srv- id. */
    readonly service: pulumi.Input<string>;
    /** Render's API base URL. */
    readonly apiUrl: pulumi.Input<string>;
    /** The variable resources whose writes the deploy must follow. */
    readonly variables: readonly EnvVar[];
    /** Every managed key and the value it should have (undefined: absent), digested into the deploy's trigger. */
    readonly values: Readonly<Record<string, pulumi.Input<string> | undefined>>;
    /** The deploy id (dep-...), commit SHA or git tag to pin the service to; undefined: no pin. */
    readonly releasePin?: pulumi.Input<string>;
    /** The git repository a tag pin is looked up in; undefined: the one Render builds the service from. */
    readonly repository?: pulumi.Input<string>;
    /** Where the app answers and what to check after the deploy; undefined when verification is off. */
    readonly verification?: { readonly serviceUrl: pulumi.Input<string>; readonly plan: VerificationPlan };
}

/** The deploy that carries this `up`'s variable changes (or release pin) to the running service, and its verification. */
export class Release extends pulumi.ComponentResource {
    /** The digest of the managed variables: when it changes, one deploy follows. */
    public readonly trigger: pulumi.Output<string>;
    public readonly deploy: Deploy;
    /** The checks run after each deploy; undefined when verification is off. */
    public readonly verification?: Verification;

    constructor(name: string, args: ReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ahoy:render:Release", name, {}, opts);
        // The digest covers secret values too, but SHA-256 over 256-bit random secrets cannot be inverted, and a
        // reviewer must see in the preview that a deploy will follow: so the digest itself is not a secret.
        this.trigger = pulumi.unsecret(pulumi.all(args.values).apply((values) => variablesDigest(values)));
        this.deploy = new Deploy(
            `${name}-deploy`,
            {
                service: args.service,
                apiUrl: args.apiUrl,
                trigger: this.trigger,
                releasePin: args.releasePin,
                repository: args.repository,
            },
            { parent: this, dependsOn: [...args.variables] },
        );
        if (args.verification) {
            // Keyed on the deploy id: every deploy this program triggers is verified, and a no-op `up` verifies nothing.
            this.verification = new Verification(
                `${name}-verify`,
                {
                    serviceUrl: args.verification.serviceUrl,
                    deployId: this.deploy.deployId,
                    plan: args.verification.plan,
                },
                { parent: this, dependsOn: [this.deploy] },
            );
        }
        this.registerOutputs({ trigger: this.trigger, deploy: this.deploy, verification: this.verification });
    }
}
