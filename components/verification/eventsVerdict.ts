// Pure: Render's service events from the moment the deploy went live to the end of the watch window, judged. An
// instance that died or restarted, an image that could not be pulled, failed hardware: each fails the watch, named
// with its time and Render's reason; everything else that happened is reported.
import { redactSecrets, type ServiceEvent } from "../../lib/render/client";

/**
 * What a source's judgement came to: `crossed` fails the watch; `could not be judged` (the read stopped short, or
 * Render gave nothing to judge) is reported, never counted as passed; `not applicable` is said so.
 */
export type SourceStatus = "ok" | "crossed" | "not applicable" | "could not be judged";

/** The event types that fail the watch: an instance died or restarted, or Render could not run the service. */
export const FAILING_EVENTS: ReadonlySet<string> = new Set([
    "server_failed",
    "server_restarted",
    // Retired by Render in November 2025 in favour of server_failed; an older answer may still carry it.
    "server_unhealthy",
    "image_pull_failed",
    "server_hardware_failure",
]);

/** What Render answered for the window. `events` in any order; those outside the window are left out. */
export interface EventsReadings {
    readonly serviceId: string;
    /** The deploy the window watches: its own events are reported as its. */
    readonly deployId?: string;
    /** When the deploy went live (RFC 3339): the window's start. */
    readonly from: string;
    /** The window's end (RFC 3339). */
    readonly to: string;
    readonly events: readonly ServiceEvent[];
    /** False when the read stopped at its page bound before Render's list ended. */
    readonly complete: boolean;
    /** Requests the read took. */
    readonly pages: number;
}

/** One event in the window, as the verdict reports it. */
export interface EventLine {
    readonly type: string;
    readonly at: string;
    /** Whether it fails the watch. */
    readonly fails: boolean;
    /** E.g. "server_failed at 2026-01-05T10:02:11Z (+41 s): instance srv-...-x4k2p was killed out of memory (limit 512Mi)". */
    readonly line: string;
}

/** The events' judgement: passed or not, every event in the window, and the lines of those that fail. */
export interface EventsVerdict {
    readonly ok: boolean;
    readonly status: SourceStatus;
    /** Every event in the window, oldest first (at most `maxLines`, then how many more). */
    readonly events: EventLine[];
    readonly failures: string[];
    /** One line: how many events, which failed, what else was reported. */
    readonly summary: string;
}

export interface EventsJudgement {
    /** Every secret the program knows: redacted from anything Render's text carries (an image URL, a reason). */
    readonly secrets?: readonly string[];
    /** Events listed at most; default 20. */
    readonly maxLines?: number;
    /** Longest line shown; default 200 characters. */
    readonly maxLineLength?: number;
}

/** Judges the window's events: any failing event fails it; an incomplete read with none found could not be judged. */
export function judgeEvents(readings: EventsReadings, judgement: EventsJudgement = {}): EventsVerdict {
    const maxLines = judgement.maxLines ?? 20;
    const from = Date.parse(readings.from);
    const to = Date.parse(readings.to);
    const clean = (text: string) => shown(text, judgement.secrets ?? [], judgement.maxLineLength ?? 200);
    const inWindow = readings.events
        .map((event) => ({ event, at: Date.parse(event.timestamp) }))
        .filter(({ at }) => at >= from && at <= to)
        .sort((a, b) => a.at - b.at);
    const lines: EventLine[] = inWindow.map(({ event, at }) => {
        const fails = FAILING_EVENTS.has(event.type);
        const when = `${event.timestamp.replace(/\.\d+Z$/, "Z")} (+${Math.round((at - from) / 1000)} s)`;
        // Only Render's words are redacted and cut: the type and the time are the verdict's own.
        return {
            type: event.type,
            at: event.timestamp,
            fails,
            line: `${event.type} at ${when}: ${clean(describe(event, readings))}`,
        };
    });
    const failures = lines.filter((l) => l.fails).map((l) => l.line);
    const seconds = Math.round((to - from) / 1000);
    const counted = `${lines.length} event${lines.length === 1 ? "" : "s"} in the ${seconds} s since the deploy went live`;
    const reported = lines.filter((l) => !l.fails).map((l) => l.type);
    const others = reported.length > 0 ? `; reported: ${tally(reported)}` : "";
    let status: SourceStatus;
    let summary: string;
    if (failures.length > 0) {
        status = "crossed";
        summary = `events: ${counted}: ${failures.length} fail${failures.length === 1 ? "s" : ""} the watch (${tally(lines.filter((l) => l.fails).map((l) => l.type))})${others}`;
    } else if (!readings.complete) {
        status = "could not be judged";
        summary =
            `events: could not be judged: the read stopped after ${readings.pages} pages (${readings.events.length} events, ` +
            `newest first) before reaching the deploy going live; none of those read fails the watch${others}`;
    } else {
        status = "ok";
        summary = `events: ${counted}, none that fails the watch${others}`;
    }
    const listed = lines.slice(0, maxLines);
    if (lines.length > maxLines) {
        listed.push({
            type: "",
            at: "",
            fails: false,
            line: `... and ${lines.length - maxLines} more events (${tally(lines.slice(maxLines).map((l) => l.type))})`,
        });
    }
    return { ok: status !== "crossed", status, events: listed, failures, summary };
}

/** What an event says, in words, from its details as Render gives them. */
export function describe(event: ServiceEvent, readings: Pick<EventsReadings, "deployId"> = {}): string {
    const d = event.details;
    const text = (key: string): string | undefined => (typeof d[key] === "string" ? (d[key] as string) : undefined);
    switch (event.type) {
        case "server_failed":
            return `instance ${text("instanceID") ?? "(not named)"} ${describeFailure(d.reason)}`;
        case "server_unhealthy":
            return `instance ${text("instanceID") ?? "(not named)"} failed its health checks`;
        case "server_restarted": {
            const user = text("triggeredByUser");
            return user ? `the service was restarted by ${user}` : "the service was restarted by Render";
        }
        case "server_available":
            return "an instance is available";
        case "server_hardware_failure":
            return "the hardware under an instance failed (Render moves it)";
        case "image_pull_failed":
            return `the image ${text("imageURL") ?? "(not named)"} could not be pulled: ${text("message") ?? "no message"}`;
        case "deploy_started":
        case "deploy_ended": {
            const id = text("deployId") ?? "(not named)";
            const whose =
                readings.deployId === undefined
                    ? ""
                    : id === readings.deployId
                      ? " (the deploy watched)"
                      : " (another deploy)";
            const status = text("deployStatus") ?? text("status");
            return event.type === "deploy_started"
                ? `deploy ${id}${whose} started`
                : `deploy ${id}${whose} ended${status ? ` ${status}` : ""}`;
        }
        case "instance_count_changed":
            return `instances ${String(d.fromInstances)} -> ${String(d.toInstances)}`;
        default: {
            const shownDetails = JSON.stringify(d);
            return shownDetails === "{}" ? "(no details)" : shownDetails;
        }
    }
}

/** Render's failure reason in words: "exited with status 1", "was killed out of memory (limit 512Mi)", ... */
export function describeFailure(reason: unknown): string {
    if (typeof reason !== "object" || reason === null) return "failed (Render gave no reason)";
    const r = reason as Record<string, unknown>;
    const parts: string[] = [];
    const oom = r.oomKilled as { memoryLimit?: unknown } | undefined;
    if (oom && typeof oom === "object") {
        parts.push(
            `was killed out of memory${typeof oom.memoryLimit === "string" ? ` (limit ${oom.memoryLimit})` : ""}`,
        );
    }
    if (typeof r.nonZeroExit === "number") parts.push(`exited with status ${r.nonZeroExit}`);
    if (r.earlyExit === true) parts.push("exited early");
    if (r.evicted === true) parts.push("was evicted");
    if (typeof r.unhealthy === "string") parts.push(`failed its health check: ${r.unhealthy}`);
    if (typeof r.timedOutSeconds === "number") {
        const why = typeof r.timedOutReason === "string" ? `: ${r.timedOutReason}` : "";
        parts.push(`timed out after ${r.timedOutSeconds} s${why}`);
    }
    return parts.length > 0 ? parts.join(", ") : "failed (Render gave no reason)";
}

/** "server_failed x 2, server_available" */
function tally(types: readonly string[]): string {
    const counts = new Map<string, number>();
    for (const type of types) counts.set(type, (counts.get(type) ?? 0) + 1);
    return [...counts].map(([type, n]) => (n > 1 ? `${type} x ${n}` : type)).join(", ");
}

/**
 * Text from Render (or the app) made fit to show: every secret redacted in every form the client's redactSecrets
 * knows, control characters (ANSI colours, newlines) made spaces, and cut to `max` characters after redaction, so a
 * cut never leaves part of a secret behind.
 */
export function shown(text: string, secrets: readonly string[], max: number): string {
    // eslint-disable-next-line no-control-regex
    const flat = redactSecrets(text, secrets).replace(/\x1b\[[0-9;]*[A-Za-z]|[\x00-\x1f\x7f]+/g, " ");
    return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}
