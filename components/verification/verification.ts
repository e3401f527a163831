// The runbook's checks after a deploy, as a resource: the implementation is ./provider.ts, run in the provider host.
import * as pulumi from "@pulumi/pulumi";
import { ModuleResource, moduleProvider } from "../dynamicProvider";
import type { MaxConnections } from "./metricsVerdict";
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
    /** Render's API base URL, where the watch reads the metrics. */
    readonly apiUrl?: pulumi.Input<string>;
    /** When Render says the deploy went live (the Deploy's `liveAt`): the watch's window counts from it. */
    readonly liveAt?: pulumi.Input<string>;
    /** The stack's name, for the `npm run watch -- <stack>` the up's log line names. */
    readonly stack?: string;
}

/**
 * The runbook's verification of one deploy in `pulumi up`: the action's own checks and a short settle; the up fails,
 * naming the check, if the action did not take effect or the app is not healthy after it. The rest of the window is
 * `npm run watch`'s.
 */
export class Verification extends ModuleResource {
    // `declare`: with ES2022 class fields a plain field would reset the output the base constructor assigned.
    declare public readonly results: pulumi.Output<string[]>;
    declare public readonly verifiedAt: pulumi.Output<string>;
    /** The up's "+N s" of "... is live and verified at +N s". */
    declare public readonly verifiedAfterSeconds: pulumi.Output<number>;
    /** max_connections as read through the admin connection, for the watch; undefined without a databaseId. */
    declare public readonly maxConnections: pulumi.Output<MaxConnections | undefined>;

    constructor(name: string, args: VerificationArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            serviceUrl: args.serviceUrl,
            deployId: args.deployId,
            checks: args.plan.checks,
            watch: args.plan.watch,
            settleSeconds: args.plan.settleSeconds,
            liveAt: args.liveAt,
            stack: args.stack,
            checkTimeoutSeconds: args.checkTimeoutSeconds ?? DEFAULT_CHECK_TIMEOUT_SECONDS,
            service: args.service,
            apiUrl: args.apiUrl,
            renderMetrics: args.plan.renderMetrics,
            results: undefined,
            verifiedAt: undefined,
            verifiedAfterSeconds: undefined,
            maxConnections: undefined,
        };
        super(verificationProvider, name, props, opts);
    }
}
