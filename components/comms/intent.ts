// The incident's write-ahead record: completed before any message is sent, so a killed `up` leaves behind what it was
// about to send, and the incident's identity (PagerDuty's dedup_key) outlives it.
import * as pulumi from "@pulumi/pulumi";
import type { DeclaredIncident } from "../../lib/comms/ledger";
import { ModuleResource, moduleProvider } from "../dynamicProvider";

export type { IncidentIntentInputs, IncidentIntentOutputs } from "./intentProvider";

/** The provider every resource of this type carries in the state: it requires the implementation in the provider host. */
export const intentProvider = moduleProvider("comms", "Intent");

export interface IncidentIntentArgs {
    /** The stack, as `<project>/<stack>`: with the incident's opening, what identifies it to PagerDuty. */
    readonly stack: pulumi.Input<string>;
    /** The incident the config declares; undefined when the incident keys are not set. */
    readonly incident: DeclaredIncident | undefined;
}

/**
 * Written before the incident's messages go out, whenever the config calls for a new one (an incident opened, a new
 * status or impact, a resolution, the keys removed): the incident's opening and dedup_key, and a token the messages'
 * resource records once it has sent them. A token it has not recorded, from an earlier `up`, means that `up` was
 * killed while sending: whatever it sends now may already have gone out, and is sent marked as such.
 */
export class IncidentIntent extends ModuleResource {
    /** When the incident opened (ISO 8601); "" before the first one. */
    declare public readonly openedAt: pulumi.Output<string>;
    /** `<stack>/<openedAt>`: PagerDuty's dedup_key for every event of the incident, whichever `up` sends it; or "". */
    declare public readonly dedupKey: pulumi.Output<string>;
    /** New each time the record is written. */
    declare public readonly token: pulumi.Output<string>;

    constructor(name: string, args: IncidentIntentArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            intentProvider,
            name,
            { stack: args.stack, incident: args.incident, openedAt: undefined, dedupKey: undefined, token: undefined },
            opts,
        );
    }
}
