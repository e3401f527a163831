// The watch's read of Render's service events for its window, handed to the pure judgement in ./eventsVerdict.ts.
import type { RenderClient } from "../../lib/render/client";
import type { EventsReadings } from "./eventsVerdict";
import type { MetricsWindow } from "./metricsWatch";

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
