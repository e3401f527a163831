// Whether the deploy a watch watches is still the one serving, and what to do when another went live (pure).
import type { Deploy } from "../../lib/render/client";

/** The deploy a watch is about, and when Render says it went live (ms since the epoch). */
export interface WatchedDeploy {
    readonly id: string;
    readonly liveAt: number;
}

/** What the watch does after a look at Render's live deploy. */
export type Supersession =
    /** The watched deploy (or one the watch already took on) is the live one; or nothing tells otherwise. */
    | { readonly kind: "still live" }
    /**
     * A newer deploy made through Render's API went live: a `pulumi up`'s (one stack owns a service, and the runbook's
     * deploys go through `pulumi up`). That up's own watch covers it for a full window; this one ends, as of `at`.
     */
    | { readonly kind: "superseded"; readonly by: Deploy; readonly at: number }
    /**
     * A newer deploy not made through the API went live (a teammate's dashboard deploy or rollback, a push's
     * autodeploy, a deploy hook): no `up` will watch it, so this watch takes it on, for a full window of its own.
     */
    | { readonly kind: "not this stack's"; readonly by: Deploy; readonly at: number };

/**
 * Which deploys count as a `pulumi up`'s: Render marks deploys created through its API `api`. A rollback the program
 * makes for a deploy pin is `rollback`, as is one from the dashboard: since Render's record cannot tell the two apart,
 * a rollback is taken on as not this stack's, so it is watched even when no `up` made it (and watched twice when one
 * did: the pin's own watch too).
 */
export const UP_TRIGGERS: readonly string[] = ["api"];

/**
 * Pure: what the live deploy means for the watch of `watched`. `live` is Render's newest live deploy (undefined when
 * Render lists none: nothing can be concluded); `taken` the deploys not this stack's the watch already took on.
 */
export function supersession(
    watched: WatchedDeploy,
    live: Deploy | undefined,
    taken: ReadonlySet<string> = new Set(),
): Supersession {
    if (!live || live.id === watched.id || taken.has(live.id)) return { kind: "still live" };
    // Render's own time of the switch; a deploy listed as live without one went live no earlier than it was updated.
    const at = Date.parse(live.finishedAt ?? live.updatedAt ?? live.createdAt);
    // Live before the watched deploy went live (both by Render's clock): a stale listing; the watched one is newer.
    if (at < watched.liveAt) return { kind: "still live" };
    return UP_TRIGGERS.includes(live.trigger ?? "")
        ? { kind: "superseded", by: live, at }
        : { kind: "not this stack's", by: live, at };
}

/** How Render's trigger reads in a line: "a dashboard deploy (manual)". */
export function describeTrigger(trigger: string | undefined): string {
    switch (trigger) {
        case "api":
            return "a deploy through Render's API (api): a pulumi up's";
        case "manual":
            return "a dashboard deploy (manual)";
        case "new_commit":
            return "a push's autodeploy (new_commit)";
        case "rollback":
            return "a rollback (rollback)";
        case "deploy_hook":
            return "a deploy hook's deploy (deploy_hook)";
        default:
            return `a deploy (${trigger ?? "no trigger given"})`;
    }
}

/**
 * Pure: when the watch ends, after a deploy not this stack's went live at `at`: a full window after it, but never past
 * `maxWindows` windows from the watched deploy's own start.
 */
export function lengthenedEnd(
    currentEnd: number,
    watchedLiveAt: number,
    at: number,
    windowMs: number,
    maxWindows: number,
): number {
    return Math.max(currentEnd, Math.min(at + windowMs, watchedLiveAt + maxWindows * windowMs));
}
