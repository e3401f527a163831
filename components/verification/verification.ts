// The runbook's checks after a deploy, as a resource: the implementation is ./provider.ts, run in the provider host.
import * as pulumi from "@pulumi/pulumi";
import { ModuleResource, moduleProvider } from "../dynamicProvider";
import { DEFAULT_CHECK_TIMEOUT_SECONDS, type VerificationPlan } from "./plan";

/** The provider every resource of this type carries in the state: it requires the implementation in the provider host. */
export const verificationProvider = moduleProvider("verify", "Verification");

/** The arguments of the checks that follow a deploy. */
export interface VerificationArgs {
    /** The service's public URL, e.g. https://ahoy-indie-media.onrender.com */
    readonly serviceUrl: pulumi.Input<string>;
    /** The deploy to verify; a new one runs the checks again. */
    readonly deployId: pulumi.Input<string>;
    /** What to check, from `verificationPlan`. */
    readonly plan: VerificationPlan;
    /** How long each check may take to see its expected answer; default 120 s. */
    readonly checkTimeoutSeconds?: number;
    /** The Render service (name or srv- id) whose metrics the watch reads; with `apiUrl`, else no metrics are read. */
    readonly service?: pulumi.Input<string>;
    /** Render's API base URL, for the metrics (the API key is read in the provider host, as for the other Render resources). */
    readonly apiUrl?: pulumi.Input<string>;
}

/** The runbook's verification of one deploy: `pulumi up` fails, naming the check, if the action did not take effect. */
export class Verification extends ModuleResource {
    // `declare`: with ES2022 class fields a plain field would reset the output the base constructor assigned.
    declare public readonly results: pulumi.Output<string[]>;
    declare public readonly verifiedAt: pulumi.Output<string>;
    /** One line per metric the watch read from Render, e.g. "memory: 39.1% of the 512 MB limit, within 90%". */
    declare public readonly metrics: pulumi.Output<string[]>;

    constructor(name: string, args: VerificationArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            serviceUrl: args.serviceUrl,
            deployId: args.deployId,
            checks: args.plan.checks,
            watch: args.plan.watch,
            checkTimeoutSeconds: args.checkTimeoutSeconds ?? DEFAULT_CHECK_TIMEOUT_SECONDS,
            service: args.service,
            apiUrl: args.apiUrl,
            renderMetrics: args.plan.renderMetrics,
            results: undefined,
            verifiedAt: undefined,
            metrics: undefined,
        };
        super(verificationProvider, name, props, opts);
    }
}
