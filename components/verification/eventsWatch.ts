// The watch's read of Render's service events for its window, handed to the pure judgement in ./eventsVerdict.ts.
import type { RenderClient } from "../../lib/render/client";
import { type EventsReadings, judgeEvents } from "./eventsVerdict";
import type { MetricsWindow } from "./metricsWatch";
import type { WatchSource } from "./watchRunner";
import type { SourceVerdict, WatchFigure } from "./watchVerdict";

/** Whose events: the service, and the deploy the window watches (its own events are reported as its). */
export interface EventsTarget {
    /** The service's srv- id. */
    readonly serviceId: string;
    readonly deployId?: string;
}

/** Pages of 100 events read at most: a window that holds more is reported as not judged in full. */
export const EVENT_PAGES = 10;

/**
 * The service's events from `window.start` (the deploy going live) to `window.end`, newest first, following cursors
 * to the end of Render's list or `maxPages` requests: one request for a quiet window. A request Render fails (after the
 * client's retries, 429s waited out as Render says) fails the read.
 */
export async function readEvents(
    client: RenderClient,
    target: EventsTarget,
    window: MetricsWindow,
    { maxPages = EVENT_PAGES }: { maxPages?: number } = {},
): Promise<EventsReadings> {
    const from = window.start.toISOString();
    const to = window.end.toISOString();
    const read = await client.listServiceEvents(target.serviceId, { startTime: from, endTime: to, maxPages });
    return {
        serviceId: target.serviceId,
        ...(target.deployId !== undefined && { deployId: target.deployId }),
        from,
        to,
        events: read.events,
        complete: read.complete,
        pages: read.pages,
    };
}

/** How often the watch reads the events during its window: an instance that died is said within this long. */
export const EVENTS_EVERY_MS = 15_000;

/**
 * The events as a source of the watch: read from the deploy going live every 15 s (one request for a quiet window),
 * so an instance that died is said at once. Each failing event is a crossed figure naming it, its time and Render's
 * reason; otherwise one figure says what else happened (reported, not failed on), or that the read stopped short.
 */
export function eventsSource(
    client: RenderClient,
    target: EventsTarget,
    secrets: readonly string[],
): WatchSource<EventsReadings> {
    return {
        name: "events",
        everyMs: EVENTS_EVERY_MS,
        read: (range) => readEvents(client, target, range),
        judge(readings): SourceVerdict {
            const verdict = judgeEvents(readings, { secrets });
            const figures: WatchFigure[] =
                verdict.failures.length > 0
                    ? verdict.failures.map((line) => ({ check: "event", status: "crossed", line }))
                    : [{ check: "event", status: verdict.status, line: verdict.summary }];
            return { source: "events", figures };
        },
        unreadable: (why) => ({ check: "event", line: `Render's service events: ${why}` }),
    };
}
