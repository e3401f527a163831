// The watch's metrics source: Render's metrics for the window (read by `npm run watch`), handed to the pure judgement
// in ./metricsVerdict.ts; and max_connections, read by the up's Verification where the admin connection is.
import { MIN_METRICS_RESOLUTION_SECONDS, type MetricsQuery, type RenderClient } from "../../lib/render/client";
import {
    type Expected5xx,
    judgeMetrics,
    LATENCY_QUANTILE,
    type MaxConnections,
    type MetricsReadings,
    type MetricThresholds,
    RUNBOOK_THRESHOLDS,
} from "./metricsVerdict";
import { formatAt } from "./healthVerdict";
import type { SourceVerdict, WatchFigure } from "./watchVerdict";
import type { TimeRange, WatchSource } from "./watchRunner";

/** What to read: the service, the database if any, and the 5xx answers the action gives on purpose. */
export interface MetricsTarget {
    /** The service's srv- id. */
    readonly serviceId: string;
    /** The app's Render Postgres (dpg-...); undefined: no connections are read. */
    readonly databaseId?: string;
    /** max_connections as the up read it; undefined with a databaseId: the connections' share could not be known. */
    readonly maxConnections?: MaxConnections;
    readonly expected5xx: readonly Expected5xx[];
}

/** The watch's time range. */
export type MetricsWindow = TimeRange;

/**
 * Every metric for the window, each in one request (one more per path whose 5xx are expected), all side by side:
 * seven requests per read whatever the window's length, never one per second. A request Render fails (after the
 * client's retries) fails the read.
 */
export async function readMetrics(
    client: RenderClient,
    target: MetricsTarget,
    window: MetricsWindow,
): Promise<MetricsReadings> {
    const range = (resource: string): MetricsQuery => ({
        resource,
        startTime: window.start.toISOString(),
        endTime: window.end.toISOString(),
        resolutionSeconds: MIN_METRICS_RESOLUTION_SECONDS,
    });
    const service = range(target.serviceId);
    const [requests, expected, latency, memory, memoryLimit, diskUsage, diskCapacity, database] = await Promise.all([
        client.getHttpRequests({ ...service, aggregateBy: "statusCode" }),
        Promise.all(
            target.expected5xx.map(async (why) => ({
                expected: why,
                requests: await client.getHttpRequests({ ...service, path: why.path, aggregateBy: "statusCode" }),
            })),
        ),
        client.getHttpLatency({ ...service, quantile: LATENCY_QUANTILE }),
        client.getMemory(service),
        client.getMemoryLimit(service),
        client.getDiskUsage(service),
        client.getDiskCapacity(service),
        target.databaseId === undefined
            ? Promise.resolve(undefined)
            : client.getActiveConnections(range(target.databaseId)).then((connections) => ({
                  id: target.databaseId as string,
                  connections,
                  maxConnections: target.maxConnections ?? {
                      unreadable: "the up that verified the deploy recorded none",
                  },
              })),
    ]);
    return {
        serviceId: target.serviceId,
        window: {
            start: window.start.toISOString(),
            end: window.end.toISOString(),
            resolutionSeconds: MIN_METRICS_RESOLUTION_SECONDS,
        },
        requests,
        expected,
        latency,
        memory,
        memoryLimit,
        diskUsage,
        diskCapacity,
        database,
    };
}

/**
 * The metrics as a source of the watch: read once its window (or the part of it watched) is over, since Render's
 * figures come in buckets and lag behind; the runner asks again while some are not reported yet. A crossed figure names
 * the span of the window its figures cover.
 */
export function metricsSource(
    client: RenderClient,
    target: MetricsTarget,
    liveAt: number,
    thresholds: MetricThresholds = RUNBOOK_THRESHOLDS,
): WatchSource<MetricsReadings> {
    return {
        name: "metrics",
        read: (window) => readMetrics(client, target, window),
        judge(readings, stage): SourceVerdict {
            const verdict = judgeMetrics(readings, thresholds, stage);
            const span = readings.window
                ? `Render's figures for ${formatAt(Date.parse(readings.window.start) - liveAt)} to ` +
                  `${formatAt(Date.parse(readings.window.end) - liveAt)}`
                : "Render's figures for the window";
            const figures: WatchFigure[] = verdict.figures.map((f) => ({
                check: "metric",
                status: f.status,
                line: f.status === "crossed" ? `${f.line} (${span})` : f.line,
            }));
            return { source: "metrics", figures };
        },
        unreadable: (why) => ({ check: "metric", line: `Render's metrics: ${why}` }),
    };
}

/** `SHOW max_connections` through the admin connection the database providers use (../database/sql.ts), in the up. */
export async function showMaxConnections(): Promise<number> {
    const { connectAdmin } = require("../database/sql") as typeof import("../database/sql");
    const client = await connectAdmin();
    try {
        const { rows } = await client.query<{ max_connections: string }>("SHOW max_connections");
        const value = Number(rows[0]?.max_connections);
        if (!Number.isInteger(value) || value < 1) {
            throw new Error(`SHOW max_connections answered ${JSON.stringify(rows[0]?.max_connections)}`);
        }
        return value;
    } finally {
        await client.end().catch(() => undefined);
    }
}
