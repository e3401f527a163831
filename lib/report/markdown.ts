// The post-incident review's draft as Markdown: the header (the runbook's resolution fields), the timeline, what was
// not ready, the runbook's deadlines, and the sections people fill in, each prompted by the runbook's own words. Pure.
import {
    formatDuration,
    formatUtc,
    SEVERITY_LEVELS,
    severityText,
    statusText,
    type IncidentStatus,
} from "../comms/templates";
import { formatChange } from "./history";
import type { IncidentReport, MessageRow, Row, UnrecordedRow, UpRow } from "./build";
import type { ChecksFact, DeployFact, MaintenancePageFact } from "./record";
import type { WatchRecord } from "./watchTags";

const pad = (n: number) => String(n).padStart(2, "0");

/** `08:02:50`: a time of day in UTC, to the second. */
export function clock(at: Date): string {
    return `${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`;
}

/** `2026-12-06 08:02:50 UTC`. */
export function dateTime(at: Date): string {
    return `${at.toISOString().slice(0, 10)} ${clock(at)} UTC`;
}

/** `1 h 2 min 5 s`, `45 s`, `0 s`: whole seconds, rounded down, the zero parts left out. */
export function formatSpan(ms: number): string {
    const total = Math.floor(Math.max(0, ms) / 1000);
    const d = Math.floor(total / 86400);
    const h = Math.floor((total % 86400) / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const parts = [d && `${d} d`, h && `${h} h`, m && `${m} min`, s && `${s} s`].filter(Boolean);
    return parts.length > 0 ? parts.join(" ") : "0 s";
}

/** `+1 min 4 s` after the opening, `-5 s` before it. */
function offset(at: Date, opened: Date): string {
    const ms = at.getTime() - opened.getTime();
    // Whole seconds of each time, so that offsets and the header's spans add up exactly.
    const seconds = Math.floor(at.getTime() / 1000) - Math.floor(opened.getTime() / 1000);
    return ms < 0 ? `-${formatSpan(-seconds * 1000)}` : `+${formatSpan(seconds * 1000)}`;
}

/** Seconds between two times as the report shows them (each cut to its second), so shown figures add up. */
function between(from: Date, to: Date): number {
    return (Math.floor(to.getTime() / 1000) - Math.floor(from.getTime() / 1000)) * 1000;
}

const short = (commit: string) => commit.slice(0, 7) || "(no commit)";

function deployLine(deploy: DeployFact): string {
    const pin = deploy.releasePin ? `, pinned to ${deploy.releasePin}` : "";
    // What was decided when it ran; an older state has only what the preview planned.
    const plan = deploy.decided ? `: ${deploy.decided}` : deploy.plan ? `: planned as "${deploy.plan}"` : "";
    return `Render ran deploy \`${deploy.id}\` of commit \`${short(deploy.commit)}\`${pin}, ${deploy.status} at ${clock(new Date(deploy.liveAt))}${plan}`;
}

/** The checks as list items: their time, then one line each. */
function checkLines(checks: ChecksFact): string[] {
    return [
        `  - checks passed (at ${clock(new Date(checks.verifiedAt))}):`,
        ...checks.results.map((line) => `    - ${line}`),
    ];
}

/** The watch after the `up`: when it ended and what it said. */
function watchLine(watch: WatchRecord): string {
    return `the watch (\`npm run watch\`, ended ${clock(watch.endedAt)}): ${watch.text}`;
}

function pageLine(page: MaintenancePageFact): string {
    return `maintenance page ${page.enabled ? "on" : "off"}: ${page.seen}`;
}

/** What the state recorded of an `up` (recorded or not): the deploy, its checks and watch, the maintenance page. */
function factLines(row: UpRow | UnrecordedRow): string[] {
    const lines: string[] = [];
    if (row.deploy) lines.push(`  - ${deployLine(row.deploy)}`);
    if (row.checks) lines.push(...checkLines(row.checks));
    if (row.watch) lines.push(`  - ${watchLine(row.watch)}`);
    if (row.maintenancePage) lines.push(`  - ${pageLine(row.maintenancePage)}`);
    return lines;
}

function upRow(row: UpRow, opened: Date): string[] {
    const took = row.end ? ` in ${formatSpan(between(row.at, row.end))}` : "";
    const result =
        row.result === "succeeded"
            ? `succeeded${took}`
            : row.result === "failed"
              ? `**FAILED**${took}`
              : `${row.result} (no end recorded: killed, or still running)`;
    const head = `- **${clock(row.at)}** (${offset(row.at, opened)}) \`pulumi ${row.operation === "update" ? "up" : row.operation}\` ${result}, by ${row.who}`;
    const lines = [head];
    if (row.message) lines.push(`  - message: ${row.message}`);
    if (row.operation === "update") {
        lines.push(
            row.config.length > 0
                ? `  - config: ${row.config.map((c) => `\`${formatChange(c)}\``).join("; ")}`
                : "  - config: no change",
        );
    }
    lines.push(...factLines(row));
    if (row.result === "failed" && !row.checks) {
        lines.push("  - checks: none recorded (a failed step records no outputs; the `up`'s own output says why)");
    }
    lines.push(`  - resources: ${row.resources}`);
    return lines;
}

function messageRow(row: MessageRow, opened: Date): string[] {
    const channels = row.deliveries.map((d) => {
        const tries = d.attempts > 1 ? `, ${d.attempts} attempts` : "";
        return `${d.channel} ${d.state} (${d.answer.replace(/^skipped: /, "")}${tries})`;
    });
    return [
        `- **${clock(row.at)}** (${offset(row.at, opened)}) message, ${row.name}: ${row.headline}`,
        `  - channels: ${channels.join("; ") || "none recorded"}`,
        ...row.text
            .split("\n")
            .slice(1)
            .map((line) => `  > ${line}`),
    ];
}

function unrecordedRow(row: UnrecordedRow, opened: Date): string[] {
    const lines = [
        `- **${clock(row.at)}** (${offset(row.at, opened)}) an \`up\` the stack history does not record ` +
            "(killed before it finished, or beyond the history read); the config it applied shows in the next `up`'s row",
    ];
    return [...lines, ...factLines(row)];
}

/** One row as Markdown lines: one renderer per kind. */
function rowLines(row: Row, opened: Date): string[] {
    switch (row.kind) {
        case "up":
            return upRow(row, opened);
        case "message":
            return messageRow(row, opened);
        case "unrecorded":
            return unrecordedRow(row, opened);
    }
}

/** The draft of the post-incident review, as Markdown. */
export function reportMarkdown(report: IncidentReport): string {
    const level = SEVERITY_LEVELS[report.severity];
    const opened = report.openedAt;
    const end = report.resolvedAt ?? report.asOf;
    const lines: string[] = [];
    lines.push(`# Post-incident review${report.open ? " (so far)" : ""}: ${report.title}`, "");
    lines.push(
        `Draft written by \`npm run report -- ${report.stack}\` at ${dateTime(report.asOf)} from the stack's history and ` +
            `state${report.open ? ". **The incident is still open**: this is the story so far." : "."}`,
        "",
    );
    const status = (["investigating", "mitigating", "resolved"] as string[]).includes(report.status)
        ? statusText(report.status as IncidentStatus)
        : report.status;
    const header: Array<[string, string]> = [
        ["Title", report.title],
        ["Severity", `${severityText(report.severity)}: the runbook's response time is ${level.responsePhrase}`],
        ["Status", report.open ? `${status} (open)` : status],
        ["Opened", `${dateTime(opened)} (the alert)`],
        [
            "Mitigated",
            report.mitigated
                ? `${dateTime(report.mitigated.at)}: ${report.mitigated.how} (the first verified \`up\` after the alert)`
                : "not established: no `up` after the alert ran checks that passed (or verification is off)",
        ],
        ["Resolved", report.resolvedAt ? dateTime(report.resolvedAt) : `not yet (as of ${dateTime(report.asOf)})`],
    ];
    if (report.mitigated) {
        header.push(["Time to mitigate", formatSpan(between(opened, report.mitigated.at))]);
        header.push([
            report.open ? "Since mitigated" : "Mitigated to resolved",
            formatSpan(between(report.mitigated.at, end)),
        ]);
    }
    header.push([
        report.open ? "Duration so far" : "Duration",
        `${formatSpan(between(opened, end))}` +
            (report.open
                ? ""
                : ` (the resolution message's Duration: ${formatDuration(end.getTime() - opened.getTime())})`),
    ]);
    header.push(["Stack, incident", `${report.stack}, \`${report.dedupKey}\``]);
    lines.push("| | |", "|---|---|", ...header.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, "\\|")} |`), "");

    lines.push(`## Timeline (UTC, ${opened.toISOString().slice(0, 10)})`, "");
    lines.push(
        "One row per `pulumi up` (its time, who, the config it applied, what Render ran, what the checks saw and what " +
            "the watch after it saw) and " +
            "per message (what each channel did with it); the offset is from the alert.",
        "",
    );
    for (const row of report.rows) lines.push(...rowLines(row, opened));
    lines.push("");

    lines.push("## Not ready at the time (candidate action items)", "");
    if (report.notReady.length === 0) lines.push("Every runbook action was ready at each `up` of the incident.");
    for (const row of report.notReady) {
        lines.push(`- **${row.action}**: lacks ${row.lacks.join("; ")}`);
        for (const command of row.commands) lines.push(`  - \`${command}\``);
    }
    lines.push("");

    const d = report.deadlines;
    lines.push("## Deadlines (the runbook's Post-Incident Process)", "");
    if (d.respondBy) {
        lines.push(
            `- Response (Severity ${report.severity}, ${level.responsePhrase}, from the alert): by ${formatUtc(d.respondBy)}`,
        );
    }
    if (d.review && d.rootCauseDocument && d.actionItems && d.processImprovements) {
        lines.push(
            `- Post-incident review meeting (within 24 hours): by ${formatUtc(d.review)}`,
            `- Root cause analysis document (within 48 hours): by ${formatUtc(d.rootCauseDocument)}`,
            `- Action items and prevention measures (within 1 week): by ${formatUtc(d.actionItems)}`,
            `- Process improvements implementation (within 2 weeks): by ${formatUtc(d.processImprovements)}`,
        );
    } else {
        lines.push(
            "- The review (24 hours), the root cause document (48 hours), the action items (1 week) and the process " +
                "improvements (2 weeks) are counted from the resolution: not resolved yet.",
        );
    }
    lines.push("");

    const section = (title: string, prompt: string) => lines.push(`## ${title}`, "", `> ${prompt}`, "", "", "");
    section(
        "Root cause",
        "Root Cause: [BRIEF_DESCRIPTION], for the Resolution; then the root cause analysis document, within 48 hours.",
    );
    section("What went well", "Immediate (0-1 hour): Restore service, communicate status. What helped us do both?");
    section("What went badly", "Immediate (0-1 hour): Restore service, communicate status. What got in the way?");
    section(
        "Action items",
        "Action Items: [FOLLOW_UP_TASKS]: action items and prevention measures within 1 week, process improvements " +
            "within 2 weeks (the actions that were not ready, above, are candidates).",
    );

    if (report.notes.length > 0) {
        lines.push("## What the record could not tell", "");
        for (const note of report.notes) lines.push(`- ${note}`);
        lines.push("");
    }
    return `${lines.join("\n").replace(/\n{3,}/g, "\n\n")}\n`;
}
