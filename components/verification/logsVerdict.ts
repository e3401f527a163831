// Pure: the service's logs over the watch window, judged. Request lines give the 5xx rate (less the 503s a switch
// makes on purpose) and what failed where; the app's error lines say why; a crash signature in the app's lines fails
// the watch whatever the rate. Every line shown is redacted of every secret the program knows and cut short.
import type { LogEntry } from "../../lib/render/client";
import { shown, type SourceStatus } from "./eventsVerdict";
import { type Expected5xx, formatShare, formatShareAgainst, RUNBOOK_THRESHOLDS } from "./metricsVerdict";

/** What Render answered for the window: the service's app and request lines. */
export interface LogsReadings {
    readonly serviceId: string;
    /** When the deploy went live (RFC 3339): the window's start. */
    readonly from: string;
    /** The window's end (RFC 3339). */
    readonly to: string;
    /** In any order; lines outside the window, or of another resource, are left out. Raw: never shown as they are. */
    readonly logs: readonly LogEntry[];
    /** False when the read stopped at its page bound before the end of the window. */
    readonly complete: boolean;
    /** Requests the read took. */
    readonly pages: number;
}

export interface LogsJudgement {
    /** 5xx answers the action gives on purpose (register's 503 while DISABLE_SIGNUP is on): not errors. */
    readonly expected5xx?: readonly Expected5xx[];
    /** The runbook's "Error rate > 5%"; default RUNBOOK_THRESHOLDS.maxErrorRate. */
    readonly maxErrorRate?: number;
    /** Every secret the program knows (the Render API key, the database password, SECRET_KEY, ...): never shown. */
    readonly secrets?: readonly string[];
    /** Distinct messages or paths shown per check at most; default 5. */
    readonly maxShown?: number;
    /** Longest line shown; default 160 characters. */
    readonly maxLineLength?: number;
}

export type LogCheck = "request errors" | "app errors" | "crash signatures";

/** One check over the window's lines. */
export interface LogFigure {
    readonly check: LogCheck;
    readonly status: SourceStatus;
    /** The 5xx rate for request errors; the number of lines for the others. */
    readonly value?: number;
    /** E.g. "request errors: 8.3% 5xx (21 of 252 requests), over 5%: GET /media/a.jpg 500 x 21". */
    readonly line: string;
    /** What failed, redacted and cut: `"GET /media/a.jpg" 500 x 21`, `"TypeError: ..." x 21`. */
    readonly shown: string[];
}

/** The logs' judgement: passed or not, each check, the lines that fail, and a summary for the outputs. */
export interface LogsVerdict {
    readonly ok: boolean;
    readonly figures: LogFigure[];
    readonly failures: string[];
    readonly summary: string;
}

/** App lines at these levels (any case) are errors. */
export const ERROR_LEVELS: ReadonlySet<string> = new Set([
    "error",
    "err",
    "critical",
    "crit",
    "fatal",
    "panic",
    "alert",
    "emerg",
    "emergency",
]);

/**
 * What a process dying (or about to) writes: any of these in an app line fails the watch, whatever the error rate.
 * In order: a line is named by the first that matches.
 */
export const CRASH_SIGNATURES: ReadonlyArray<{ readonly name: string; readonly pattern: RegExp }> = [
    {
        name: "out of memory",
        pattern:
            /out of memory|heap limit|\bOOM\b|MemoryError|OutOfMemoryError|Cannot allocate memory|oom-kill|Killed process/i,
    },
    {
        name: "unhandled exception",
        pattern:
            /\buncaught\b|unhandled ?(promise ?)?rejection|unhandled exception|Traceback \(most recent call last\)|triggerUncaughtException/i,
    },
    { name: "FATAL", pattern: /\bFATAL\b|\bPANIC\b/ },
    { name: "segmentation fault", pattern: /segmentation fault|\bSIGSEGV\b|core dumped/i },
    { name: "Go panic", pattern: /^panic: |goroutine \d+ \[running\]/ },
];

/** The crash signature a line carries (or its level says: fatal, panic), or undefined. */
export function crashSignature(message: string, level?: string): string | undefined {
    const found = CRASH_SIGNATURES.find(({ pattern }) => pattern.test(message));
    if (found) return found.name;
    const lower = level?.toLowerCase();
    return lower === "fatal" || lower === "panic" ? "FATAL" : undefined;
}

interface Line {
    readonly at: number;
    readonly timestamp: string;
    readonly message: string;
    readonly labels: ReadonlyMap<string, string>;
}

/** Judges the window's lines: the 5xx rate against the threshold, the app's errors shown, crash signatures failed. */
export function judgeLogs(readings: LogsReadings, judgement: LogsJudgement = {}): LogsVerdict {
    const maxRate = judgement.maxErrorRate ?? RUNBOOK_THRESHOLDS.maxErrorRate;
    const maxShown = judgement.maxShown ?? 5;
    const clean = (text: string) => shown(text, judgement.secrets ?? [], judgement.maxLineLength ?? 160);
    const from = Date.parse(readings.from);
    const to = Date.parse(readings.to);
    const lines: Line[] = readings.logs
        .map((entry) => ({
            at: Date.parse(entry.timestamp),
            timestamp: entry.timestamp,
            message: entry.message,
            labels: new Map(entry.labels.map((l) => [l.name, l.value])),
        }))
        .filter((l) => l.at >= from && l.at <= to)
        .filter((l) => (l.labels.get("resource") ?? readings.serviceId) === readings.serviceId)
        .sort((a, b) => a.at - b.at);
    const requests = lines.filter((l) => l.labels.get("type") === "request");
    const app = lines.filter((l) => l.labels.get("type") === "app");
    const errors = app.filter((l) => ERROR_LEVELS.has((l.labels.get("level") ?? "").toLowerCase()));
    // Where the lines read end, when the read stopped short: what was not read could not be judged.
    const short = readings.complete
        ? undefined
        : `only the ${lines.length} lines up to ${lines.at(-1)?.timestamp ?? readings.from} were read (the read stopped ` +
          `after ${readings.pages} pages)`;

    const appErrors = appErrorsFigure(errors, maxShown, clean, short);
    const figures = [
        requestErrorsFigure(requests, judgement.expected5xx ?? [], maxRate, maxShown, clean, short, appErrors),
        appErrors,
        crashFigure(app, from, maxShown, clean, short),
    ];
    const failures = figures.filter((f) => f.status === "crossed").map((f) => f.line);
    const seconds = Math.round((to - from) / 1000);
    const summary =
        `logs: ${lines.length} lines (${requests.length} requests, ${app.length} app line${app.length === 1 ? "" : "s"}) ` +
        `in the ${seconds} s since ` +
        `the deploy went live, ${readings.pages} page${readings.pages === 1 ? "" : "s"}: ` +
        figures.map((f) => f.line).join("; ");
    return { ok: failures.length === 0, figures, failures, summary };
}

/** The unexpected 5xx among the request lines, as a share of all requests, and where they were. */
function requestErrorsFigure(
    requests: readonly Line[],
    expected: readonly Expected5xx[],
    maxRate: number,
    maxShown: number,
    clean: (text: string) => string,
    short: string | undefined,
    appErrors: LogFigure,
): LogFigure {
    const check: LogCheck = "request errors";
    if (requests.length === 0) {
        return {
            check,
            status: "could not be judged",
            line: `${check}: could not be judged: no request lines in the window${short ? ` (${short})` : ""}`,
            shown: [],
        };
    }
    const leftOut = new Map<Expected5xx, number>();
    const failed: Line[] = [];
    for (const line of requests) {
        const status = line.labels.get("statusCode") ?? "";
        if (!/^5\d\d$/.test(status)) continue;
        const why = expected.find((e) => e.path === line.labels.get("path") && String(e.status) === status);
        if (why) leftOut.set(why, (leftOut.get(why) ?? 0) + 1);
        else failed.push(line);
    }
    const rate = failed.length / requests.length;
    const crossed = rate > maxRate;
    const groups = groupBy(
        failed,
        (l) => `${l.labels.get("method") ?? "?"} ${l.labels.get("path") ?? "?"} ${l.labels.get("statusCode")}`,
    );
    const where = groups.slice(0, maxShown).map(({ key, count }) => `${clean(key)} x ${count}`);
    if (groups.length > maxShown) where.push(`... ${groups.length - maxShown} more paths`);
    const excluded = [...leftOut].map(([why, n]) => `${n} x ${why.status} from ${why.path} left out: ${why.because}`);
    const detail = `${failed.length} of ${requests.length} requests${excluded.length ? `; ${excluded.join("; ")}` : ""}`;
    const figure = `${formatShareAgainst(rate, maxRate)} 5xx (${detail})`;
    // What failed is worth showing whenever there is any; why (the app's own error lines) goes with a failure.
    const what = where.length > 0 ? `: ${where.join(", ")}` : "";
    const why = crossed && appErrors.shown.length > 0 ? `; the app logged: ${appErrors.shown.join(", ")}` : "";
    if (!crossed && short) {
        return {
            check,
            status: "could not be judged",
            value: rate,
            line: `${check}: could not be judged past what was read: ${figure}, within ${formatShare(maxRate)} so far; ${short}${what}`,
            shown: where,
        };
    }
    return {
        check,
        status: crossed ? "crossed" : "ok",
        value: rate,
        line: `${check}: ${figure}, ${crossed ? "over" : "within"} ${formatShare(maxRate)}${what}${why}`,
        shown: where,
    };
}

/** The app's lines at error level and above: reported with the first few distinct messages; the rate decides. */
function appErrorsFigure(
    errors: readonly Line[],
    maxShown: number,
    clean: (text: string) => string,
    short: string | undefined,
): LogFigure {
    const check: LogCheck = "app errors";
    // Messages that differ only in their numbers (ids, timings, line numbers) are one message; an indented line is a
    // stack frame of the line before it, counted but not shown as a message of its own.
    const groups = groupBy(
        errors.filter((l) => !/^\s/.test(l.message)),
        (l) => l.message.replace(/\d+/g, "#"),
    );
    const messages = groups.slice(0, maxShown).map(({ first, count }) => `"${clean(first.message)}" x ${count}`);
    if (groups.length > maxShown) messages.push(`... ${groups.length - maxShown} more messages`);
    const counted = `${errors.length} line${errors.length === 1 ? "" : "s"} at error level or above`;
    return {
        check,
        status: short && errors.length === 0 ? "could not be judged" : "ok",
        value: errors.length,
        line:
            errors.length === 0
                ? `${check}: none${short ? ` in what was read (${short})` : ""}`
                : `${check}: ${counted} (reported; the error rate and crash signatures decide): ${messages.join(", ")}`,
        shown: messages,
    };
}

/** App lines carrying a crash signature: any fails the watch, named with its time and its (redacted) text. */
function crashFigure(
    app: readonly Line[],
    from: number,
    maxShown: number,
    clean: (text: string) => string,
    short: string | undefined,
): LogFigure {
    const check: LogCheck = "crash signatures";
    const crashes = app
        .map((line) => ({ line, signature: crashSignature(line.message, line.labels.get("level")) }))
        .filter((c): c is { line: Line; signature: string } => c.signature !== undefined);
    if (crashes.length === 0) {
        return short
            ? {
                  check,
                  status: "could not be judged",
                  value: 0,
                  line: `${check}: none in what was read; ${short}`,
                  shown: [],
              }
            : { check, status: "ok", value: 0, line: `${check}: none`, shown: [] };
    }
    const groups = groupBy(crashes, (c) => `${c.signature}\u0000${c.line.message.replace(/\d+/g, "#")}`);
    const named = groups.slice(0, maxShown).map(({ first, count }) => {
        const at = `${first.line.timestamp.replace(/\.\d+Z$/, "Z")} (+${Math.round((first.line.at - from) / 1000)} s)`;
        return `${first.signature} at ${at}: "${clean(first.line.message)}"${count > 1 ? ` x ${count}` : ""}`;
    });
    if (groups.length > maxShown) named.push(`... ${groups.length - maxShown} more`);
    return {
        check,
        status: "crossed",
        value: crashes.length,
        line: `${check}: ${crashes.length} app line${crashes.length === 1 ? "" : "s"} ${crashes.length === 1 ? "shows" : "show"} a crash: ${named.join(", ")}`,
        shown: named,
    };
}

/** Items grouped by `key`, most frequent first (then first seen), each with its first item and count. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Array<{ key: string; first: T; count: number }> {
    const groups = new Map<string, { key: string; first: T; count: number; order: number }>();
    items.forEach((item, order) => {
        const k = key(item);
        const group = groups.get(k);
        if (group) group.count += 1;
        else groups.set(k, { key: k, first: item, count: 1, order });
    });
    return [...groups.values()].sort((a, b) => b.count - a.count || a.order - b.order);
}
