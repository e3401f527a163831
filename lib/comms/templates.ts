// The runbook's communication templates (Initial Alert, Status Update, Resolution) and the deadlines around them, as
// pure functions: the same text goes to Slack, PagerDuty and email, and into the stack outputs to paste anywhere.

/** The runbook's severity levels, 1 the worst. */
export type Severity = 1 | 2 | 3;

/** The runbook's statuses, as `incidentStatus` spells them. */
export type IncidentStatus = "investigating" | "mitigating" | "resolved";

export const INCIDENT_STATUSES = [
    "investigating",
    "mitigating",
    "resolved",
] as const satisfies readonly IncidentStatus[];

/** The service every message names ("Service: Ahoy Indie Media"). */
export const SERVICE_NAME = "Ahoy Indie Media";

export interface SeverityLevel {
    /** The runbook's word for the level: "Severity 1 (Critical)". */
    readonly name: "Critical" | "High" | "Medium";
    /** How soon the on-call engineer must respond, from the alert. */
    readonly responseMinutes: number;
    /** The runbook's own phrase for it: "5 min", "30 min", "4 hour". */
    readonly responsePhrase: string;
    /** PagerDuty's `payload.severity` for it. */
    readonly pagerDuty: "critical" | "error" | "warning";
}

/** "### Severity 1 (Critical) - 5 min response" and its two siblings, as data. */
export const SEVERITY_LEVELS: Readonly<Record<Severity, SeverityLevel>> = {
    1: { name: "Critical", responseMinutes: 5, responsePhrase: "5 min", pagerDuty: "critical" },
    2: { name: "High", responseMinutes: 30, responsePhrase: "30 min", pagerDuty: "error" },
    3: { name: "Medium", responseMinutes: 240, responsePhrase: "4 hour", pagerDuty: "warning" },
};

/**
 * The [SEVERITY] of the alert's first line: `SEV-1 (Critical)`. Short enough for a Slack notification and a PagerDuty
 * title, and the level's name is the runbook's own.
 */
export function severityText(severity: Severity): string {
    return `SEV-${severity} (${SEVERITY_LEVELS[severity].name})`;
}

/** The runbook writes statuses capitalised: "Status: Investigating". */
export function statusText(status: IncidentStatus): string {
    return status.charAt(0).toUpperCase() + status.slice(1);
}

const pad = (n: number) => String(n).padStart(2, "0");

/**
 * Every [TIMESTAMP]: minutes in UTC, `2026-12-01 03:04 UTC`, so readers in any time zone (and a pager's SMS) read the
 * same moment without guessing an offset.
 */
export function formatUtc(at: Date): string {
    return (
        `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())} ` +
        `${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())} UTC`
    );
}

/**
 * The resolution's [DOWNTIME]: whole days, hours and minutes, the zero ones left out (`2 h 5 min`, `1 d 3 min`,
 * `45 min`); under a minute is `less than 1 min`. Rounded down: a duration is never overstated.
 */
export function formatDuration(ms: number): string {
    const totalMinutes = Math.floor(Math.max(0, ms) / 60_000);
    if (totalMinutes === 0) return "less than 1 min";
    const days = Math.floor(totalMinutes / 1440);
    const hours = Math.floor((totalMinutes % 1440) / 60);
    const minutes = totalMinutes % 60;
    return [days && `${days} d`, hours && `${hours} h`, minutes && `${minutes} min`].filter(Boolean).join(" ");
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** When the on-call engineer must have responded: the alert's time plus the severity's response time. */
export function responseDeadline(severity: Severity, alertedAt: Date): Date {
    return new Date(alertedAt.getTime() + SEVERITY_LEVELS[severity].responseMinutes * MINUTE);
}

/** "5 minutes", "30 minutes", "4 hours": a response time in words. */
export function responseTime(severity: Severity): string {
    const minutes = SEVERITY_LEVELS[severity].responseMinutes;
    if (minutes % 60 !== 0) return `${minutes} minutes`;
    return minutes === 60 ? "1 hour" : `${minutes / 60} hours`;
}

/** The line that goes with the alert on every channel (outside the template, which has no field for it). */
export function responseNote(severity: Severity, alertedAt: Date): string {
    return (
        `Respond by ${formatUtc(responseDeadline(severity, alertedAt))}: ` +
        `Severity ${severity} (${SEVERITY_LEVELS[severity].name}) needs a response within ${responseTime(severity)}.`
    );
}

/** The runbook's Post-Incident Process, steps 2 to 5, as deadlines. */
export interface PostIncidentDeadlines {
    /** "Within 24 hours: Post-incident review meeting" */
    readonly review: Date;
    /** "Within 48 hours: Root cause analysis document" */
    readonly rootCauseDocument: Date;
    /** "Within 1 week: Action items and prevention measures" */
    readonly actionItems: Date;
    /** "Within 2 weeks: Process improvements implementation" */
    readonly processImprovements: Date;
}

/** The post-incident deadlines, counted from the resolution. */
export function postIncidentDeadlines(resolvedAt: Date): PostIncidentDeadlines {
    const after = (ms: number) => new Date(resolvedAt.getTime() + ms);
    return {
        review: after(24 * HOUR),
        rootCauseDocument: after(48 * HOUR),
        actionItems: after(7 * 24 * HOUR),
        processImprovements: after(14 * 24 * HOUR),
    };
}

/** The [FIELD] values of the Initial Alert. */
export interface AlertFields {
    readonly severity: Severity;
    readonly title: string;
    readonly at: Date;
    readonly status: IncidentStatus;
    /** [DESCRIPTION]: what users see. */
    readonly impact: string;
    /** [ENGINEER_NAME]: who is on call and how to reach them. */
    readonly onCall: string;
}

/** The runbook's Initial Alert, line for line. */
export function alertText(fields: AlertFields): string {
    return [
        `🚨 INCIDENT ALERT - ${severityText(fields.severity)} - ${fields.title}`,
        `Time: ${formatUtc(fields.at)}`,
        `Service: ${SERVICE_NAME}`,
        `Status: ${statusText(fields.status)}`,
        `Impact: ${fields.impact}`,
        `On-Call: ${fields.onCall}`,
    ].join("\n");
}

/** The [FIELD] values of a Status Update. */
export interface UpdateFields {
    readonly title: string;
    readonly at: Date;
    readonly status: IncidentStatus;
    /** [CURRENT_ACTIONS]: what the stack is doing (see progress.ts). */
    readonly progress: string;
    /** [ESTIMATED_RESOLUTION] */
    readonly eta: string;
}

/** What an update says for [ESTIMATED_RESOLUTION]: the program cannot know it, and says when the next word comes. */
export const ETA_UNKNOWN = "not estimated yet; the next update follows the next change of status or impact";

/** The runbook's Status Update, line for line. */
export function updateText(fields: UpdateFields): string {
    return [
        `📊 INCIDENT UPDATE - ${fields.title}`,
        `Time: ${formatUtc(fields.at)}`,
        `Status: ${statusText(fields.status)}`,
        `Progress: ${fields.progress}`,
        `ETA: ${fields.eta}`,
    ].join("\n");
}

/** The [FIELD] values of the Resolution. */
export interface ResolutionFields {
    readonly title: string;
    readonly at: Date;
    /** [DOWNTIME]: from the alert to now (formatDuration). */
    readonly duration: string;
    /** [BRIEF_DESCRIPTION] */
    readonly rootCause: string;
    /** [FOLLOW_UP_TASKS] */
    readonly actionItems: string;
}

/** The runbook's Resolution, line for line. */
export function resolutionText(fields: ResolutionFields): string {
    return [
        `✅ INCIDENT RESOLVED - ${fields.title}`,
        `Time: ${formatUtc(fields.at)}`,
        `Duration: ${fields.duration}`,
        `Root Cause: ${fields.rootCause}`,
        `Action Items: ${fields.actionItems}`,
    ].join("\n");
}

/**
 * The Resolution's fields for an incident opened at `openedAt` and resolved at `resolvedAt`. The root cause is not
 * known when the incident is resolved (the runbook gives it 48 hours), so the message says where it will be and when;
 * the action items are the post-incident process's deadlines.
 */
export function resolutionFields(title: string, openedAt: Date, resolvedAt: Date): ResolutionFields {
    const due = postIncidentDeadlines(resolvedAt);
    return {
        title,
        at: resolvedAt,
        duration: formatDuration(resolvedAt.getTime() - openedAt.getTime()),
        rootCause: `to be established in the root cause analysis document, due by ${formatUtc(due.rootCauseDocument)}`,
        actionItems:
            `post-incident review meeting by ${formatUtc(due.review)}; ` +
            `action items and prevention measures by ${formatUtc(due.actionItems)}; ` +
            `process improvements by ${formatUtc(due.processImprovements)}`,
    };
}

/** The first line of a message: its headline, for an email subject or a PagerDuty summary. */
export function headline(text: string): string {
    const newline = text.indexOf("\n");
    return newline < 0 ? text : text.slice(0, newline);
}
