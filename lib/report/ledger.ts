// The one place the report reads an incident's ledger (lib/comms/ledger.ts IncidentRecord, as the Incident resource
// and the Timeline keep it in the state): a change of the ledger's shape is handled here alone. Pure.
import { z } from "zod";
import { CHANNEL_NAMES, type Channel } from "../comms/delivery";
import type { Severity } from "../comms/templates";

/** What one channel did with one message. */
export interface DeliveryView {
    /** "Slack", "PagerDuty", "Email". */
    readonly channel: string;
    /** `delivered`, `failed`, `pending`, `skipped` (or whatever a newer ledger records). */
    readonly state: string;
    readonly at?: Date;
    /** What the channel answered ("200 ok"), or why nothing was sent; the senders redact every secret from it. */
    readonly answer: string;
    readonly attempts: number;
}

/** One message of the incident. */
export interface MessageView {
    readonly id: string;
    readonly kind: "alert" | "update" | "resolution";
    readonly at: Date;
    readonly severity: Severity;
    readonly title: string;
    readonly status: string;
    readonly impact: string;
    readonly text: string;
    readonly deliveries: readonly DeliveryView[];
}

/** One incident, from its alert on. */
export interface IncidentView {
    readonly dedupKey: string;
    readonly openedAt: Date;
    /** When the last resolution was written; absent while unresolved. */
    readonly resolvedAt?: Date;
    /** When the incident keys were removed. */
    readonly closedAt?: Date;
    readonly messages: readonly MessageView[];
}

const Delivery = z.object({
    state: z.string(),
    at: z.string().optional(),
    answer: z.string().default(""),
    attempts: z.number().default(0),
});

const Ledger = z.object({
    dedupKey: z.string(),
    openedAt: z.string(),
    resolvedAt: z.string().optional(),
    closedAt: z.string().optional(),
    messages: z.array(
        z.object({
            id: z.string(),
            kind: z.enum(["alert", "update", "resolution"]),
            at: z.string(),
            severity: z.union([z.literal(1), z.literal(2), z.literal(3)]),
            title: z.string(),
            status: z.string(),
            impact: z.string().default(""),
            text: z.string().default(""),
            deliveries: z.record(z.string(), Delivery).default({}),
        }),
    ),
});

const channelName = (channel: string) => CHANNEL_NAMES[channel as Channel] ?? channel;

/** An incident's ledger as the report reads it; undefined (with the reason) when it is not one. */
export function incidentView(raw: unknown): { incident?: IncidentView; problem?: string } {
    const parsed = Ledger.safeParse(raw);
    if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return { problem: `an incident ledger the report cannot read (${issue.path.join(".")}: ${issue.message})` };
    }
    const r = parsed.data;
    return {
        incident: {
            dedupKey: r.dedupKey,
            openedAt: new Date(r.openedAt),
            ...(r.resolvedAt && { resolvedAt: new Date(r.resolvedAt) }),
            ...(r.closedAt && { closedAt: new Date(r.closedAt) }),
            messages: r.messages.map((m) => ({
                id: m.id,
                kind: m.kind,
                at: new Date(m.at),
                severity: m.severity,
                title: m.title,
                status: m.status,
                impact: m.impact,
                text: m.text,
                deliveries: Object.entries(m.deliveries).map(([channel, d]) => ({
                    channel: channelName(channel),
                    state: d.state,
                    ...(d.at && { at: new Date(d.at) }),
                    answer: d.answer,
                    attempts: d.attempts,
                })),
            })),
        },
    };
}
