// What the watch posts to an open incident's channels when it sees a threshold crossed (pure): the runbook's Status
// Update, its Progress line carrying the watch's finding (redacted), sent once per window; and where each channel files it.
import { redact } from "../../lib/comms/delivery";
import { capped } from "../../lib/comms/progress";
import { ETA_UNKNOWN, formatUtc, headline, SEVERITY_LEVELS, statusText, updateText } from "../../lib/comms/templates";
import type { WatchIncident, WatchTarget } from "./plan";
import { failureLine, type WatchFigure } from "./watchVerdict";

/** The Status Update the watch posts, and how PagerDuty and email file it. */
export interface WatchNotice {
    /** The runbook's Status Update, line for line. */
    readonly text: string;
    /** Its Progress line alone. */
    readonly progress: string;
    /**
     * PagerDuty's dedup_key: the incident's own, so the update joins its open alert's log and never pages anew (a second
     * watch of the same deploy adds to the same alert too).
     */
    readonly dedupKey: string;
    readonly severity: "critical" | "error" | "warning";
    /**
     * The email's Message-ID: one per deploy, so a second watch of the same window sends the same message (which mail
     * clients show once), threaded under the incident's alert.
     */
    readonly messageId: string;
    readonly inReplyTo: string;
}

/**
 * The Status Update for the first threshold the watch of `target` saw crossed, at `atSeconds` into the window.
 * Every secret in `secrets` is masked in the Progress line (whole, URL-encoded or decoded), and the line is cut to what
 * the channels take.
 */
export function watchNotice(
    incident: WatchIncident,
    target: WatchTarget,
    figure: WatchFigure,
    atSeconds: number,
    stack: string,
    now: Date,
    secrets: readonly (string | undefined)[],
): WatchNotice {
    const raw =
        `the watch of ${target.action} (deploy ${target.deployId}, live at ${formatUtc(new Date(target.liveAt))}) saw ` +
        `a threshold crossed at +${atSeconds} s: ${failureLine(figure)}; it watches on to the end of its ` +
        `${target.window.seconds} s window (npm run watch -- ${stack})`;
    const masked = redact(raw, secrets);
    const progress = capped(masked);
    const text = updateText({ title: incident.title, at: now, status: incident.status, progress, eta: ETA_UNKNOWN });
    return {
        text,
        progress,
        dedupKey: incident.dedupKey,
        severity: SEVERITY_LEVELS[incident.severity].pagerDuty,
        messageId: `<watch.${target.deployId}.${incident.dedupKey}@ahoy-ops.invalid>`,
        inReplyTo: `<alert.${incident.dedupKey}@ahoy-ops.invalid>`,
    };
}

/** PagerDuty's custom details of the update: the message, its status and the watch's finding. */
export function watchNoticeDetails(notice: WatchNotice, incident: WatchIncident): Record<string, string> {
    return { message: notice.text, status: statusText(incident.status), watch: notice.progress };
}

/** The email subject (and PagerDuty summary): the update's headline. */
export function watchNoticeHeadline(notice: WatchNotice): string {
    return headline(notice.text);
}
