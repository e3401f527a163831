// Ships the managed variables: one deploy per `pulumi up` after every variable write (the live commit, or the release
// pin), then the runbook's verification of it.
import * as pulumi from "@pulumi/pulumi";
import { Deploy } from "./render/deploy";
import type { EnvVar } from "./render/envVar";
import { Verification, type VerificationPlan, type WatchIncident, type WatchTarget, watchTarget } from "./verification";

export interface ReleaseArgs {
    /** The Render service's name or srv- id. */
    readonly service: pulumi.Input<string>;
    /** Render's API base URL. */
    readonly apiUrl: pulumi.Input<string>;
    /** Every managed variable by key: the deploy follows their writes and takes their revisions as its trigger. */
    readonly variables: Readonly<Record<string, EnvVar>>;
    /** The deploy id (dep-...), commit SHA or git tag to pin the service to; undefined: no pin. */
    readonly releasePin?: pulumi.Input<string>;
    /** The git repository a tag pin is looked up in; undefined: the one Render builds the service from. */
    readonly repository?: pulumi.Input<string>;
    /** Where the app answers and what to check after the deploy; undefined when verification is off. */
    readonly verification?: { readonly serviceUrl: pulumi.Input<string>; readonly plan: VerificationPlan };
    /** What the checks must wait for besides the deploy: the maintenance page, which hides the app while it is up. */
    readonly checksAfter?: readonly pulumi.Resource[];
}

/** The deploy that carries this `up`'s variable changes (or release pin) to the running service, and its verification. */
export class Release extends pulumi.ComponentResource {
    public readonly deploy: Deploy;
    /** The checks run after each deploy; undefined when verification is off. */
    public readonly verification?: Verification;

    constructor(name: string, args: ReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ahoy:render:Release", name, {}, opts);
        // Every write yields a new revision, so a write is always followed by this deploy in the same `up`. Removing a
        // variable is a write too: the flag components keep an absent variable's resource, since the engine deletes a
        // removed resource only after every registration (pulumi/pulumi, deployment_executor.go, performPostSteps).
        const variables = Object.values(args.variables);
        this.deploy = new Deploy(
            `${name}-deploy`,
            {
                service: args.service,
                apiUrl: args.apiUrl,
                revisions: Object.fromEntries(Object.entries(args.variables).map(([key, v]) => [key, v.revision])),
                releasePin: args.releasePin,
                repository: args.repository,
            },
            { parent: this, dependsOn: variables },
        );
        if (args.verification) {
            // Keyed on the deploy id: every deploy this program triggers is verified, and a no-op `up` verifies nothing.
            this.verification = new Verification(
                `${name}-verify`,
                {
                    serviceUrl: args.verification.serviceUrl,
                    deployId: this.deploy.deployId,
                    plan: args.verification.plan,
                    // The watch reads the service's metrics from Render too.
                    service: args.service,
                    apiUrl: args.apiUrl,
                    liveAt: this.deploy.liveAt,
                    stack: pulumi.getStack(),
                },
                { parent: this, dependsOn: [this.deploy, ...(args.checksAfter ?? [])] },
            );
        }
        this.verificationArgs = args.verification;
        this.service = args.service;
        this.apiUrl = args.apiUrl;
        this.registerOutputs({ deploy: this.deploy, verification: this.verification });
    }

    private readonly verificationArgs?: ReleaseArgs["verification"];
    private readonly service: pulumi.Input<string>;
    private readonly apiUrl: pulumi.Input<string>;

    /**
     * What `npm run watch` needs to watch the rest of the last deploy's window (the stack output `watch`), with the
     * incident a crossed threshold is posted to while one is open; undefined when verification is off.
     */
    watchTarget(incident?: pulumi.Input<WatchIncident | undefined>): pulumi.Output<WatchTarget> | undefined {
        const verification = this.verification;
        const args = this.verificationArgs;
        if (!verification || !args) return undefined;
        const named = pulumi.all([
            this.service,
            this.deploy.serviceId,
            this.apiUrl,
            args.serviceUrl,
            this.deploy.deployId,
            this.deploy.liveAt,
            verification.verifiedAt,
        ]);
        return pulumi
            .all([named, verification.verifiedAfterSeconds, verification.maxConnections, pulumi.output(incident)])
            .apply(([[service, serviceId, apiUrl, serviceUrl, deployId, liveAt, verifiedAt], after, max, open]) =>
                watchTarget({
                    service,
                    serviceId,
                    apiUrl,
                    serviceUrl,
                    plan: args.plan,
                    deployId,
                    liveAt,
                    verifiedAt,
                    verifiedAfterSeconds: after,
                    maxConnections: max,
                    incident: open ?? undefined,
                }),
            );
    }
}
