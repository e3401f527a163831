// The post-incident report's record of each `up`: what Render ran, what the checks saw, the incidents' ledgers and
// what was not ready, carried forward in the state (the stack history keeps no outputs). Implementation:
// ./timelineProvider.ts, run in the provider host.
import * as pulumi from "@pulumi/pulumi";
import {
    factsText,
    type IncidentLedger,
    type NotReadyFact,
    type TimelineEntry,
    type UpFacts,
} from "../../lib/report/record";
import type { ReadinessRow } from "../../stacks/readiness";
import { ModuleResource, moduleProvider } from "../dynamicProvider";
import type { Deploy } from "../render/deploy";
import type { MaintenanceMode } from "../render/maintenanceMode";
import type { Verification } from "../verification";

export type { TimelineInputs, TimelineOutputs } from "./timelineProvider";

/** The provider every resource of this type carries in the state: it requires the implementation in the provider host. */
export const timelineProvider = moduleProvider("report", "Timeline");

export interface TimelineArgs {
    /** The deploy this `up` leaves live. */
    readonly deploy: Deploy;
    /** The release pin the deploy runs under; undefined: none. */
    readonly releasePin?: string;
    /** The checks after the deploy; undefined while verification is off. */
    readonly verification?: Verification;
    /** Render's maintenance page, and whether the config holds it on. */
    readonly maintenancePage: MaintenanceMode;
    readonly maintenancePageOn: boolean;
    /** The Incident resource's record (IncidentComms.record); undefined before the first incident. */
    readonly incident: pulumi.Input<IncidentLedger | undefined>;
    /** The runbook's readiness now (stacks/readiness.ts): the rows not ready are recorded. */
    readonly readiness: readonly ReadinessRow[];
}

/** The readiness rows that are not ready, as the Timeline records them. */
export function notReadyFacts(rows: readonly ReadinessRow[]): NotReadyFact[] {
    return rows
        .filter((row) => row.status === "not ready")
        .map((row) => ({ action: row.action, lacks: [...row.lacks], commands: [...row.commands] }));
}

/**
 * The stack's own timeline: one entry per `up` that deployed, checked, changed the maintenance page or wrote to an
 * incident. It waits on the deploy, its checks, the page and the incident, and nothing waits on it, so it delays no
 * mitigation and no message; a failed `up` records nothing here (its history record says it failed).
 */
export class Timeline extends ModuleResource {
    declare public readonly entries: pulumi.Output<TimelineEntry[]>;
    declare public readonly incidents: pulumi.Output<IncidentLedger[]>;

    constructor(name: string, args: TimelineArgs, opts?: pulumi.CustomResourceOptions) {
        const { deploy, verification, maintenancePage } = args;
        const deployFact = pulumi
            .all([deploy.deployId, deploy.commitId, deploy.status, deploy.liveAt, deploy.plan, deploy.decided])
            .apply(([id, commit, status, liveAt, plan, decided]) => ({
                id,
                commit,
                status,
                liveAt,
                plan,
                decided,
                releasePin: args.releasePin,
            }));
        const checks = verification
            ? pulumi.all([verification.verifiedAt, verification.results]).apply(([verifiedAt, results]) => ({
                  verifiedAt,
                  results,
              }))
            : undefined;
        const facts = pulumi
            .all([deployFact, checks, maintenancePage.seen, pulumi.output(args.incident)])
            .apply(([deployed, checked, seen, incident]) => {
                const up: UpFacts = {
                    deploy: deployed,
                    checks: checked,
                    maintenancePage: { enabled: args.maintenancePageOn, seen },
                    incident: (incident ?? undefined) as IncidentLedger | undefined,
                    notReady: notReadyFacts(args.readiness),
                };
                return factsText(up);
            });
        super(timelineProvider, name, { facts, entries: undefined, incidents: undefined }, opts);
    }
}
