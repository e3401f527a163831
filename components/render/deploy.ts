// One Render deploy per service per `pulumi up`: the live commit so changed variables take effect, or the release pin.
import * as pulumi from "@pulumi/pulumi";
import { ModuleResource, moduleProvider } from "../dynamicProvider";

export type { DeployInputs, DeployOutputs } from "./deployProvider";

/** The provider every resource of this type carries in the state: it requires the implementation in the provider host. */
export const deployProvider = moduleProvider("render", "Deploy");

/** The arguments of a service's deploy after its variable writes. */
export interface DeployArgs {
    /** Render service name or srv- id; a name is resolved through the API inside the provider methods. */
    readonly service: pulumi.Input<string>;
    /** Render API base URL, e.g. https://api.render.com/v1 */
    readonly apiUrl: pulumi.Input<string>;
    /** Each managed variable's revision (its EnvVar's `revision`): a new one, from a write, triggers one deploy. */
    readonly revisions: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Deploy id (dep-...), commit SHA or git tag the service is pinned to; unset: no pin (removing one restores autodeploy). */
    readonly releasePin?: pulumi.Input<string>;
    /** The git repository a tag pin is looked up in; unset: the repository Render builds the service from. */
    readonly repository?: pulumi.Input<string>;
}

/**
 * One deploy, triggered when a managed variable is written or the release pin changes, awaited until live: the live
 * commit, or while pinned the pinned build (a rollback, or the pinned commit) with autodeploy off.
 */
export class Deploy extends ModuleResource {
    // `declare`: with ES2022 class fields a plain field would reset the output the base constructor assigned.
    declare public readonly serviceId: pulumi.Output<string>;
    declare public readonly deployId: pulumi.Output<string>;
    declare public readonly commitId: pulumi.Output<string>;
    declare public readonly status: pulumi.Output<string>;
    /** The commit the release pin resolves to; undefined without a pin. */
    declare public readonly releaseCommit: pulumi.Output<string | undefined>;
    /** When the deploy went live (RFC 3339). */
    declare public readonly liveAt: pulumi.Output<string>;
    /** What the last deploy was planned to run, as the preview showed it: "no build: reuses the live build of ...". */
    declare public readonly plan: pulumi.Output<string | undefined>;
    /** Why the last deploy was the one it was, build or no build, as decided when it ran. */
    declare public readonly decided: pulumi.Output<string | undefined>;

    constructor(name: string, args: DeployArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            service: args.service,
            apiUrl: args.apiUrl,
            revisions: args.revisions,
            releasePin: args.releasePin,
            repository: args.repository,
            releaseCommit: undefined,
            autoDeploy: undefined,
            serviceId: undefined,
            deployId: undefined,
            commitId: undefined,
            status: undefined,
            autoDeployBeforePin: undefined,
            variablesSince: undefined,
            liveAt: undefined,
            plan: undefined,
            decided: undefined,
        };
        super(deployProvider, name, props, opts);
    }
}
