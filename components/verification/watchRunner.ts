// The watch of a deploy's window after `pulumi up` (`npm run watch`), needing no lock: /healthz asked every second,
// Render's live deploy and the service looked at every few seconds (a newer deploy, the maintenance page), each source
// read and judged; a crossed threshold said at once; Ctrl-C (the signal) ends it at once with what it saw. Pulumi-free.
import type { Deploy, Service } from "../../lib/render/client";
import { formatAt, formatRate, judgeWindow, type Sample, windowLost } from "./healthVerdict";
import { METRICS_LAG_GRACE_SECONDS, WATCH_MAX_WINDOWS, type WatchTarget } from "./plan";
import type { Stage } from "./metricsVerdict";
import { probe, urlOf } from "./probe";
import { describeTrigger, lengthenedEnd, supersession } from "./supersession";
import {
    failureLine,
    type SourceName,
    type SourceVerdict,
    type WatchEnd,
    type WatchFigure,
    type WatchReport,
} from "./watchVerdict";

/** A span of the window, by the clock. */
export interface TimeRange {
    readonly start: Date;
    readonly end: Date;
}

/**
 * One source of the watch besides /healthz: a reader and a pure verdict. Render's metrics are one; the service's events
 * and its logs plug in the same way.
 */
export interface WatchSource<R> {
    readonly name: SourceName;
    /** Read this often during the window, crossings said at once; undefined: read only once the window is over. */
    readonly everyMs?: number;
    /** Reads what Render has for the range; a throw is a read that failed (said, and asked again while it may be). */
    read(range: TimeRange): Promise<R>;
    /** Pure: the readings judged; at the `final` stage what is still missing could not be judged. */
    judge(readings: R, stage: Stage): SourceVerdict;
    /** The figure standing for a read that failed, e.g. { check: "metric", line: "Render's metrics: ..." }. */
    unreadable(why: string): Pick<WatchFigure, "check" | "line">;
}

/** What the watch asks of Render besides the sources: the live deploy and the service (its maintenance mode). */
export interface WatchRender {
    liveDeploy(serviceId: string): Promise<Deploy | undefined>;
    getService(serviceId: string): Promise<Service>;
}

/** How often the watch asks what. Production uses the defaults; tests shorten them. */
export interface WatchTiming {
    /** /healthz, once a second as Render's dashboard graphs it. */
    readonly sampleMs: number;
    /** Render's live deploy and the service: every 5 s, 24 GETs a minute of Render's 400. */
    readonly pollMs: number;
    /** How long past the window to wait for figures not reported yet. */
    readonly lagGraceMs: number;
    /** How often to ask again meanwhile. */
    readonly lagPollMs: number;
}

export const DEFAULT_WATCH_TIMING: WatchTiming = {
    sampleMs: 1_000,
    pollMs: 5_000,
    lagGraceMs: METRICS_LAG_GRACE_SECONDS * 1000,
    lagPollMs: 15_000,
};

export interface WatchOptions {
    readonly target: WatchTarget;
    readonly render: WatchRender;
    /** The sources read besides /healthz (metrics; events and logs later). */
    readonly sources: ReadonlyArray<WatchSource<unknown>>;
    /** Each line as it happens. */
    readonly log: (line: string) => void;
    /** Ctrl-C: the watch stops at once, reads nothing more, and reports what it saw. */
    readonly signal?: AbortSignal;
    /** Called once, with the first threshold crossed (after a fresh look at Render confirmed it is still this deploy's). */
    readonly onCrossing?: (figure: WatchFigure, atSeconds: number) => Promise<void> | void;
    readonly timing?: Partial<WatchTiming>;
    /** The clock (ms since the epoch); Render's times are compared with it. */
    readonly now?: () => number;
}

/** Waits `ms`, or less if `until` resolves first; leaves no timer behind either way. */
function delay(ms: number, until: Promise<unknown>): Promise<void> {
    return new Promise((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, ms));
        void until.then(() => {
            clearTimeout(timer);
            resolve();
        });
    });
}

/** "DISABLE_SIGNUP (deploy dep-...)", or "deploy dep-..." alone when that is all the action is. */
export function subjectOf(target: Pick<WatchTarget, "action" | "deployId">): string {
    return target.action === `deploy ${target.deployId}`
        ? target.action
        : `${target.action} (deploy ${target.deployId})`;
}

/** An error's message, whatever was thrown. */
function messageOf(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}

/** "03:04:05 UTC" */
function clock(ms: number): string {
    return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

/**
 * Watches `target`'s deploy from now to the end of its window, counted from when Render says it went live, and reports
 * what every source saw. Ends early when a newer `pulumi up`'s deploy goes live (superseded: that up's watch covers it),
 * when the maintenance page goes up, or on the signal; lengthens the window for a deploy not this stack's. Throws only
 * when it cannot start (no service answer at all is still a report, with what could not be judged).
 */
export async function runWatch(options: WatchOptions): Promise<WatchReport> {
    const { target, render, log } = options;
    const timing = { ...DEFAULT_WATCH_TIMING, ...options.timing };
    const now = options.now ?? Date.now;
    const liveAt = Date.parse(target.liveAt);
    if (Number.isNaN(liveAt))
        throw new Error(`the watch target's liveAt is not a time: ${JSON.stringify(target.liveAt)}`);
    const windowMs = target.window.seconds * 1000;
    const seconds = (at: number) => Math.round((at - liveAt) / 1000);
    const startedAt = now();
    let windowEnd = liveAt + windowMs;
    const samples: Sample[] = [];
    const alsoWatched: Array<{ deployId: string; trigger: string; atSeconds: number }> = [];
    const taken = new Set<string>();
    const interim = new Map<SourceName, SourceVerdict>();
    const announced = new Set<string>();
    let notified = false;
    /** Set when something cut the window short: why, and the moment after which nothing counts. */
    let cut: { end: WatchEnd; at: number } | undefined;
    /** The last look at Render that found the maintenance page off (ms). */
    let lastSeenOff = startedAt;

    // One wake-up for every wait: the window's end, a cut, or Ctrl-C.
    let finished = false;
    let wake: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (wake = resolve));
    const finish = () => {
        finished = true;
        wake();
    };
    const interrupted = () => options.signal?.aborted === true;
    options.signal?.addEventListener("abort", finish, { once: true });
    // Resolves on Ctrl-C (never, without a signal): the waits and reads after the window race it.
    const aborted = new Promise<void>((resolve) => {
        if (interrupted()) resolve();
        else options.signal?.addEventListener("abort", () => resolve(), { once: true });
    });
    const sleep = (ms: number) => delay(ms, done);
    /** `work`, or undefined as soon as the watch is finished (a request in flight is left to end on its own). */
    const unlessFinished = <T>(work: Promise<T>): Promise<T | undefined> =>
        Promise.race([work, done.then(() => undefined)]);

    const announce = async (figure: WatchFigure) => {
        if (announced.has(figure.line) || figure.status !== "crossed") return;
        announced.add(figure.line);
        const at = seconds(now());
        log(`CROSSED (seen at +${at} s): ${failureLine(figure)}`);
        if (!notified && options.onCrossing) {
            notified = true;
            try {
                await options.onCrossing(figure, at);
            } catch (err) {
                log(`the incident's channels were not told: ${messageOf(err)}`);
            }
        }
    };

    /** A look at Render: a newer deploy live, or the maintenance page up, ends (or lengthens) the window. */
    let lookFailures = 0;
    const look = async (): Promise<void> => {
        const asked = now();
        let live: Deploy | undefined;
        let service: Service;
        try {
            const answers = await unlessFinished(
                Promise.all([render.liveDeploy(target.serviceId), render.getService(target.serviceId)]),
            );
            if (!answers) return;
            [live, service] = answers;
        } catch (err) {
            // Says nothing about the deploy: the watch goes on, and says so once.
            if (lookFailures++ === 0) log(`could not ask Render for the live deploy (${messageOf(err)}); asking again`);
            return;
        }
        if (finished) return;
        if (service.serviceDetails?.maintenanceMode?.enabled) {
            cut = { end: { reason: "maintenance", atSeconds: seconds(lastSeenOff) }, at: lastSeenOff };
            log(
                `the maintenance page is up (seen at +${seconds(asked)} s): Render's edge answers every request with 503, ` +
                    `so the app cannot be watched through it; what counts ends at +${seconds(lastSeenOff)} s, when it was last seen off`,
            );
            finish();
            return;
        }
        lastSeenOff = asked;
        const decision = supersession({ id: target.deployId, liveAt }, live, taken);
        if (decision.kind === "superseded") {
            const at = Math.max(liveAt, Math.min(decision.at, asked));
            cut = { end: { reason: "superseded", atSeconds: seconds(at), by: decision.by.id }, at };
            log(
                `superseded by ${decision.by.id} at +${seconds(at)} s (${describeTrigger(decision.by.trigger)}, ` +
                    `so that up's own watch covers it for a full window); this watch ends with what it saw until then`,
            );
            finish();
        } else if (decision.kind === "not this stack's") {
            taken.add(decision.by.id);
            const before = windowEnd;
            windowEnd = lengthenedEnd(windowEnd, liveAt, decision.at, windowMs, WATCH_MAX_WINDOWS);
            alsoWatched.push({
                deployId: decision.by.id,
                trigger: decision.by.trigger ?? "unknown",
                atSeconds: seconds(decision.at),
            });
            const capped = decision.at + windowMs > windowEnd;
            log(
                `${decision.by.id} went live at +${seconds(decision.at)} s: ${describeTrigger(decision.by.trigger)}, not ` +
                    `this stack's, so no pulumi up watches it: this watch takes it on` +
                    (windowEnd > before ? `, until +${seconds(windowEnd)} s` : "") +
                    (capped
                        ? ` (at most ${WATCH_MAX_WINDOWS} windows: its own full window is cut short at +${seconds(windowEnd)} s)`
                        : ""),
            );
        }
    };

    const url = urlOf(target.serviceUrl, target.window.path);
    const healthSpan = () => (cut ? cut.at : Math.min(now(), windowEnd));
    const counted = () => samples.filter((s) => liveAt + s.at <= healthSpan());

    /** /healthz once a second; a threshold that can no longer be met is said at once, after a fresh look at Render. */
    const sampler = async (): Promise<void> => {
        // performance.now() of the moment the deploy went live, so each sample's `at` counts from it.
        const origin = performance.now() - (now() - liveAt);
        let said = false;
        for (let tick = 0; !finished; tick++) {
            const due = startedAt + tick * timing.sampleMs;
            await sleep(due - now());
            if (finished) return;
            if (now() >= windowEnd) return finish();
            const sample = await unlessFinished(probe(url, "GET", origin));
            if (!sample || finished) return;
            samples.push(sample);
            const planned = Math.max(samples.length, Math.ceil((windowEnd - startedAt) / timing.sampleMs));
            if (!said && windowLost(samples, target.window, planned)) {
                await look();
                if (finished) return;
                said = true;
                for (const figure of healthFigures(counted(), target.window)) await announce(figure);
            }
        }
    };

    /** Render's live deploy and the service, at once (superseded before the watch began?) and every few seconds. */
    const poller = async (): Promise<void> => {
        while (!finished) {
            await look();
            await sleep(timing.pollMs);
        }
    };

    /** A source read during the window: its crossings said at once, its verdict kept for a Ctrl-C. */
    const reader = async (source: WatchSource<unknown>): Promise<void> => {
        while (!finished && source.everyMs !== undefined) {
            await sleep(source.everyMs);
            if (finished) return;
            const readings = await unlessFinished(
                source.read({ start: new Date(liveAt), end: new Date(now()) }).catch(() => undefined),
            );
            if (readings === undefined || finished) continue;
            const verdict = source.judge(readings, "interim");
            interim.set(source.name, verdict);
            for (const figure of verdict.figures) await announce(figure);
        }
    };

    log(
        `watching ${subjectOf(target)} (live at ${clock(liveAt)}, verified at ` +
            `+${target.verifiedAfterSeconds} s by the up) until +${target.window.seconds} s (${clock(windowEnd)}): ` +
            `GET ${target.window.path} every ${timing.sampleMs / 1000} s (errors at most ${formatRate(target.window.maxErrorRate)}, ` +
            `responses within ${target.window.maxResponseMs} ms), ` +
            `${options.sources.map((s) => s.name).join(" and ") || "no other source"} for the window; ` +
            `Render's live deploy every ${timing.pollMs / 1000} s for a newer one; Ctrl-C ends it`,
    );
    const over = startedAt >= windowEnd;
    if (over) {
        log(
            `the window ended at +${target.window.seconds} s (${clock(windowEnd)}), before the watch began (+${seconds(startedAt)} s)`,
        );
    } else {
        await Promise.all([
            sampler(),
            poller(),
            ...options.sources.map(reader),
            // The window may be lengthened meanwhile: check its end as the sampler does, in case no sample is due.
            (async () => {
                while (!finished) {
                    await sleep(Math.min(timing.sampleMs, windowEnd - now()));
                    if (now() >= windowEnd) finish();
                }
            })(),
        ]);
    }
    finished = true;
    wake();

    const endAt = cut ? cut.at : Math.min(now(), windowEnd);
    if (!interrupted() && !over && !cut) log(`the window ended at +${seconds(windowEnd)} s`);
    const health: SourceVerdict = {
        source: "health",
        figures: over
            ? [
                  {
                      check: "health",
                      status: "could not be judged",
                      line: `GET ${target.window.path}: not asked: the window had ended (at ${clock(windowEnd)}) before the watch began`,
                  },
              ]
            : healthFigures(counted(), target.window),
    };
    const sources: SourceVerdict[] = [health];
    for (const source of options.sources) {
        sources.push(
            interrupted()
                ? readSoFar(source)
                : await finalRead(source, { start: new Date(liveAt), end: new Date(endAt) }),
        );
    }
    // Ctrl-C at any point, the wait for Render's late figures included, cuts the watch short.
    const end: WatchEnd = interrupted()
        ? { reason: "interrupted", atSeconds: seconds(Math.min(now(), windowEnd)) }
        : over
          ? { reason: "over", atSeconds: seconds(startedAt) }
          : (cut?.end ?? { reason: "window", atSeconds: seconds(windowEnd) });
    return {
        action: target.action,
        deployId: target.deployId,
        windowSeconds: target.window.seconds,
        verifiedAfterSeconds: target.verifiedAfterSeconds,
        end,
        alsoWatched,
        sources,
    };

    /** After Ctrl-C nothing more is read: what was read during the window, or a figure saying it was not. */
    function readSoFar(source: WatchSource<unknown>): SourceVerdict {
        return (
            interim.get(source.name) ?? {
                source: source.name,
                figures: [
                    {
                        ...source.unreadable("not read: the watch was cut short before its window ended"),
                        status: "could not be judged",
                    },
                ],
            }
        );
    }

    /** The source's last word on the range: asked again while figures are not reported yet, within the grace. */
    async function finalRead(source: WatchSource<unknown>, range: TimeRange): Promise<SourceVerdict> {
        const deadline = Math.max(now(), range.end.getTime()) + timing.lagGraceMs;
        let verdict: SourceVerdict | undefined;
        let readings: unknown;
        let failure: string | undefined;
        for (let attempt = 0; ; attempt++) {
            const answer = await Promise.race([
                source.read(range).then(
                    (value) => ({ value }),
                    (err: unknown) => ({ err }),
                ),
                aborted.then(() => undefined),
            ]);
            if (answer === undefined) return readSoFar(source);
            if ("err" in answer) {
                failure = `could not be read: ${messageOf(answer.err)}`;
                verdict = undefined;
            } else {
                readings = answer.value;
                failure = undefined;
                verdict = source.judge(readings, "interim");
                interim.set(source.name, verdict);
            }
            const pending = verdict ? verdict.figures.filter((f) => f.status === "not reported yet") : [];
            if ((verdict && pending.length === 0) || now() + timing.lagPollMs > deadline) break;
            if (attempt === 0) {
                log(
                    `${source.name}: ${failure ?? `${pending.map((f) => f.line.slice(0, f.line.indexOf(":"))).join(", ")} not reported yet`}; ` +
                        `asking Render again every ${timing.lagPollMs / 1000} s until ${clock(deadline)}`,
                );
            }
            await delay(timing.lagPollMs, aborted);
            if (interrupted()) return readSoFar(source);
        }
        if (failure !== undefined || readings === undefined) {
            return {
                source: source.name,
                figures: [{ ...source.unreadable(failure ?? "not read"), status: "could not be judged" }],
            };
        }
        const last = source.judge(readings, "final");
        for (const figure of last.figures) if (figure.status === "crossed") await announce(figure);
        return last;
    }
}

/** The /healthz source's figures: one per threshold crossed, else one that passed; none asked, could not be judged. */
export function healthFigures(samples: readonly Sample[], watch: WatchTarget["window"]): WatchFigure[] {
    const what = `GET ${watch.path}`;
    if (samples.length === 0) {
        return [{ check: "health", status: "could not be judged", line: `${what}: not asked in the window` }];
    }
    const verdict = judgeWindow(samples, watch);
    if (verdict.ok) {
        return [
            {
                check: "health",
                status: "ok",
                line:
                    `${what}: ${verdict.summary} from ${formatAt(samples[0].at)} to ${formatAt(samples[samples.length - 1].at)}, ` +
                    `within ${formatRate(watch.maxErrorRate)} errors and ${watch.maxResponseMs} ms`,
            },
        ];
    }
    return verdict.failures.map((failure) => ({
        check: "health",
        status: "crossed",
        line: `${failure} (${verdict.summary})`,
    }));
}
