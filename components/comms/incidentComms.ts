// Incident comms: the runbook's alert, status updates and resolution, posted to Slack, PagerDuty and email by `pulumi up`.
import * as pulumi from "@pulumi/pulumi";
import type { Channel } from "../../lib/comms/delivery";
import type { DeclaredIncident, IncidentRecord } from "../../lib/comms/ledger";
import { type LastVerification, progressLine, type ProgressFacts } from "../../lib/comms/progress";
import type { StackConfig } from "../../stacks/config";
import type { WatchIncident } from "../verification/plan";
import { Incident } from "./incident";
import type { IncidentDeadlines, IncidentTexts, WatchOf } from "./incidentProvider";
import { IncidentIntent } from "./intent";
import { IncidentReceipt } from "./receipt";
import { CommsStarted } from "./started";

/** The stack settings incident comms read. */
export type IncidentCommsSettings = Pick<
    StackConfig,
    | "incidentSeverity"
    | "incidentTitle"
    | "incidentStatus"
    | "incidentImpact"
    | "incidentOnCall"
    | "contacts"
    | "service"
    | "releasePin"
    | "secretKeyGeneration"
    | "databaseCredentialGeneration"
    | "databaseAppHost"
>;

/** What the stack does, beyond its settings, that an update's Progress line reports. */
export interface IncidentFacts {
    /** The switch variables the stack sets, by name, as the service gets them: `FeatureFlags.values`. */
    readonly switches: Readonly<Record<string, string | undefined>>;
    /**
     * The last verification's result lines and time. It must be known before this `up`'s deploy (for instance the
     * previous `up`'s `verification` output): an output of this `up`'s verification would make every message wait for
     * the deploy and its five-minute watch.
     */
    readonly lastVerification?: pulumi.Input<LastVerification | undefined>;
    /**
     * Where the watch of that `up`'s deploy is kept (its stack and deploy id): an update's Progress line ends with its
     * verdict, read by the messages' own step when it writes an update, so nothing else waits for the read.
     */
    readonly watchOf?: pulumi.Input<WatchOf | undefined>;
}

export interface IncidentCommsArgs {
    /** The stack's settings, validated: the incident keys, the contacts, the service, the pin and the rotations. */
    readonly settings: IncidentCommsSettings;
    /** What the Progress line is written from, besides the settings. */
    readonly facts: IncidentFacts;
    /** `<project>/<stack>`: with the incident's opening, PagerDuty's dedup_key. */
    readonly stack: string;
}

/** The incident the settings declare, or undefined when the incident keys are not set. */
export function declaredIncident(settings: IncidentCommsSettings): DeclaredIncident | undefined {
    const { incidentSeverity: severity, incidentTitle: title, incidentImpact: impact, incidentOnCall } = settings;
    if (severity === undefined || !title || !impact || !incidentOnCall) return undefined;
    const contact = settings.contacts?.[incidentOnCall];
    const onCall = contact ? `${contact.name ?? incidentOnCall} (${contact.email}, ${contact.phone})` : incidentOnCall;
    return { severity, title, status: settings.incidentStatus, impact, onCall };
}

/** The Progress line's facts from the settings and what the program knows of the stack. */
export function progressFacts(
    settings: IncidentCommsSettings,
    facts: IncidentFacts,
    last?: LastVerification,
): ProgressFacts {
    const rotations: Record<string, number> = { SECRET_KEY: settings.secretKeyGeneration };
    // The database logins rotate only where the program manages them.
    if (settings.databaseAppHost) rotations["database credentials"] = settings.databaseCredentialGeneration;
    return { switches: facts.switches, releasePin: settings.releasePin, rotations, lastVerification: last };
}

/**
 * The incident's messages and their receipt. Three resources, so that comms never delay the mitigation, a failed
 * channel still fails the `up` after the mitigation, and a killed `up` never pages twice:
 * - the intent is written first, depending on nothing: the incident's opening (so PagerDuty's dedup_key, the stack and
 *   that opening) and a token, completed before any message goes out (a write-ahead record);
 * - the Incident depends on nothing of the mitigation, only on the intent: the engine runs it beside the deploy, and a
 *   slow webhook (bounded by the senders' timeouts) never holds the deploy up. It never fails on a channel's account
 *   either: the engine schedules no new step after a failure, so a throw here could keep the deploy from starting. It
 *   records what each channel took, and what a failing one answered, and warns. Seeing an intent an earlier `up`
 *   wrote and never completed (killed while sending), it sends what that `up` may have sent again, marked as such,
 *   under the same dedup_key (PagerDuty keeps one incident, and pages once);
 * - the receipt (`receiptAfter`) depends on both the Incident and the mitigation, so it runs after the deploy and its
 *   verification; its diff makes it run whenever a message is undelivered, and it then fails the `up` naming each
 *   channel and its answer.
 * - the marker `started`, ready with the Incident: the mitigation's steps wait for it (index.ts), so the engine has
 *   started sending before any of them can fail and stop it from starting anything new.
 * The next `up` finds the undelivered messages in the Incident's state and sends only those. Declare it before the
 * mitigation: nothing the mitigation does during the up (a write refused, a deploy failed, a rotation refused at its
 * retirement) holds back an alert. What a preview refuses (a pin Render does not know, a rotation bumped too early)
 * stops the whole up before anything runs, messages included: fix or remove it, and up again.
 */
export class IncidentComms extends pulumi.ComponentResource {
    /** One line on the current (or last) incident, or "none". */
    public readonly incident: pulumi.Output<string>;
    /** The messages as sent: the alert, the updates in order, the last resolution. */
    public readonly messages: pulumi.Output<IncidentTexts>;
    /** What each channel took: "delivered 4 of 4 messages", "skipped: slackWebhookUrl is not set", "failed: ...". */
    public readonly channels: pulumi.Output<Record<Channel, string>>;
    /** The response deadline (from the alert) and the post-incident deadlines (from the resolution), ISO 8601. */
    public readonly deadlines: pulumi.Output<IncidentDeadlines>;
    /** The incident's ledger (every message, when, and what each channel took), for the post-incident report. */
    public readonly record: pulumi.Output<IncidentRecord | undefined>;
    /**
     * The incident while it is open (declared, not resolved), with its PagerDuty dedup_key (the Incident's id), for the
     * watch that posts a crossed threshold to it; undefined otherwise.
     */
    public readonly openIncident: pulumi.Output<WatchIncident | undefined>;
    /** The write-ahead record the messages are sent after. */
    public readonly intent: IncidentIntent;
    /** The messages' resource. */
    public readonly delivery: Incident;
    /**
     * Done once the messages' step is on its way: every mitigation step waits for it (see ./started.ts), so one that
     * fails at once (a write Render refuses) cannot keep the alert from going out. It waits for no message.
     */
    public readonly started: CommsStarted;

    private readonly baseName: string;
    private receipt?: IncidentReceipt;

    constructor(name: string, args: IncidentCommsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ahoy:comms:IncidentComms", name, {}, opts);
        this.baseName = name;
        const { settings, facts } = args;
        const incident = declaredIncident(settings);
        const progress = pulumi
            .output(facts.lastVerification)
            .apply((last) => progressLine(progressFacts(settings, facts, last ?? undefined)));
        this.intent = new IncidentIntent(`${name}-incident-intent`, { stack: args.stack, incident }, { parent: this });
        const intent = pulumi
            .all([this.intent.token, this.intent.dedupKey, this.intent.openedAt])
            .apply(([token, dedupKey, openedAt]) => ({
                token,
                ...(dedupKey && { dedupKey }),
                ...(openedAt && { openedAt }),
            }));
        this.delivery = new Incident(
            `${name}-incident`,
            { incident, progress, watchOf: facts.watchOf, source: settings.service, intent },
            { parent: this },
        );
        // Ready with the messages (the same inputs, declared just after them): what the mitigation waits for.
        this.started = new CommsStarted(`${name}-incident-started`, { after: [progress, intent] }, { parent: this });
        this.incident = this.delivery.summary;
        this.messages = this.delivery.texts;
        this.channels = this.delivery.channels;
        this.deadlines = this.delivery.deadlines;
        this.record = this.delivery.record;
        this.openIncident = this.delivery.id.apply((dedupKey) =>
            incident && incident.status !== "resolved"
                ? { severity: incident.severity, title: incident.title, status: incident.status, dedupKey }
                : undefined,
        );
        this.registerOutputs({
            incident: this.incident,
            messages: this.messages,
            channels: this.channels,
            deadlines: this.deadlines,
        });
    }

    /**
     * The receipt, after `mitigation` (the mitigation's last step, the deploy's verification): it fails the `up`, only
     * once that ran, while a channel has not taken a message. Call it once.
     */
    receiptAfter(mitigation: pulumi.Resource): IncidentReceipt {
        if (this.receipt)
            throw new Error(`${this.baseName}: receiptAfter was already called; the receipt is declared once`);
        this.receipt = new IncidentReceipt(
            `${this.baseName}-incident-receipt`,
            { failures: this.delivery.failures },
            { parent: this, dependsOn: [this.delivery, mitigation] },
        );
        return this.receipt;
    }
}
