// Which stack owns the Render service: claimed on the first `up`, refused to any other stack, let go on destroy.
import * as pulumi from "@pulumi/pulumi";
import { ModuleResource, moduleProvider } from "../dynamicProvider";
import type { Generations } from "./ownership";

export type { ServiceOwnerInputs, ServiceOwnerOutputs } from "./serviceOwnerProvider";
export { OWNER_MARKER_KEY } from "./ownership";

/** The provider every resource of this type carries in the state: it requires the implementation in the provider host. */
export const serviceOwnerProvider = moduleProvider("render", "ServiceOwner");

/** The arguments of the service's ownership. */
export interface ServiceOwnerArgs {
    /** Render service name or srv- id. */
    readonly service: pulumi.Input<string>;
    /** Render API base URL. */
    readonly apiUrl: pulumi.Input<string>;
    /** This stack, `<organization>/<project>/<stack>`. */
    readonly stack: pulumi.Input<string>;
    /** `takeOverFrom`: the stack this one takes the service over from, in a reviewed config change. */
    readonly takeOverFrom?: pulumi.Input<string>;
    /** The generations this `up` runs at: a lower one than already started on the service is refused. */
    readonly generations: Generations;
    /** The switch variables the program manages: put back as found when the service is let go. */
    readonly switches: readonly string[];
    /** The secret variables the program manages: kept as they are when the service is let go. */
    readonly secrets: readonly string[];
    /** Anything else the stack keeps when it lets go, by name, with why (the database's login roles), for the preview. */
    readonly kept?: Readonly<Record<string, string>>;
}

/**
 * The stack's claim on the service, in a marker Render keeps with it (the AHOY_OPS_STACK variable). Everything that
 * writes to the service depends on it, so a second stack's preview and `up` refuse before anything is written; its
 * `delete` (destroy, a service change) puts the switches back as found at adoption and keeps the secrets.
 */
export class ServiceOwner extends ModuleResource {
    declare public readonly serviceId: pulumi.Output<string>;
    /** Each switch as the first `up` found it (null: absent). */
    declare public readonly found: pulumi.Output<Record<string, string | null>>;
    /** What letting go does to each key, in words. */
    declare public readonly onDestroy: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: ServiceOwnerArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            service: args.service,
            apiUrl: args.apiUrl,
            stack: args.stack,
            takeOverFrom: args.takeOverFrom,
            generations: args.generations,
            switches: [...args.switches],
            secrets: [...args.secrets],
            kept: args.kept,
            found: undefined,
            onDestroy: undefined,
            serviceId: undefined,
            claim: undefined,
            since: undefined,
        };
        super(serviceOwnerProvider, name, props, opts);
    }
}
