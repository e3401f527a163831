// The watch's verdict (pure): the figures each source judged, and what the watch says and exits with at the end.
import type { FigureStatus } from "./metricsVerdict";

/** What a failure names first: the check that saw it (the up's own checks are "health" and "switch"). */
export type CheckName = "health" | "switch" | "metric" | "event" | "log";

/** The watch's sources: /healthz (asked by the watch itself), Render's metrics, and later its events and logs. */
export type SourceName = "health" | "metrics" | "events" | "logs";

/** One figure (or line) a source judged, with its status: only `crossed` fails the watch. */
export interface WatchFigure {
    readonly check: CheckName;
    readonly status: FigureStatus;
    /** What was seen against what threshold, and when: "memory: 93.1% of the 512 MB limit, over 90%, ...". */
    readonly line: string;
}

/** One source's judgement of the window (or of what it saw of it so far). */
export interface SourceVerdict {
    readonly source: SourceName;
    readonly figures: readonly WatchFigure[];
}

/** The watch's exit codes, as scripts/watch.ts documents them. */
export const WATCH_EXIT = {
    /** Every figure judged, none crossed. */
    clean: 0,
    /** A threshold crossed: the failure names the check, the figure, the threshold and the time. */
    crossed: 1,
    /** Could not watch: no watch target in the stack's outputs, no Render key, Render unreachable, a bad argument. */
    couldNotWatch: 2,
    /** Nothing crossed, but some figures could not be judged (Render never reported them): not a pass, not a failure. */
    incomplete: 3,
    /** Ctrl-C, with nothing crossed before it. */
    interrupted: 130,
} as const;

/** Why the watch stopped watching. */
export type WatchEnd =
    /** Its whole window (or longer, when a deploy not this stack's went live in it). */
    | { readonly reason: "window"; readonly atSeconds: number }
    /** A newer `pulumi up`'s deploy went live: its own watch covers it. */
    | { readonly reason: "superseded"; readonly atSeconds: number; readonly by: string }
    /** Render's maintenance page went up: the app cannot be seen through it. */
    | { readonly reason: "maintenance"; readonly atSeconds: number }
    /** Ctrl-C. */
    | { readonly reason: "interrupted"; readonly atSeconds: number }
    /** The window had ended before the watch began: only Render's metrics for it are read. */
    | { readonly reason: "over"; readonly atSeconds: number };

/** What one watch saw, handed to `watchOutcome`. */
export interface WatchReport {
    /** What the deploy carried: "DISABLE_SIGNUP", or "deploy dep-...". */
    readonly action: string;
    readonly deployId: string;
    readonly windowSeconds: number;
    /** The up's "+N s" of "... is live and verified at +N s". */
    readonly verifiedAfterSeconds: number;
    readonly end: WatchEnd;
    /** Deploys not this stack's that went live during the window, watched too. */
    readonly alsoWatched: ReadonlyArray<{
        readonly deployId: string;
        readonly trigger: string;
        readonly atSeconds: number;
    }>;
    readonly sources: readonly SourceVerdict[];
}

/** What the watch prints at its end, and the code it exits with. */
export interface WatchOutcome {
    readonly exitCode: number;
    /** Every failure, each naming its check: "health: error rate 12.0% is over the 5.0% limit: ..., the first at +3.0 s". */
    readonly failures: string[];
    /** One line on the whole watch, last printed: the verdict, the span watched, and the figures counted by status. */
    readonly summary: string;
}

/** A failure's line, named by its check. */
export function failureLine(figure: WatchFigure): string {
    return `${figure.check}: ${figure.line}`;
}

/**
 * The watch's verdict: a crossed figure fails it (exit 1) whatever else happened; otherwise Ctrl-C (130), figures that
 * could not be judged (3, "incomplete": reported, not a pass, not a failure), or clean (0). A figure still "not
 * reported yet" when the watch stopped counts as could not be judged.
 */
export function watchOutcome(report: WatchReport): WatchOutcome {
    const figures = report.sources.flatMap((s) => s.figures);
    const crossed = figures.filter((f) => f.status === "crossed");
    const unjudged = figures.filter((f) => f.status === "could not be judged" || f.status === "not reported yet");
    const failures = crossed.map(failureLine);
    const subject = `watch of ${report.action === `deploy ${report.deployId}` ? report.action : `${report.action} (deploy ${report.deployId})`}`;
    const span = spanWatched(report);
    const counted = report.sources.map((s) => `${s.source}: ${countByStatus(s.figures)}`).join("; ");
    const unjudgedNote =
        unjudged.length > 0
            ? `${unjudged.length} figure${unjudged.length === 1 ? "" : "s"} could not be judged (${unjudged.map(subjectOf).join(", ")})`
            : "";
    let verdict: string;
    let exitCode: number;
    if (crossed.length > 0) {
        exitCode = WATCH_EXIT.crossed;
        verdict =
            `FAILED: ${crossed.length} threshold${crossed.length === 1 ? "" : "s"} crossed ` +
            `(${crossed.map((f) => `${f.check}${f.check === "health" ? "" : ` ${subjectOf(f)}`}`).join(", ")}) ${span}`;
    } else if (report.end.reason === "interrupted") {
        exitCode = WATCH_EXIT.interrupted;
        verdict = `nothing crossed ${span}`;
    } else if (unjudged.length > 0) {
        exitCode = WATCH_EXIT.incomplete;
        verdict = `nothing crossed ${span}, but ${unjudgedNote}`;
    } else {
        exitCode = WATCH_EXIT.clean;
        verdict = `clean: nothing crossed ${span}`;
    }
    if (crossed.length > 0 && unjudged.length > 0) verdict += `; ${unjudgedNote}`;
    const summary =
        report.end.reason === "interrupted"
            ? `${report.action} was live and verified at +${report.verifiedAfterSeconds} s; the watch was cut short after ` +
              `${report.end.atSeconds} s of its ${report.windowSeconds} s window (Ctrl-C); what it saw: ${verdict} (${counted})`
            : `${subject}: ${verdict} (${counted})`;
    return { exitCode, failures, summary };
}

/** "in its 300 s window", "in the 42 s before dep-X superseded it", ... */
function spanWatched(report: WatchReport): string {
    const end = report.end;
    const also =
        report.alsoWatched.length > 0
            ? `, ${report.alsoWatched.map((d) => `${d.deployId} (${d.trigger}, live at +${d.atSeconds} s)`).join(" and ")} watched too`
            : "";
    switch (end.reason) {
        case "window":
            return `in its ${end.atSeconds} s${end.atSeconds === report.windowSeconds ? "" : ` (a ${report.windowSeconds} s window, lengthened)`} window${also}`;
        case "superseded":
            return `in the ${end.atSeconds} s before ${end.by} superseded it${also}`;
        case "maintenance":
            return `in the ${end.atSeconds} s before the maintenance page went up${also}`;
        case "interrupted":
            return `in the ${end.atSeconds} s watched${also}`;
        case "over":
            return `in its ${report.windowSeconds} s window, which had ended before the watch began (only Render's metrics read)`;
    }
}

/** "2 ok, 1 not applicable", in a fixed order. */
function countByStatus(figures: readonly WatchFigure[]): string {
    const order: FigureStatus[] = ["crossed", "ok", "not applicable", "not reported yet", "could not be judged"];
    const parts = order
        .map((status) => [status, figures.filter((f) => f.status === status).length] as const)
        .filter(([, n]) => n > 0)
        .map(([status, n]) => `${n} ${status}`);
    return parts.length > 0 ? parts.join(", ") : "nothing seen";
}

/** What a figure is of: its line up to the first colon ("memory", "error rate"). */
function subjectOf(figure: WatchFigure): string {
    const colon = figure.line.indexOf(":");
    return colon > 0 ? figure.line.slice(0, colon) : figure.check;
}
