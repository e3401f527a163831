// The watch's reads, in the dynamic-provider host: Render's metrics for the watch window and the database's
// max_connections, handed to the pure judgement in ./metricsVerdict.ts.
import { MIN_METRICS_RESOLUTION_SECONDS, type MetricsQuery, type RenderClient } from "../../lib/render/client";
import { type Expected5xx, LATENCY_QUANTILE, type MaxConnections, type MetricsReadings } from "./metricsVerdict";

/** What to read: the service, the database if any, and the 5xx answers the action gives on purpose. */
export interface MetricsTarget {
    /** The service's srv- id. */
    readonly serviceId: string;
    /** The app's Render Postgres (dpg-...); undefined: no connections are read. */
    readonly databaseId?: string;
    /** Ask the database for max_connections (the stack manages it, so has an admin connection). */
    readonly askMaxConnections: boolean;
    readonly expected5xx: readonly Expected5xx[];
}

/** The watch's time range. */
export interface MetricsWindow {
    readonly start: Date;
    readonly end: Date;
}

/**
 * Every metric for the window, each in one request (one more per path whose 5xx are expected), all side by side:
 * seven requests per watch whatever its length, never one per second. A request Render fails (after the client's
 * retries) fails the read; max_connections that cannot be read is said so in the readings, beside the rest.
 */
export async function readMetrics(
    client: RenderClient,
    target: MetricsTarget,
    window: MetricsWindow,
    maxConnections: () => Promise<number> = showMaxConnections,
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
            : Promise.all([
                  client.getActiveConnections(range(target.databaseId)),
                  maxConnectionsOf(target, maxConnections),
              ]).then(([connections, max]) => ({ id: target.databaseId as string, connections, maxConnections: max })),
    ]);
    return {
        serviceId: target.serviceId,
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

async function maxConnectionsOf(target: MetricsTarget, ask: () => Promise<number>): Promise<MaxConnections> {
    if (!target.askMaxConnections) {
        // Render's API has no such figure (its Postgres object carries the plan, not the limit), and a stack that does
        // not manage the database has no connection to ask it with.
        return {
            notApplicable:
                "Render's API does not give it and the stack does not manage the database (databaseAppHost unset)",
        };
    }
    try {
        return await ask();
    } catch (err) {
        return { unreadable: (err as Error).message };
    }
}

/** `SHOW max_connections` through the admin connection the database providers use (../database/sql.ts). */
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
