// A local stand-in for PagerDuty's Events API v2 (`POST /v2/enqueue`): it checks each event against the API's
// documentation and answers as PagerDuty does: 202 {"status":"success","message":"Event processed","dedup_key":...},
// 400 {"status":"invalid event","message":"Event object is invalid","errors":[...]}, 429 while throttling, 5xx while down.
// It keeps the alerts' state by dedup_key: a trigger opens one (or adds to the open one), a resolve closes it.
import { randomBytes, randomUUID } from "node:crypto";
import { type Answer, type Exchange, type Fault, type HttpStandIn, jsonObject, startHttpStandIn } from "./faults";

/** An event PagerDuty took. */
export interface PagerDutyEventSeen {
    readonly routing_key: string;
    readonly event_action: "trigger" | "acknowledge" | "resolve";
    readonly dedup_key: string;
    readonly payload?: {
        summary: string;
        source: string;
        severity: string;
        timestamp?: string;
        custom_details?: Record<string, unknown>;
    };
}

export interface PagerDutyStandIn {
    /** The enqueue URL: http://127.0.0.1:<port>/v2/enqueue */
    readonly eventsUrl: string;
    /** The integration's routing key (32 characters), a secret. */
    readonly routingKey: string;
    /** The events taken, in order. */
    readonly events: PagerDutyEventSeen[];
    /** Each alert's state by dedup_key, and how many incidents (pages) it opened. */
    readonly alerts: Map<string, { state: "triggered" | "acknowledged" | "resolved"; incidents: number }>;
    readonly exchanges: Exchange[];
    fail(fault: Fault): void;
    heal(): void;
    close(): Promise<void>;
}

const SEVERITIES = ["critical", "error", "warning", "info"];
const ACTIONS = ["trigger", "acknowledge", "resolve"];
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$/;

const invalid = (errors: string[]): Answer => ({
    status: 400,
    body: JSON.stringify({ status: "invalid event", message: "Event object is invalid", errors }),
    headers: { "content-type": "application/json" },
});

/** The errors PagerDuty would list for `event` sent with the integration's `routingKey`. */
export function eventErrors(event: Record<string, unknown>, routingKey: string): string[] {
    const errors: string[] = [];
    if (typeof event.routing_key !== "string" || event.routing_key.length !== 32) {
        errors.push("'routing_key' must be a 32 character integration key");
    } else if (event.routing_key !== routingKey) {
        errors.push("Invalid routing key");
    }
    if (!ACTIONS.includes(String(event.event_action))) {
        errors.push("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')");
    }
    const dedup = event.dedup_key;
    if (dedup !== undefined && (typeof dedup !== "string" || dedup.length === 0 || dedup.length > 255)) {
        errors.push("'dedup_key' must be a string of at most 255 characters");
    }
    if (event.event_action === "trigger") {
        const payload = event.payload as Record<string, unknown> | undefined;
        if (typeof payload !== "object" || payload === null) {
            errors.push("'payload' is missing or not an object");
        } else {
            const { summary, source, severity, timestamp, custom_details } = payload;
            if (typeof summary !== "string" || summary.length === 0)
                errors.push("'payload.summary' is missing or blank");
            else if (summary.length > 1024) errors.push("'payload.summary' must be at most 1024 characters");
            if (typeof source !== "string" || source.length === 0) errors.push("'payload.source' is missing or blank");
            if (!SEVERITIES.includes(String(severity))) {
                errors.push("'payload.severity' must be one of 'critical', 'error', 'warning' or 'info'");
            }
            if (timestamp !== undefined && !(typeof timestamp === "string" && ISO_8601.test(timestamp))) {
                errors.push("'payload.timestamp' must be an ISO 8601 timestamp");
            }
            if (custom_details !== undefined && (typeof custom_details !== "object" || custom_details === null)) {
                errors.push("'payload.custom_details' must be an object");
            }
            for (const field of ["component", "group", "class"]) {
                if (payload[field] !== undefined && typeof payload[field] !== "string") {
                    errors.push(`'payload.${field}' must be a string`);
                }
            }
        }
    } else if (typeof dedup !== "string") {
        errors.push(`'dedup_key' is required for ${String(event.event_action)} events`);
    }
    return errors;
}

/** Starts the Events API on 127.0.0.1. */
export async function startPagerDutyStandIn(): Promise<PagerDutyStandIn> {
    const routingKey = randomBytes(16).toString("hex");
    const events: PagerDutyEventSeen[] = [];
    const alerts: PagerDutyStandIn["alerts"] = new Map();
    const handle = (exchange: Exchange): Answer => {
        if (exchange.method !== "POST" || exchange.path !== "/v2/enqueue") {
            return { status: 404, body: JSON.stringify({ status: "not found" }) };
        }
        const event = jsonObject(exchange);
        if (!event) return invalid(["Event object must be JSON sent as application/json"]);
        const errors = eventErrors(event, routingKey);
        if (errors.length > 0) return invalid(errors);
        const dedupKey = (event.dedup_key as string | undefined) ?? randomUUID();
        const seen = { ...event, dedup_key: dedupKey } as unknown as PagerDutyEventSeen;
        events.push(seen);
        const alert = alerts.get(dedupKey);
        if (seen.event_action === "trigger") {
            // A trigger adds to the open alert; once resolved, the same dedup_key opens a new one.
            if (!alert || alert.state === "resolved") {
                alerts.set(dedupKey, { state: "triggered", incidents: (alert?.incidents ?? 0) + 1 });
            }
        } else if (alert && alert.state !== "resolved") {
            alert.state = seen.event_action === "resolve" ? "resolved" : "acknowledged";
        }
        return {
            status: 202,
            body: JSON.stringify({ status: "success", message: "Event processed", dedup_key: dedupKey }),
            headers: { "content-type": "application/json" },
        };
    };
    const server: HttpStandIn = await startHttpStandIn(
        handle,
        { status: 503, body: JSON.stringify({ status: "unavailable", message: "Service Unavailable" }) },
        (seconds) => ({
            status: 429,
            body: JSON.stringify({
                status: "throttle event",
                message: "Requests for this service are arriving too quickly. Please retry later.",
            }),
            headers: { "content-type": "application/json", "retry-after": String(seconds) },
        }),
    );
    return {
        eventsUrl: `${server.origin}/v2/enqueue`,
        routingKey,
        events,
        alerts,
        exchanges: server.exchanges,
        fail: (fault) => server.fail(fault),
        heal: () => server.heal(),
        close: () => server.close(),
    };
}
