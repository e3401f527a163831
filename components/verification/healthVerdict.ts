// The /healthz watch's verdict (pure): the samples of a window against the runbook's error-rate and response-time limits.
import type { Watch } from "./plan";

/** One request's outcome. */
export interface Sample {
    /** Milliseconds since the deploy went live (as near as the caller knows it): the failures' "+N s". */
    readonly at: number;
    /** The HTTP status; undefined when there was no answer. */
    readonly status?: number;
    /** Time to the answer (or to giving up), in milliseconds. */
    readonly ms: number;
    /** Why there was no answer, e.g. "ECONNREFUSED". */
    readonly error?: string;
}

/** The judgement of a watch: passed or not, what was seen, and each threshold crossed. */
export interface WindowVerdict {
    readonly ok: boolean;
    /** What the window saw, e.g. "60 requests, 0 errors (0.0%), slowest 41 ms". */
    readonly summary: string;
    /** One line per threshold crossed, naming the figure, the threshold and when it was first seen. */
    readonly failures: string[];
    /** When the first failing answer came (ms, as the samples count), if any threshold was crossed. */
    readonly firstFailureAt?: number;
}

/**
 * Pure: the samples of a watch against its thresholds. An answer other than 200, or none, is an error, and more
 * than `maxErrorRate` of them fails; any answer slower than `maxResponseMs` fails (the runbook alerts on both). Each
 * failure names the figure, the limit, and the time of its first sample ("+12.3 s").
 */
export function judgeWindow(samples: readonly Sample[], watch: Watch): WindowVerdict {
    const errors = samples.filter((s) => s.status !== 200);
    const slow = samples.filter((s) => s.ms > watch.maxResponseMs);
    const slowest = samples.reduce((max, s) => Math.max(max, s.ms), 0);
    const rate = samples.length === 0 ? 1 : errors.length / samples.length;
    const summary =
        `${samples.length} request${samples.length === 1 ? "" : "s"}, ${errors.length} error${errors.length === 1 ? "" : "s"} ` +
        `(${formatRate(rate)}), slowest ${Math.round(slowest)} ms`;
    const failures: string[] = [];
    const firsts: number[] = [];
    if (samples.length === 0) {
        failures.push(`GET ${watch.path} was never answered in the window`);
    } else if (rate > watch.maxErrorRate) {
        failures.push(
            `error rate ${formatRate(rate)} is over the ${formatRate(watch.maxErrorRate)} limit: ${errors.length} of ${samples.length} ` +
                `answers to GET ${watch.path} were not 200 (${tally(errors)}), the first at ${formatAt(errors[0].at)}`,
        );
        firsts.push(errors[0].at);
    }
    if (slow.length > 0) {
        failures.push(
            `${slow.length} response${slow.length === 1 ? "" : "s"} took longer than the ${watch.maxResponseMs} ms limit ` +
                `(slowest ${Math.round(slowest)} ms), the first at ${formatAt(slow[0].at)}`,
        );
        firsts.push(slow[0].at);
    }
    const firstFailureAt = firsts.length > 0 ? Math.min(...firsts) : undefined;
    return { ok: failures.length === 0, summary, failures, ...(firstFailureAt !== undefined && { firstFailureAt }) };
}

/** 12345 ms as "+12.3 s": a time in the window, counted from the deploy going live. */
export function formatAt(ms: number): string {
    return `+${(ms / 1000).toFixed(1)} s`;
}

/** Before the window ends: whether it can no longer pass, whatever the remaining samples are. */
export function windowLost(samples: readonly Sample[], watch: Watch, plannedSamples: number): boolean {
    const errors = samples.filter((s) => s.status !== 200).length;
    // A window has at most `plannedSamples` samples, so past this many errors its rate stays above the limit.
    return errors > watch.maxErrorRate * plannedSamples || samples.some((s) => s.ms > watch.maxResponseMs);
}

/** 0.05 as "5.0%". */
export function formatRate(rate: number): string {
    return `${(rate * 100).toFixed(1)}%`;
}

/** "3 x 500, 1 x no answer (ECONNREFUSED)" */
function tally(samples: readonly Sample[]): string {
    const counts = new Map<string, number>();
    for (const s of samples) {
        const key = s.status === undefined ? `no answer (${s.error ?? "unknown"})` : String(s.status);
        counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([what, n]) => `${n} x ${what}`).join(", ");
}
