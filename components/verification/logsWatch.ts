// The watch's read of the service's logs for its window, handed to the pure judgement in ./logsVerdict.ts.
import type { RenderClient } from "../../lib/render/client";
import { judgeLogs, type LogsJudgement, type LogsReadings } from "./logsVerdict";
import type { MetricsWindow } from "./metricsWatch";
import type { WatchSource } from "./watchRunner";
import type { SourceVerdict } from "./watchVerdict";

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

/** How often the watch reads the logs during its window: a crash signature is said within this long. */
export const LOGS_EVERY_MS = 60_000;

/**
 * The logs as a source of the watch: read from the deploy going live once a minute (each read bounded by LOG_PAGES),
 * so a crash signature is said within a minute, and once more over the whole window at its end. Each of judgeLogs'
 * checks is one figure; the lines they show are redacted of `judgement.secrets` and cut short.
 */
export function logsSource(
    client: RenderClient,
    target: LogsTarget,
    judgement: LogsJudgement,
): WatchSource<LogsReadings> {
    return {
        name: "logs",
        everyMs: LOGS_EVERY_MS,
        read: (range) => readLogs(client, target, range),
        judge(readings): SourceVerdict {
            const figures = judgeLogs(readings, judgement).figures.map((f) => ({
                check: "log" as const,
                status: f.status,
                line: f.line,
            }));
            return { source: "logs", figures };
        },
        unreadable: (why) => ({ check: "log", line: `Render's logs: ${why}` }),
    };
}
