// Sends an alert event to PagerDuty's Events API v2 (which pages the on-call engineer by SMS): `trigger` opens or adds
// to the incident's alert, `resolve` closes it; both carry the incident's dedup_key.
import { ChannelError, describeAnswer, postJson, redact, type SendOptions } from "./delivery";

/** The Events API v2 endpoint. */
export const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue";

/** The API's limits: `payload.summary` up to 1024 characters, `dedup_key` up to 255. */
export const MAX_SUMMARY_LENGTH = 1024;
export const MAX_DEDUP_KEY_LENGTH = 255;

export type PagerDutySeverity = "critical" | "error" | "warning" | "info";

/** One event about the incident. */
export type PagerDutyEvent =
    | {
          readonly action: "trigger";
          readonly dedupKey: string;
          /** The alert's title in PagerDuty: the message's headline. */
          readonly summary: string;
          /** The affected system: the Render service. */
          readonly source: string;
          readonly severity: PagerDutySeverity;
          /** ISO 8601, when the message was written. */
          readonly timestamp: string;
          readonly customDetails: Readonly<Record<string, string>>;
      }
    | { readonly action: "resolve"; readonly dedupKey: string };

/** The request body the API takes: a resolve carries only the routing key, the action and the dedup_key. */
export function pagerDutyPayload(routingKey: string, event: PagerDutyEvent): Record<string, unknown> {
    if (event.action === "resolve") {
        return { routing_key: routingKey, event_action: "resolve", dedup_key: event.dedupKey };
    }
    const summary =
        event.summary.length <= MAX_SUMMARY_LENGTH
            ? event.summary
            : `${event.summary.slice(0, MAX_SUMMARY_LENGTH - 1)}…`;
    return {
        routing_key: routingKey,
        event_action: "trigger",
        dedup_key: event.dedupKey,
        payload: {
            summary,
            source: event.source,
            severity: event.severity,
            timestamp: event.timestamp,
            component: "incident-comms",
            custom_details: event.customDetails,
        },
        client: "ahoy-ops",
    };
}

/** The 202 body: `{"status":"success","message":"Event processed","dedup_key":"..."}`. */
interface Accepted {
    status?: string;
    message?: string;
    dedup_key?: string;
    errors?: unknown;
}

function parse(body: string): Accepted | undefined {
    try {
        const value = JSON.parse(body) as unknown;
        return typeof value === "object" && value !== null ? (value as Accepted) : undefined;
    } catch {
        return undefined;
    }
}

/**
 * Sends `event` to the Events API at `url` (the production endpoint unless a test points elsewhere). Resolves with
 * PagerDuty's answer once it is `202` with the same dedup_key; throws a ChannelError naming the answer (`400 invalid
 * event: ...`, `429 ...`), never the routing key.
 */
export async function sendPagerDutyEvent(
    routingKey: string,
    event: PagerDutyEvent,
    url: string = PAGERDUTY_EVENTS_URL,
    options?: SendOptions,
): Promise<string> {
    if (event.dedupKey.length === 0 || event.dedupKey.length > MAX_DEDUP_KEY_LENGTH) {
        throw new ChannelError(
            "pagerDuty",
            `no request: dedup_key must be 1 to ${MAX_DEDUP_KEY_LENGTH} characters`,
            false,
        );
    }
    const secrets = [routingKey];
    const answer = await postJson("pagerDuty", url, pagerDutyPayload(routingKey, event), secrets, options);
    const body = parse(answer.body);
    if (answer.status !== 202) {
        const said =
            body?.message !== undefined
                ? redact(
                      `${answer.status} ${body.status ?? ""}: ${body.message}${body.errors ? ` ${JSON.stringify(body.errors)}` : ""}`,
                      secrets,
                  )
                : describeAnswer(answer, secrets);
        throw new ChannelError("pagerDuty", said, answer.status === 429 || answer.status >= 500);
    }
    if (body?.dedup_key !== event.dedupKey) {
        throw new ChannelError(
            "pagerDuty",
            redact(
                `202 for another alert: dedup_key ${JSON.stringify(body?.dedup_key)}, expected ${event.dedupKey}`,
                secrets,
            ),
            false,
        );
    }
    return redact(`202 ${body.message ?? "accepted"} (dedup_key ${body.dedup_key})`, secrets);
}
