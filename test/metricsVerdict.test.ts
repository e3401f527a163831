// judgeMetrics: Render's metrics over a watch window against the runbook's thresholds, figure by figure.
import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
    bucketStart,
    failing,
    formatBytes,
    judgeMetrics,
    type MetricsReadings,
    metricsSummary,
    RUNBOOK_THRESHOLDS,
} from "../components/verification/metricsVerdict";
import type { MetricSeries } from "../lib/render/client";

const SERVICE = "srv-d0abcdefghijklmnopqr";
const DATABASE = "dpg-cr9q1q3v2p9s73b0ug4g-a";
const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** A series with one point per 30 s bucket from a fixed start. */
function series(values: number[], unit: string, labels: Record<string, string> = {}): MetricSeries {
    return {
        labels: Object.entries(labels).map(([field, value]) => ({ field, value })),
        values: values.map((value, i) => ({
            timestamp: new Date(Date.UTC(2025, 5, 1, 3, 0, i * 30)).toISOString(),
            value,
        })),
        unit,
    };
}

/** Requests by status code, one series per code. */
function requests(counts: Record<string, number>): MetricSeries[] {
    return Object.entries(counts).map(([status, n]) => series([n], "count", { statusCode: status }));
}

/** A healthy service: fast, no errors, a fifth of its memory, no disk, a database at 12 of 100 connections. */
function healthy(): MetricsReadings {
    return {
        serviceId: SERVICE,
        requests: [series([30, 30], "count", { statusCode: "200" })],
        latency: [series([41, 38], "ms", { quantile: "0.95" })],
        memory: [series([110 * MiB, 100 * MiB], "bytes", { instance: `${SERVICE}-00000` })],
        memoryLimit: [series([512 * MiB, 512 * MiB], "bytes", { instance: `${SERVICE}-00000` })],
        diskUsage: [],
        diskCapacity: [],
        database: { id: DATABASE, connections: [series([12, 9], "connections")], maxConnections: 100 },
    };
}

const lineOf = (readings: MetricsReadings, metric: string) => {
    const figure = judgeMetrics(readings).figures.find((f) => f.metric === metric);
    assert.ok(figure, `no ${metric} figure`);
    return figure;
};

describe("judgeMetrics", () => {
    it("a healthy window passes, with one figure per metric in the runbook's order and no disk not applicable", () => {
        const verdict = judgeMetrics(healthy());
        assert.equal(verdict.ok, true);
        assert.deepEqual(verdict.failures, []);
        assert.deepEqual(
            verdict.figures.map((f) => [f.status, f.line]),
            [
                ["ok", "response time: p95 41 ms, within 2 s"],
                ["ok", "error rate: 0.0% 5xx (0 of 60 requests), within 5%"],
                ["ok", "database connections: 12 of max_connections 100 (12.0%), within 80%"],
                ["ok", "memory: 21.5% of the 512 MB limit, within 90%"],
                ["not applicable", "disk: not applicable (the service has no persistent disk)"],
            ],
        );
        assert.equal(
            metricsSummary(verdict.figures),
            verdict.figures.map((f) => f.line).join("; "),
            "the summary is every figure's line",
        );
    });

    // Each row changes one metric of the healthy window; the figure's status and line are what the on-call reads.
    const cases: Array<[string, (r: MetricsReadings) => MetricsReadings, string, string, string]> = [
        [
            "a p95 over 2 s crosses the response time threshold",
            (r) => ({ ...r, latency: [series([300, 2450, 900], "ms", { quantile: "0.95" })] }),
            "response time",
            "crossed",
            "response time: p95 2450 ms, over 2 s",
        ],
        [
            "latency given in seconds reads the same",
            (r) => ({ ...r, latency: [series([2.45], "s")] }),
            "response time",
            "crossed",
            "response time: p95 2450 ms, over 2 s",
        ],
        [
            "a p95 of exactly 2 s is not over 2 s",
            (r) => ({ ...r, latency: [series([2000], "ms")] }),
            "response time",
            "ok",
            "response time: p95 2000 ms, within 2 s",
        ],
        [
            "a p95 just over 2 s shows the decimal that makes it over",
            (r) => ({ ...r, latency: [series([2000.4], "ms")] }),
            "response time",
            "crossed",
            "response time: p95 2000.4 ms, over 2 s",
        ],
        [
            "only the p95 series counts when Render sends other quantiles too",
            (r) => ({
                ...r,
                latency: [series([5000], "ms", { quantile: "0.99" }), series([120], "ms", { quantile: "0.95" })],
            }),
            "response time",
            "ok",
            "response time: p95 120 ms, within 2 s",
        ],
        [
            "exactly 5% 5xx is not over 5%",
            (r) => ({ ...r, requests: requests({ "200": 57, "500": 3 }) }),
            "error rate",
            "ok",
            "error rate: 5.0% 5xx (3 of 60 requests), within 5%",
        ],
        [
            "more than 5% 5xx crosses the error rate threshold; 4xx are not errors",
            (r) => ({ ...r, requests: requests({ "200": 50, "404": 6, "429": 1, "502": 1, "503": 3 }) }),
            "error rate",
            "crossed",
            "error rate: 6.6% 5xx (4 of 61 requests), over 5%",
        ],
        [
            "register's 503 while signups are off is left out of the error rate, and said so",
            (r) => ({
                ...r,
                requests: requests({ "200": 40, "503": 21 }),
                expected: [
                    {
                        expected: { path: "/api/auth/register", status: 503, because: "DISABLE_SIGNUP" },
                        requests: requests({ "503": 20 }),
                    },
                ],
            }),
            "error rate",
            "ok",
            "error rate: 1.6% 5xx (1 of 61 requests; 20 x 503 from /api/auth/register left out: DISABLE_SIGNUP), within 5%",
        ],
        [
            "memory over 90% of the limit crosses, naming the limit",
            (r) => ({ ...r, memory: [series([0.931 * 512 * MiB], "bytes", { instance: `${SERVICE}-00000` })] }),
            "memory",
            "crossed",
            "memory: 93.1% of the 512 MB limit, over 90%",
        ],
        [
            "memory in MB against a limit in MB reads the same",
            (r) => ({ ...r, memory: [series([476.672], "MB")], memoryLimit: [series([512], "MB")] }),
            "memory",
            "crossed",
            "memory: 93.1% of the 512 MB limit, over 90%",
        ],
        [
            "the worst instance counts, and is named",
            (r) => ({
                ...r,
                memory: [
                    series([100 * MiB], "bytes", { instance: "srv-a-1" }),
                    series([1900 * MiB], "bytes", { instance: "srv-a-2" }),
                ],
                memoryLimit: [
                    series([2 * GiB], "bytes", { instance: "srv-a-1" }),
                    series([2 * GiB], "bytes", { instance: "srv-a-2" }),
                ],
            }),
            "memory",
            "crossed",
            "memory: 92.8% of the 2 GB limit (instance srv-a-2), over 90%",
        ],
        [
            "a disk under 20% free crosses, with what is used of what",
            (r) => ({
                ...r,
                diskUsage: [series([8 * GiB, 8.8 * GiB], "bytes")],
                diskCapacity: [series([10 * GiB], "bytes")],
            }),
            "disk",
            "crossed",
            "disk: 12.0% free (8.8 GB of 10 GB used), under 20%",
        ],
        [
            "a disk exactly 20% free is not under 20%",
            (r) => ({ ...r, diskUsage: [series([8 * GiB], "bytes")], diskCapacity: [series([10 * GiB], "bytes")] }),
            "disk",
            "ok",
            "disk: 20.0% free (8 GB of 10 GB used), at least 20%",
        ],
        [
            "connections over 80% of max_connections cross",
            (r) => ({
                ...r,
                database: { id: DATABASE, connections: [series([70, 85], "connections")], maxConnections: 100 },
            }),
            "database connections",
            "crossed",
            "database connections: 85 of max_connections 100 (85.0%), over 80%",
        ],
        [
            "no databaseId: connections are not applicable",
            (r) => ({ ...r, database: undefined }),
            "database connections",
            "not applicable",
            "database connections: not applicable (no databaseId)",
        ],
        [
            "max_connections unknowable: the count is given, the share is not applicable",
            (r) => ({
                ...r,
                database: {
                    id: DATABASE,
                    connections: [series([95], "connections")],
                    maxConnections: { notApplicable: "no admin connection" },
                },
            }),
            "database connections",
            "not applicable",
            "database connections: not applicable (95 active; max_connections unknown: no admin connection)",
        ],
        [
            "max_connections that could not be read could not be judged, saying why",
            (r) => ({
                ...r,
                database: {
                    id: DATABASE,
                    connections: [series([95], "connections")],
                    maxConnections: { unreadable: "too many clients already" },
                },
            }),
            "database connections",
            "could not be judged",
            "database connections: could not be judged: 95 active, but max_connections could not be read: too many clients already",
        ],
        [
            "a databaseId Render gave no connections for could not be judged, naming the database",
            (r) => ({ ...r, database: { id: DATABASE, connections: [], maxConnections: 100 } }),
            "database connections",
            "could not be judged",
            `database connections: could not be judged: Render reported no active connections of ${DATABASE} for the window`,
        ],
        [
            "no memory figures at all could not be judged: neither a pass nor a failure",
            (r) => ({ ...r, memory: [], memoryLimit: [] }),
            "memory",
            "could not be judged",
            `memory: could not be judged: Render reported no memory figures of ${SERVICE} for the window`,
        ],
        [
            "memory and a limit in units that do not compare could not be judged",
            (r) => ({ ...r, memoryLimit: [series([1], "cores", { instance: `${SERVICE}-00000` })] }),
            "memory",
            "could not be judged",
            'memory: could not be judged: memory in "bytes" and its limit in "cores" do not compare',
        ],
        [
            "no requests at all: the error rate could not be judged",
            (r) => ({ ...r, requests: [] }),
            "error rate",
            "could not be judged",
            `error rate: could not be judged: Render reported no request counts of ${SERVICE} for the window`,
        ],
        [
            "request counts without a statusCode label cannot tell 5xx apart",
            (r) => ({ ...r, requests: [series([60], "count")] }),
            "error rate",
            "could not be judged",
            "error rate: could not be judged: Render's request counts carry no statusCode label, so 5xx cannot be told apart",
        ],
        [
            "disk capacity without usage could not be judged rather than pass",
            (r) => ({ ...r, diskCapacity: [series([10 * GiB], "bytes")] }),
            "disk",
            "could not be judged",
            "disk: could not be judged: Render gave the disk's capacity but not its usage",
        ],
    ];
    for (const [name, change, metric, status, line] of cases) {
        it(name, () => {
            const readings = change(healthy());
            const figure = lineOf(readings, metric);
            assert.equal(figure.line, line);
            assert.equal(figure.status, status);
            const verdict = judgeMetrics(readings);
            assert.equal(verdict.ok, !failing(figure.status), "the verdict fails exactly when this figure fails");
            assert.deepEqual(verdict.failures, failing(figure.status) ? [line] : []);
        });
    }

    it("formats sizes in the binary units Render's plans are stated in", () => {
        assert.deepEqual([512 * MiB, 2 * GiB, 8.8 * GiB, 1536, 100].map(formatBytes), [
            "512 MB",
            "2 GB",
            "8.8 GB",
            "1.5 KB",
            "100 B",
        ]);
    });
});

describe("judgeMetrics against Render's lag: the window's newest bucket", () => {
    // The window 03:00:00 to 03:01:00 at 30 s: its newest bucket starts at 03:00:30. healthy() reports both buckets.
    const windowed = (r: MetricsReadings, end = "2025-06-01T03:01:00.000Z"): MetricsReadings => ({
        ...r,
        window: { start: "2025-06-01T03:00:00.000Z", end, resolutionSeconds: 30 },
    });
    const first = (s: MetricSeries): MetricSeries => ({ ...s, values: s.values.slice(0, 1) });
    const figure = (r: MetricsReadings, metric: string, stage: "interim" | "final") => {
        const found = judgeMetrics(r, RUNBOOK_THRESHOLDS, stage).figures.find((f) => f.metric === metric);
        assert.ok(found, `no ${metric} figure`);
        return [found.status, found.line];
    };

    // Each row: the readings, the metric, then [status, line] while the watch can wait (interim) and at its end (final).
    const rows: Array<[string, MetricsReadings, string, [string, string], [string, string]]> = [
        [
            "every series reaches the newest bucket: judged at once",
            windowed(healthy()),
            "memory",
            ["ok", "memory: 21.5% of the 512 MB limit, within 90%"],
            ["ok", "memory: 21.5% of the 512 MB limit, within 90%"],
        ],
        [
            "memory missing its newest bucket: not reported yet, then could not be judged, with what came before",
            windowed({ ...healthy(), memory: healthy().memory.map(first) }),
            "memory",
            [
                "not reported yet",
                "memory: not reported yet after 03:00:30 UTC, the window ending 03:01:00 UTC; until then 21.5% of the 512 MB limit, within 90%",
            ],
            [
                "could not be judged",
                "memory: could not be judged: Render reported nothing after 03:00:30 UTC, the window ending 03:01:00 UTC; until then 21.5% of the 512 MB limit, within 90%",
            ],
        ],
        [
            "a crossing in the buckets reported stands, whatever the missing one holds",
            windowed({
                ...healthy(),
                memory: [series([0.95 * 512 * MiB], "bytes", { instance: `${SERVICE}-00000` })],
            }),
            "memory",
            ["crossed", "memory: 95.0% of the 512 MB limit, over 90%"],
            ["crossed", "memory: 95.0% of the 512 MB limit, over 90%"],
        ],
        [
            "no latency figures at all yet: not reported yet, then could not be judged",
            windowed({ ...healthy(), latency: [] }),
            "response time",
            [
                "not reported yet",
                `response time: not reported yet: Render has given no latency figures of ${SERVICE} for the window so far (its metrics lag behind)`,
            ],
            [
                "could not be judged",
                `response time: could not be judged: Render reported no latency figures of ${SERVICE} for the window`,
            ],
        ],
        [
            "the newest bucket is the one the window's end falls in: a millisecond past 03:01:00 wants 03:01:00's",
            windowed(healthy(), "2025-06-01T03:01:00.001Z"),
            "error rate",
            [
                "not reported yet",
                "error rate: not reported yet after 03:01:00 UTC, the window ending 03:01:00 UTC; until then 0.0% 5xx (0 of 60 requests), within 5%",
            ],
            [
                "could not be judged",
                "error rate: could not be judged: Render reported nothing after 03:01:00 UTC, the window ending 03:01:00 UTC; until then 0.0% 5xx (0 of 60 requests), within 5%",
            ],
        ],
        [
            "a metric the service does not have stays not applicable",
            windowed(healthy()),
            "disk",
            ["not applicable", "disk: not applicable (the service has no persistent disk)"],
            ["not applicable", "disk: not applicable (the service has no persistent disk)"],
        ],
    ];
    for (const [name, readings, metric, interim, final] of rows) {
        it(name, () => {
            assert.deepEqual(figure(readings, metric, "interim"), interim, "interim");
            assert.deepEqual(figure(readings, metric, "final"), final, "final");
        });
    }

    it("counts what is not reported yet and what could not be judged; neither fails the verdict", () => {
        const lagging = windowed({ ...healthy(), memory: healthy().memory.map(first), latency: [] });
        const interim = judgeMetrics(lagging, RUNBOOK_THRESHOLDS, "interim");
        assert.deepEqual([interim.ok, interim.notReportedYet, interim.couldNotBeJudged], [true, 2, 0]);
        const final = judgeMetrics(lagging, RUNBOOK_THRESHOLDS, "final");
        assert.deepEqual([final.ok, final.notReportedYet, final.couldNotBeJudged], [true, 0, 2]);
        assert.deepEqual(final.failures, []);
    });

    it("bucketStart aligns a time to Render's buckets from the epoch", () => {
        assert.equal(
            new Date(bucketStart(Date.parse("2025-06-01T03:00:59.999Z"), 30)).toISOString(),
            "2025-06-01T03:00:30.000Z",
        );
        assert.equal(
            new Date(bucketStart(Date.parse("2025-06-01T03:01:00.000Z"), 60)).toISOString(),
            "2025-06-01T03:01:00.000Z",
        );
    });
});

describe("judgeMetrics, properties", () => {
    /** The number a figure's line shows first (its percentage, or its milliseconds). */
    const shown = (line: string) => Number(/: (?:p95 )?(?:\d+ of max_connections \d+ \()?([\d.]+)/.exec(line)?.[1]);

    it("memory crosses exactly when used is over 90% of the limit, and the figure shown agrees with the verdict", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: MiB, max: 64 * GiB }),
                fc.double({ min: 0, max: 2, noNaN: true }),
                (limit, ratio) => {
                    const used = Math.floor(limit * ratio);
                    const figure = lineOf(
                        { ...healthy(), memory: [series([used], "bytes")], memoryLimit: [series([limit], "bytes")] },
                        "memory",
                    );
                    const over = used * 10 > limit * 9;
                    assert.equal(figure.status, over ? "crossed" : "ok");
                    assert.equal(shown(figure.line) > 90, over, figure.line);
                },
            ),
        );
    });

    it("the error rate crosses exactly when more than 1 in 20 requests were 5xx; other statuses never count", () => {
        const statuses = ["200", "201", "301", "404", "429", "500", "502", "503"];
        fc.assert(
            fc.property(fc.array(fc.nat(500), { minLength: statuses.length, maxLength: statuses.length }), (counts) => {
                const byStatus = Object.fromEntries(statuses.map((s, i) => [s, counts[i]]));
                const figure = lineOf({ ...healthy(), requests: requests(byStatus) }, "error rate");
                const total = counts.reduce((a, b) => a + b, 0);
                const errors = counts[5] + counts[6] + counts[7];
                if (total === 0) assert.equal(figure.status, "unknown");
                else {
                    assert.equal(figure.status, errors * 20 > total ? "crossed" : "ok", figure.line);
                    assert.equal(shown(figure.line) > 5, errors * 20 > total, figure.line);
                }
            }),
        );
    });

    it("connections cross exactly when over 80% of max_connections", () => {
        fc.assert(
            fc.property(fc.nat(1000), fc.integer({ min: 1, max: 1000 }), (active, max) => {
                const database = { id: DATABASE, connections: [series([active], "connections")], maxConnections: max };
                const figure = lineOf({ ...healthy(), database }, "database connections");
                assert.equal(figure.status, active * 5 > max * 4 ? "crossed" : "ok", figure.line);
            }),
        );
    });

    it("the disk crosses exactly when under 20% is free", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 1, max: 2 ** 40 }),
                fc.double({ min: 0, max: 1, noNaN: true }),
                (capacity, ratio) => {
                    const used = Math.floor(capacity * ratio);
                    const figure = lineOf(
                        {
                            ...healthy(),
                            diskUsage: [series([used], "bytes")],
                            diskCapacity: [series([capacity], "bytes")],
                        },
                        "disk",
                    );
                    assert.equal(figure.status, (capacity - used) * 5 < capacity ? "crossed" : "ok", figure.line);
                },
            ),
        );
    });

    it("response time crosses exactly when some bucket's p95 is over 2 s, in milliseconds or seconds alike", () => {
        fc.assert(
            fc.property(fc.array(fc.nat(10_000), { minLength: 1, maxLength: 20 }), (ms) => {
                const over = Math.max(...ms) > RUNBOOK_THRESHOLDS.maxP95Ms;
                const inMs = lineOf({ ...healthy(), latency: [series(ms, "ms")] }, "response time");
                const inS = lineOf(
                    {
                        ...healthy(),
                        latency: [
                            series(
                                ms.map((v) => v / 1000),
                                "s",
                            ),
                        ],
                    },
                    "response time",
                );
                assert.equal(inMs.status, over ? "crossed" : "ok");
                assert.equal(inS.status, inMs.status);
            }),
        );
    });

    it("the order Render lists series in changes nothing", () => {
        const readings: MetricsReadings = {
            ...healthy(),
            requests: requests({ "200": 90, "500": 4, "503": 3, "404": 2 }),
            memory: [
                series([100 * MiB], "bytes", { instance: "i-1" }),
                series([470 * MiB], "bytes", { instance: "i-2" }),
            ],
            memoryLimit: [
                series([512 * MiB], "bytes", { instance: "i-1" }),
                series([512 * MiB], "bytes", { instance: "i-2" }),
            ],
        };
        const expected = judgeMetrics(readings);
        const reorder = <T>(items: readonly T[]) => fc.shuffledSubarray([...items], { minLength: items.length });
        fc.assert(
            fc.property(
                reorder(readings.requests),
                reorder(readings.memory),
                reorder(readings.memoryLimit),
                (r, m, l) => {
                    assert.deepEqual(judgeMetrics({ ...readings, requests: r, memory: m, memoryLimit: l }), expected);
                },
            ),
        );
    });

    it("the verdict fails exactly when some figure crossed; not applicable and could not be judged never fail", () => {
        const variants = fc.record({
            latencyMs: fc.nat(4_000),
            errors: fc.nat(10),
            memoryShare: fc.double({ min: 0, max: 1, noNaN: true }),
            disk: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
            connections: fc.option(fc.nat(120), { nil: undefined }),
        });
        fc.assert(
            fc.property(variants, (v) => {
                const verdict = judgeMetrics({
                    ...healthy(),
                    latency: [series([v.latencyMs], "ms")],
                    requests: requests({ "200": 100, "500": v.errors }),
                    memory: [series([Math.floor(v.memoryShare * 512 * MiB)], "bytes")],
                    memoryLimit: [series([512 * MiB], "bytes")],
                    diskUsage: v.disk === undefined ? [] : [series([Math.floor(v.disk * GiB)], "bytes")],
                    diskCapacity: v.disk === undefined ? [] : [series([GiB], "bytes")],
                    database:
                        v.connections === undefined
                            ? undefined
                            : {
                                  id: DATABASE,
                                  connections: [series([v.connections], "connections")],
                                  maxConnections: 100,
                              },
                });
                const bad = verdict.figures.filter((f) => failing(f.status));
                assert.equal(verdict.ok, bad.length === 0);
                assert.deepEqual(
                    verdict.failures,
                    bad.map((f) => f.line),
                );
                for (const f of verdict.figures.filter((f) => f.status === "not applicable")) {
                    assert.match(
                        f.line,
                        /: not applicable \(/,
                        "a metric the service lacks is said to be not applicable",
                    );
                }
            }),
        );
    });
});
