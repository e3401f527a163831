// The Incident provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts):
// writes the incident's messages and sends each to Slack, PagerDuty and email once, recording what each channel took.
import * as pulumi from "@pulumi/pulumi";
import {
    CHANNEL_NAMES,
    CHANNELS,
    ChannelError,
    type Channel,
    type ChannelSettings,
    redact,
    unconfigured,
} from "../../lib/comms/delivery";
import {
    channelSummary,
    compose,
    type DeclaredIncident,
    deliver,
    failures,
    hasWork,
    type IncidentRecord,
    isOpen,
    messageName,
    type MessageRecord,
    planUp,
    undelivered,
} from "../../lib/comms/ledger";
import { withWatch } from "../../lib/comms/progress";
import { UNKNOWN_VALUE } from "../../lib/pulumiWire";
import { keptWatches } from "./keptWatches";
import { writtenByThisUp } from "./intentProvider";
import {
    formatDuration,
    formatUtc,
    headline,
    postIncidentDeadlines,
    responseDeadline,
    SEVERITY_LEVELS,
    severityText,
    statusText,
} from "../../lib/comms/templates";

/** The stack config keys the provider reads in `configure`: the channels' secrets never become inputs or state. */
export const CHANNEL_CONFIG = {
    slackWebhookUrl: "ahoy-ops:slackWebhookUrl",
    pagerDutyRoutingKey: "ahoy-ops:pagerDutyRoutingKey",
    alertEmail: "ahoy-ops:alertEmail",
    smtpUrl: "ahoy-ops:smtpUrl",
} as const;

/** Where PagerDuty events go: the real Events API, unless a test or rehearsal points this variable at a stand-in. */
export const PAGERDUTY_URL_ENV = "AHOY_PAGERDUTY_EVENTS_URL";

/** The write-ahead record (./intent.ts) as the messages' resource reads it. */
export interface IntentSeen {
    /** New each time the record is written. */
    readonly token: string;
    /** The incident's dedup_key and opening: a new incident takes them. */
    readonly dedupKey?: string;
    readonly openedAt?: string;
}

/** The stack (`org/project/stack`) whose tags keep the watch of `deployId` (lib/report/watchTags.ts). */
export interface WatchOf {
    readonly stack: string;
    readonly deployId: string;
}

/** What the program declares: the incident from the config (or none), the Progress line for an update, the source. */
export interface IncidentInputs {
    /** The incident the config declares; absent when the incident keys are not set. */
    readonly incident?: DeclaredIncident;
    /** The Progress line an update would carry now. */
    readonly progress: string;
    /** Where the watch of the last `up`'s deploy is kept; an update written now ends its Progress line with its verdict. */
    readonly watchOf?: WatchOf;
    /** The affected system as PagerDuty names it: the Render service. */
    readonly source: string;
    /** The write-ahead record, written (completed) before this resource sends anything. */
    readonly intent: IntentSeen;
}

/** The deadlines of the incident, ISO 8601 (absent until they apply). */
export interface IncidentDeadlines {
    /** The alert's time plus the severity's response time. */
    respondBy?: string;
    /** From the resolution: the runbook's Post-Incident Process. */
    postIncidentReview?: string;
    rootCauseDocument?: string;
    actionItems?: string;
    processImprovements?: string;
}

/** The messages' texts as sent, to paste anywhere. */
export interface IncidentTexts {
    alert?: string;
    updates: string[];
    resolution?: string;
}

/** What the state records: the inputs, the incident's record, and how it reads. */
export interface IncidentOutputs extends IncidentInputs {
    /** The current (or last) incident; absent before the first one. */
    readonly record?: IncidentRecord;
    /** One line: "SEV-1 (Critical) Signup abuse: resolved; opened ..., lasted 2 h 5 min", or "none". */
    readonly summary: string;
    readonly texts: IncidentTexts;
    /** Per channel, what it took: "delivered 4 of 4 messages", "skipped: slackWebhookUrl is not set", "failed: ...". */
    readonly channels: Record<Channel, string>;
    readonly deadlines: IncidentDeadlines;
    /** Each channel that refused a message, and its answer: the receipt fails the `up` with these. */
    readonly failures: string[];
    /** (message, channel) pairs still to be sent. */
    readonly undelivered: number;
    /** The write-ahead record's token this resource last completed under: another one, not this up's, was cut short. */
    readonly intentToken?: string;
}

/** The line a message sent again carries: an earlier `up` may have delivered it already. */
export const SENT_AGAIN =
    "Sent again: an earlier `pulumi up` was stopped while sending this, or its answer was lost; " +
    "it may already be here once. It is the same message.";

/** The engine's stand-in, during a preview, for a value only known once an earlier resource is applied. */

/** Whether a value (or the token inside it) is the engine's unknown. */
function isUnknownValue(value: unknown): boolean {
    return (
        value === UNKNOWN_VALUE ||
        (typeof value === "object" && value !== null && (value as { token?: unknown }).token === UNKNOWN_VALUE)
    );
}

// One provider host serves one `up`; `configure` runs before any other method (see ../dynamicProvider.ts).
let channelConfig: ChannelSettings = {};

/** The email Message-ID of a message: stable, so a resend is the same message and the updates thread. */
function messageId(record: IncidentRecord, message: MessageRecord): string {
    return `<${message.id}.${record.dedupKey}@ahoy-ops.invalid>`;
}

/**
 * Sends one message to one channel, with the secrets `configure` found. The senders redact them from what a channel
 * answers; anything else that goes wrong is redacted here, so no error can carry one into the state or a log line.
 */
async function send(
    channel: Channel,
    message: MessageRecord,
    record: IncidentRecord,
    source: string,
    again: boolean,
): Promise<string> {
    try {
        return await sendWith(
            channelConfig,
            channel,
            again ? { ...message, note: noted(message.note) } : message,
            record,
            source,
            again,
        );
    } catch (err) {
        if (err instanceof ChannelError) throw err;
        const secrets = [channelConfig.slackWebhookUrl, channelConfig.pagerDutyRoutingKey, channelConfig.smtpUrl];
        throw new ChannelError(channel, redact(`an error: ${(err as Error).message ?? String(err)}`, secrets), true);
    }
}

/** A message's note with the sent-again line after it. */
function noted(note: string | undefined): string {
    return note ? `${note}\n${SENT_AGAIN}` : SENT_AGAIN;
}

async function sendWith(
    config: ChannelSettings,
    channel: Channel,
    message: MessageRecord,
    record: IncidentRecord,
    source: string,
    again: boolean,
): Promise<string> {
    if (channel === "slack") {
        const { postToSlack } = require("../../lib/comms/slack") as typeof import("../../lib/comms/slack");
        return postToSlack(config.slackWebhookUrl!, { text: message.text, note: message.note });
    }
    if (channel === "pagerDuty") {
        const { sendPagerDutyEvent, PAGERDUTY_EVENTS_URL } =
            require("../../lib/comms/pagerDuty") as typeof import("../../lib/comms/pagerDuty");
        const url = process.env[PAGERDUTY_URL_ENV] || PAGERDUTY_EVENTS_URL;
        // The alert and each update trigger (an update adds to the open alert's log; after a resolution, a trigger
        // opens a new alert and pages again); the resolution resolves.
        const event =
            message.kind === "resolution"
                ? ({ action: "resolve", dedupKey: record.dedupKey } as const)
                : ({
                      action: "trigger",
                      dedupKey: record.dedupKey,
                      summary: headline(message.text),
                      source,
                      severity: SEVERITY_LEVELS[message.severity].pagerDuty,
                      timestamp: message.at,
                      customDetails: {
                          message: message.text,
                          status: statusText(message.status),
                          impact: message.impact,
                          ...(message.note && { response: message.note }),
                          // Same dedup_key: PagerDuty adds it to the alert an earlier up opened, and pages no one again.
                          ...(again && { sent_again: SENT_AGAIN }),
                      },
                  } as const);
        return sendPagerDutyEvent(config.pagerDutyRoutingKey!, event, url);
    }
    const { sendEmail } = require("../../lib/comms/email") as typeof import("../../lib/comms/email");
    const alert = record.messages.find((m) => m.kind === "alert");
    return sendEmail(config.smtpUrl!, {
        to: config.alertEmail!,
        from: `ahoy-ops <${config.alertEmail}>`,
        subject: headline(message.text),
        text: message.note ? `${message.text}\n\n${message.note}` : message.text,
        messageId: messageId(record, message),
        inReplyTo: alert && alert !== message ? messageId(record, alert) : undefined,
    });
}

/** The outputs for a record: its texts, each channel's standing, the deadlines, the failures. */
function outputsFor(inputs: IncidentInputs, record: IncidentRecord | undefined, intentToken?: string): IncidentOutputs {
    const texts: IncidentTexts = { updates: [] };
    const deadlines: IncidentDeadlines = {};
    let summary = "none";
    if (record && record.messages.length > 0) {
        const alert = record.messages.find((m) => m.kind === "alert");
        const last = record.messages[record.messages.length - 1];
        texts.alert = alert?.text;
        texts.updates = record.messages.filter((m) => m.kind === "update").map((m) => m.text);
        texts.resolution = [...record.messages].reverse().find((m) => m.kind === "resolution")?.text;
        if (alert) deadlines.respondBy = responseDeadline(alert.severity, new Date(alert.at)).toISOString();
        summary = `${severityText(last.severity)} ${last.title}: ${last.status}; opened ${formatUtc(new Date(record.openedAt))}`;
        if (record.resolvedAt) {
            const due = postIncidentDeadlines(new Date(record.resolvedAt));
            deadlines.postIncidentReview = due.review.toISOString();
            deadlines.rootCauseDocument = due.rootCauseDocument.toISOString();
            deadlines.actionItems = due.actionItems.toISOString();
            deadlines.processImprovements = due.processImprovements.toISOString();
            const lasted = formatDuration(Date.parse(record.resolvedAt) - Date.parse(record.openedAt));
            summary += `, resolved ${formatUtc(new Date(record.resolvedAt))}, lasted ${lasted}`;
        }
        if (record.closedAt) summary += "; closed (the incident keys are removed)";
    }
    const channels = Object.fromEntries(CHANNELS.map((c) => [c, channelSummary(record, c)])) as Record<Channel, string>;
    const outputs: IncidentOutputs = {
        ...inputs,
        ...(record && { record }),
        summary,
        texts,
        channels,
        deadlines,
        failures: failures(record),
        undelivered: undelivered(record).length,
        ...(intentToken && { intentToken }),
    };
    // The host sends outputs as a protobuf Struct, which has no `undefined`: absent fields are left out.
    return JSON.parse(JSON.stringify(outputs)) as IncidentOutputs;
}

/**
 * Whether an earlier `up` wrote the intent and was cut short before this resource recorded its sends: the intent's
 * token is neither the one last completed (`completed`) nor one this `up` wrote.
 */
export function interruptedBefore(intent: IntentSeen, completed: string | undefined): boolean {
    return intent.token !== completed && !writtenByThisUp(intent.token);
}

/**
 * The Progress line of an update written now: the program's, and the verdict of the watch of the last `up`'s deploy
 * when the stack keeps one (read here, in the messages' own step, so the mitigation never waits for it).
 */
async function progressWithWatch(inputs: IncidentInputs): Promise<string> {
    if (!inputs.watchOf) return inputs.progress;
    const watch = (await keptWatches(inputs.watchOf.stack)).get(inputs.watchOf.deployId);
    return watch ? withWatch(inputs.progress, watch) : inputs.progress;
}

/**
 * Writes what the plan calls for (a new incident takes the intent's opening and dedup_key), sends what is
 * undelivered (marked as sent again where an earlier `up` may have sent it), and logs each channel's answer (never a
 * secret).
 */
async function run(
    record: IncidentRecord | undefined,
    inputs: IncidentInputs,
    interrupted: boolean,
): Promise<IncidentRecord | undefined> {
    const plan = planUp(record, inputs.incident);
    const progress = plan.compose.includes("update") ? await progressWithWatch(inputs) : inputs.progress;
    const now = new Date();
    const written = compose(record, inputs.incident, plan, now, progress, () => {
        const { dedupKey, openedAt } = inputs.intent;
        if (!dedupKey || !openedAt)
            throw new Error("the incident's intent names no opening: its record was not written");
        return { dedupKey, openedAt };
    });
    if (!written) return undefined;
    const before = new Set(undelivered(written).map(({ message, channel }) => `${message.id}/${channel}`));
    if (interrupted && before.size > 0) {
        await pulumi.log.warn(
            "incident comms: an earlier pulumi up was stopped while sending (its record was written, its sends never " +
                "recorded): what it may have sent goes out again, marked as sent again; PagerDuty keeps one incident",
        );
    }
    const delivered = await deliver(
        written,
        unconfigured(channelConfig),
        (channel, message, r, again) => send(channel, message, r, inputs.source, again),
        () => new Date(),
        interrupted,
    );
    for (const message of delivered.messages) {
        for (const channel of CHANNELS) {
            if (!before.has(`${message.id}/${channel}`)) continue;
            const d = message.deliveries[channel];
            const what = `${CHANNEL_NAMES[channel]}: ${messageName(message)} (${headline(message.text)})`;
            if (d.state === "delivered") await pulumi.log.info(`${what} delivered: ${d.answer}`);
            else if (d.state === "skipped") await pulumi.log.info(`${what} ${d.answer}`);
            else if (d.state === "failed") {
                await pulumi.log.warn(
                    `${what} not delivered: answered ${d.answer}; the up fails once the mitigation has run, and the next up sends it again`,
                );
            }
        }
    }
    return delivered;
}

function checkFailures(news: IncidentInputs): pulumi.dynamic.CheckFailure[] {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const incident = news.incident;
    if (incident !== undefined) {
        if (![1, 2, 3].includes(incident.severity)) {
            failures.push({ property: "incident", reason: `severity must be 1, 2 or 3, got ${incident.severity}` });
        }
        for (const field of ["title", "impact", "onCall", "status"] as const) {
            if (typeof incident[field] !== "string" || incident[field] === "") {
                failures.push({ property: "incident", reason: `${field} must be a non-empty string` });
            }
        }
    }
    if (typeof news.source !== "string" || news.source === "") {
        failures.push({ property: "source", reason: "source must name the affected service" });
    }
    const intent = news.intent as unknown;
    if (!isUnknownValue(intent) && (typeof intent !== "object" || intent === null || !("token" in intent))) {
        failures.push({ property: "intent", reason: "intent must be the incident's write-ahead record (./intent.ts)" });
    }
    return failures;
}

/** The provider: the channels' secrets read in `configure`, everything else from the inputs and the record. */
export const incidentProvider: pulumi.dynamic.ResourceProvider<IncidentInputs, IncidentOutputs> = {
    async configure(req) {
        const get = (key: string) => req.config.get(key) || undefined;
        channelConfig = {
            slackWebhookUrl: get(CHANNEL_CONFIG.slackWebhookUrl),
            pagerDutyRoutingKey: get(CHANNEL_CONFIG.pagerDutyRoutingKey),
            alertEmail: get(CHANNEL_CONFIG.alertEmail),
            smtpUrl: get(CHANNEL_CONFIG.smtpUrl),
        };
    },

    async check(_olds, news) {
        return { inputs: news, failures: checkFailures(news) };
    },

    async diff(_id, olds, news) {
        const plan = planUp(olds.record, news.incident);
        // A new intent (unknown in a preview until it is written) is recorded even where nothing is sent.
        const intentToken = isUnknownValue(news.intent) ? UNKNOWN_VALUE : news.intent?.token;
        const newIntent = intentToken === UNKNOWN_VALUE || intentToken !== olds.intentToken;
        // Nothing new to write and nothing undelivered: no change, so a no-op `up` sends nothing and calls no one.
        if (!hasWork(plan) && !newIntent) return { changes: false };
        // A new incident is a new resource (its id is the dedup_key); the old one, closed or idle, goes quietly.
        return { changes: true, replaces: plan.opens ? ["incident"] : [], deleteBeforeReplace: false };
    },

    async create(inputs) {
        const record = await run(undefined, inputs, interruptedBefore(inputs.intent, undefined));
        return { id: record?.dedupKey ?? "no-incident", outs: outputsFor(inputs, record, inputs.intent.token) };
    },

    async update(_id, olds, news) {
        const interrupted = interruptedBefore(news.intent, olds.intentToken);
        return { outs: outputsFor(news, await run(olds.record, news, interrupted), news.intent.token) };
    },

    async read(id, props) {
        // Nothing outside holds the record: a refresh keeps it as it is, with the inputs it was written from.
        if (!props) throw new Error(`cannot import incident ${id}: declare it in the program instead`);
        const inputs: IncidentInputs = {
            incident: props.incident,
            progress: props.progress,
            ...(props.watchOf && { watchOf: props.watchOf }),
            source: props.source,
            intent: props.intent,
        };
        return { id, props, inputs: inputs as IncidentOutputs };
    },

    async delete(_id, props) {
        const record = props.record;
        const last = record?.messages[record.messages.length - 1];
        if (isOpen(record) && last && last.status !== "resolved") {
            throw new Error(
                `incident "${last.title}" (${severityText(last.severity)}) is still open and PagerDuty still pages for it: ` +
                    "resolve it first (`pulumi config set incidentStatus resolved`, then `pulumi up`), then remove it",
            );
        }
    },
};
