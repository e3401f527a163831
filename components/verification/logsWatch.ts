// The watch's read of the service's logs for its window, handed to the pure judgement in ./logsVerdict.ts.
import type { RenderClient } from "../../lib/render/client";
import type { LogsReadings } from "./logsVerdict";
import type { MetricsWindow } from "./metricsWatch";

/** Whose logs: the service, and the workspace that owns it (asked of Render when not given). */
export interface LogsTarget {
    /** The service's srv- id. */
    readonly serviceId: string;
    /** The service's workspace (tea-... or usr-...), which GET /logs requires. */
    readonly ownerId?: string;
}

/** Pages of 100 lines read at most: 5,000 lines, 50 requests (Render allows 400 GETs a minute). */
export const LOG_PAGES = 50;

/**
 * The service's app and request lines from `window.start` (the deploy going live) to `window.end`, oldest first, page
 * after page to the end of the window or `maxPages` requests (the readings then say the read is not complete, and the
 * verdict what it could not judge). Build lines are not asked for. A request Render fails (after the client's
 * retries, 429s waited out as Render says) fails the read. The lines are the app's raw text: hand them to judgeLogs,
 * never to a log, an output or a message.
 */
export async function readLogs(
    client: RenderClient,
    target: LogsTarget,
    window: MetricsWindow,
    { maxPages = LOG_PAGES }: { maxPages?: number } = {},
): Promise<LogsReadings> {
    const ownerId = target.ownerId ?? (await client.getService(target.serviceId)).ownerId;
    if (!ownerId) {
        throw new Error(
            `GET /services/${target.serviceId} answered no ownerId, and GET /logs needs the workspace that owns the service`,
        );
    }
    const from = window.start.toISOString();
    const to = window.end.toISOString();
    const read = await client.listLogs(
        {
            ownerId,
            resource: [target.serviceId],
            type: ["app", "request"],
            direction: "forward",
            startTime: from,
            endTime: to,
        },
        { maxPages },
    );
    return { serviceId: target.serviceId, from, to, logs: read.logs, complete: read.complete, pages: read.pages };
}
