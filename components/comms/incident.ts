// The incident's messages as a resource: one per incident, carrying its alert, updates and resolution to every channel.
import * as pulumi from "@pulumi/pulumi";
import type { Channel } from "../../lib/comms/delivery";
import type { DeclaredIncident, IncidentRecord } from "../../lib/comms/ledger";
import { ModuleResource, moduleProvider } from "../dynamicProvider";
import type { IncidentDeadlines, IncidentTexts, IntentSeen, WatchOf } from "./incidentProvider";

export type { IncidentInputs, IncidentOutputs } from "./incidentProvider";

/** The provider every resource of this type carries in the state: it requires the implementation in the provider host. */
export const incidentProvider = moduleProvider("comms", "Incident");

export interface IncidentArgs {
    /** The incident the config declares; undefined when the incident keys are not set (an open one is then resolved). */
    readonly incident: DeclaredIncident | undefined;
    /** The Progress line an update would carry (progress.ts). */
    readonly progress: pulumi.Input<string>;
    /** Where the watch of the last `up`'s deploy is kept: an update's Progress line ends with its verdict. */
    readonly watchOf?: pulumi.Input<WatchOf | undefined>;
    /** The affected system as PagerDuty names it: the Render service. */
    readonly source: pulumi.Input<string>;
    /** The write-ahead record's token, and the incident's dedup_key and opening (./intent.ts). */
    readonly intent: pulumi.Input<IntentSeen>;
}

/**
 * The incident's messages, each sent once per channel. The channels' secrets never pass through here: the provider
 * reads them from the stack config in `configure`, so neither the inputs nor the state hold them.
 */
export class Incident extends ModuleResource {
    /** The current (or last) incident's ledger; undefined before the first one. */
    declare public readonly record: pulumi.Output<IncidentRecord | undefined>;
    declare public readonly summary: pulumi.Output<string>;
    declare public readonly texts: pulumi.Output<IncidentTexts>;
    declare public readonly channels: pulumi.Output<Record<Channel, string>>;
    declare public readonly deadlines: pulumi.Output<IncidentDeadlines>;
    declare public readonly failures: pulumi.Output<string[]>;
    declare public readonly undelivered: pulumi.Output<number>;

    constructor(name: string, args: IncidentArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            incidentProvider,
            name,
            {
                incident: args.incident,
                progress: args.progress,
                watchOf: args.watchOf,
                source: args.source,
                intent: args.intent,
                record: undefined,
                summary: undefined,
                texts: undefined,
                channels: undefined,
                deadlines: undefined,
                failures: undefined,
                undelivered: undefined,
                intentToken: undefined,
            },
            opts,
        );
    }
}
