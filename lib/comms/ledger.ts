// The record of one incident's messages and what each channel took: what an `up` must write next (an alert, an
// update, a resolution), what it must send again, and how it reads in the outputs. Pure: the clock and the senders are
// handed in.
import { CHANNEL_NAMES, CHANNELS, ChannelError, type Channel } from "./delivery";
import {
    alertText,
    ETA_UNKNOWN,
    type IncidentStatus,
    resolutionFields,
    resolutionText,
    responseNote,
    type Severity,
    updateText,
} from "./templates";

/** The incident the stack's config declares. */
export interface DeclaredIncident {
    readonly severity: Severity;
    readonly title: string;
    readonly status: IncidentStatus;
    readonly impact: string;
    /** The on-call engineer as the alert names them: "Primary On-Call (primary@ahoy.example, +1-555-0100)". */
    readonly onCall: string;
}

/**
 * One channel's part in one message. `pending`: not sent yet (a channel sends its messages in order, so one waits while
 * an earlier one is undelivered); `failed`: sent and refused, or unanswered; `skipped`: the channel is not configured,
 * final.
 */
export interface DeliveryRecord {
    readonly state: "pending" | "delivered" | "failed" | "skipped";
    /** ISO 8601 of the last attempt (or of the message, while pending). */
    readonly at: string;
    /** What the channel answered ("200 ok", "202 Event processed ...", "503 ..."), or why nothing was sent. */
    readonly answer: string;
    /** Requests made for it, over every `up`. */
    readonly attempts: number;
}

export type MessageKind = "alert" | "update" | "resolution";

/** One message, as written once and sent to every channel. */
export interface MessageRecord {
    /** "alert", "update-1", "resolution-1". */
    readonly id: string;
    readonly kind: MessageKind;
    /** ISO 8601, when it was written: its Time: line. */
    readonly at: string;
    readonly severity: Severity;
    readonly title: string;
    readonly status: IncidentStatus;
    readonly impact: string;
    /** The template's text. */
    readonly text: string;
    /** A line beside the template (the alert's response deadline). */
    readonly note?: string;
    readonly deliveries: Readonly<Record<Channel, DeliveryRecord>>;
}

/** One incident, from its alert on. */
export interface IncidentRecord {
    /**
     * PagerDuty's dedup_key, and the resource's id: the same for every event of the incident, derived from the stack
     * and the incident's opening (the write-ahead record's), so an `up` killed after PagerDuty took the alert, and the
     * next one that sends it again, speak of one incident.
     */
    readonly dedupKey: string;
    /** ISO 8601, when the incident opened: the start of every duration. */
    readonly openedAt: string;
    /** The write-ahead record's token the last `up` that sent messages completed under. */
    readonly intentToken?: string;
    /** ISO 8601, when the last resolution was written; absent while unresolved. */
    readonly resolvedAt?: string;
    /** ISO 8601, when the incident keys were removed: the next incident is a new one. */
    readonly closedAt?: string;
    readonly messages: readonly MessageRecord[];
}

/** What one `up` must do. */
export interface Plan {
    /** A new incident: a new dedup_key and opened-at time (and a new resource id). */
    readonly opens: boolean;
    /** The messages to write, in order. */
    readonly compose: readonly MessageKind[];
    /** Some channel has a message it has not taken yet. */
    readonly retry: boolean;
    /** The incident keys are gone: record the end, so that the next incident starts afresh. */
    readonly closes: boolean;
}

/** True while the record is an incident the config may still be talking about. */
export function isOpen(record: IncidentRecord | undefined): record is IncidentRecord {
    return record !== undefined && record.closedAt === undefined;
}

/** The (message, channel) pairs still to be sent. */
export function undelivered(record: IncidentRecord | undefined): Array<{ message: MessageRecord; channel: Channel }> {
    if (!record) return [];
    return record.messages.flatMap((message) =>
        CHANNELS.filter((channel) => ["pending", "failed"].includes(message.deliveries[channel].state)).map(
            (channel) => ({ message, channel }),
        ),
    );
}

/**
 * What the declared incident asks of the record. An update is written when the status or the impact differ from the
 * last message's; a resolution when the status turns to resolved, or when the incident keys are removed while it was
 * not; a status other than resolved after a resolution reopens the incident with an update (PagerDuty opens a new
 * alert for it). A change of title, severity or on-call alone writes nothing: the next message carries it.
 */
export function planUp(record: IncidentRecord | undefined, declared: DeclaredIncident | undefined): Plan {
    const retry = undelivered(record).length > 0;
    if (!isOpen(record)) {
        if (!declared) return { opens: false, compose: [], retry, closes: false };
        return {
            opens: true,
            compose: declared.status === "resolved" ? ["alert", "resolution"] : ["alert"],
            retry: false,
            closes: false,
        };
    }
    const last = record.messages[record.messages.length - 1];
    if (!declared) {
        return { opens: false, compose: last.status === "resolved" ? [] : ["resolution"], retry, closes: true };
    }
    let compose: MessageKind[] = [];
    if (declared.status === "resolved") {
        if (last.status !== "resolved") compose = ["resolution"];
    } else if (declared.status !== last.status || declared.impact !== last.impact) {
        compose = ["update"];
    }
    return { opens: false, compose, retry, closes: false };
}

/** Whether the plan calls for anything at all: when not, the `up` writes nothing and calls no one. */
export function hasWork(plan: Plan): boolean {
    return plan.opens || plan.compose.length > 0 || plan.retry || plan.closes;
}

const pending = (at: string): Record<Channel, DeliveryRecord> =>
    Object.fromEntries(
        CHANNELS.map((channel) => [channel, { state: "pending", at, answer: "not sent yet", attempts: 0 }]),
    ) as Record<Channel, DeliveryRecord>;

/** A new incident's identity: its dedup_key and when it opened (ISO 8601). */
export interface Opening {
    readonly dedupKey: string;
    readonly openedAt: string;
}

/** The record after writing the plan's messages at `now`: a new one, as `opening` names it, when the plan opens one. */
export function compose(
    record: IncidentRecord | undefined,
    declared: DeclaredIncident | undefined,
    plan: Plan,
    now: Date,
    progress: string,
    opening: () => Opening,
): IncidentRecord | undefined {
    const at = now.toISOString();
    let next: IncidentRecord | undefined = plan.opens ? { ...opening(), messages: [] } : record;
    if (!next) return undefined;
    const messages = [...next.messages];
    for (const kind of plan.compose) {
        const last = messages[messages.length - 1];
        // Once the keys are removed, the resolution speaks of the incident as its last message left it.
        const about = declared ?? last;
        const count = messages.filter((m) => m.kind === kind).length + 1;
        const base = {
            id: kind === "alert" ? "alert" : `${kind}-${count}`,
            kind,
            at,
            severity: about.severity,
            title: about.title,
            impact: about.impact,
            deliveries: pending(at),
        };
        if (kind === "alert") {
            // The alert speaks of the incident's opening: the same text in whichever up sends it.
            const d = declared as DeclaredIncident;
            const opened = new Date(next.openedAt);
            messages.push({
                ...base,
                at: next.openedAt,
                deliveries: pending(next.openedAt),
                status: d.status,
                text: alertText({ ...d, at: opened }),
                note: responseNote(d.severity, opened),
            });
        } else if (kind === "update") {
            const d = declared as DeclaredIncident;
            messages.push({
                ...base,
                status: d.status,
                text: updateText({ title: d.title, at: now, status: d.status, progress, eta: ETA_UNKNOWN }),
            });
            next = { ...next, resolvedAt: undefined };
        } else {
            const text = resolutionText(resolutionFields(about.title, new Date(next.openedAt), now));
            messages.push({ ...base, status: "resolved", text });
            next = { ...next, resolvedAt: at };
        }
    }
    next = { ...next, messages };
    if (plan.closes) next = { ...next, closedAt: at };
    return next;
}

/**
 * Sends one message to one channel; resolves with the channel's answer, throws a ChannelError. `again`: the message may
 * already have reached the channel (an earlier `up` tried it), so it goes out marked as sent again.
 */
export type Send = (
    channel: Channel,
    message: MessageRecord,
    record: IncidentRecord,
    again: boolean,
) => Promise<string>;

/**
 * Sends every message a channel has not taken, channel by channel side by side, each channel's in order: a channel
 * that fails one keeps the later ones pending (Slack never shows update 2 before update 1). `notConfigured` names,
 * per channel, why it is not configured (its messages are then skipped), or is undefined when it is. A message an
 * earlier `up` tried (it failed, or timed out), or any message at all when `interrupted` (an earlier `up` was killed
 * while sending, see intentProvider.ts), is sent marked as sent again. Never throws: a failure is recorded with the
 * channel's answer.
 */
export async function deliver(
    record: IncidentRecord,
    notConfigured: Readonly<Record<Channel, string | undefined>>,
    send: Send,
    now: () => Date,
    interrupted = false,
): Promise<IncidentRecord> {
    const messages = record.messages.map((m) => ({ ...m, deliveries: { ...m.deliveries } }));
    await Promise.all(
        CHANNELS.map(async (channel) => {
            let blockedBy: string | undefined;
            for (const message of messages) {
                const before = message.deliveries[channel];
                if (before.state === "delivered" || before.state === "skipped") continue;
                const at = now().toISOString();
                const reason = notConfigured[channel];
                if (reason !== undefined) {
                    message.deliveries[channel] = { ...before, state: "skipped", at, answer: `skipped: ${reason}` };
                    continue;
                }
                if (blockedBy) {
                    message.deliveries[channel] = {
                        ...before,
                        state: "pending",
                        answer: `waiting: ${blockedBy} was not delivered`,
                    };
                    continue;
                }
                const attempts = before.attempts + 1;
                try {
                    const answer = await send(channel, message, record, interrupted || before.attempts > 0);
                    message.deliveries[channel] = { state: "delivered", at, answer, attempts };
                } catch (err) {
                    const answer = err instanceof ChannelError ? err.answer : `an error: ${(err as Error).message}`;
                    message.deliveries[channel] = { state: "failed", at, answer, attempts };
                    blockedBy = messageName(message);
                }
            }
        }),
    );
    return { ...record, messages };
}

/** "the alert", "update 2", "resolution 1": how a message is named in the outputs and errors. */
export function messageName(message: Pick<MessageRecord, "id" | "kind">): string {
    return message.kind === "alert" ? "the alert" : message.id.replace("-", " ");
}

/** One line per channel failure, for the receipt's error and the warning: "Slack (update 1): answered 503 ...". */
export function failures(record: IncidentRecord | undefined): string[] {
    if (!record) return [];
    return record.messages.flatMap((message) =>
        CHANNELS.filter((channel) => message.deliveries[channel].state === "failed").map(
            (channel) =>
                `${CHANNEL_NAMES[channel]} (${messageName(message)}): answered ${message.deliveries[channel].answer}`,
        ),
    );
}

/** How each channel stands, in a line: "delivered 4 of 4 messages", "skipped: slackWebhookUrl is not set". */
export function channelSummary(record: IncidentRecord | undefined, channel: Channel): string {
    if (!record || record.messages.length === 0) return "nothing sent (no incident)";
    const states = record.messages.map((m) => m.deliveries[channel]);
    const count = (state: DeliveryRecord["state"]) => states.filter((d) => d.state === state).length;
    const total = states.length;
    const failed = record.messages.filter((m) => m.deliveries[channel].state === "failed");
    if (count("skipped") === total) return states[total - 1].answer;
    const parts = [`delivered ${count("delivered")} of ${total} message${total === 1 ? "" : "s"}`];
    if (failed.length > 0) {
        parts.push(
            `failed: ${failed.map((m) => `${messageName(m)} answered ${m.deliveries[channel].answer}`).join("; ")}`,
        );
    }
    if (count("pending") > 0) parts.push(`${count("pending")} waiting`);
    if (count("skipped") > 0) parts.push(`${count("skipped")} skipped`);
    return parts.join("; ");
}
