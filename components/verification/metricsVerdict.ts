// Pure: Render's metrics over a watch window, judged against the runbook's alert thresholds, one figure per metric.
import type { MetricSeries } from "../../lib/render/client";

/** The runbook's "Key Metrics to Watch", as limits a figure must not cross. */
export interface MetricThresholds {
    /** "Response time > 2 seconds": the p95 of any bucket above this many milliseconds. */
    readonly maxP95Ms: number;
    /** "Error rate > 5%": 5xx answers as a share of all requests. */
    readonly maxErrorRate: number;
    /** "Memory usage > 90%": memory in use as a share of the instance's limit. */
    readonly maxMemoryShare: number;
    /** "Disk space < 20% free": the persistent disk's free share. */
    readonly minDiskFreeShare: number;
    /** "Database connections > 80%": active connections as a share of max_connections. */
    readonly maxConnectionsShare: number;
}

export const RUNBOOK_THRESHOLDS: MetricThresholds = {
    maxP95Ms: 2_000,
    maxErrorRate: 0.05,
    maxMemoryShare: 0.9,
    minDiskFreeShare: 0.2,
    maxConnectionsShare: 0.8,
};

/** The latency quantile the watch asks Render for. */
export const LATENCY_QUANTILE = 0.95;

export type MetricName = "response time" | "error rate" | "memory" | "disk" | "database connections";

/**
 * Only `crossed` fails the watch. `not reported yet` is a figure Render has not reported (for the window, or for its
 * newest bucket: Render's metrics lag behind) while the watch can still wait for it; once the watch stops waiting it is
 * `could not be judged`, as is a figure Render gives in units that do not compare: reported, counted, neither a pass
 * nor a failure. `not applicable` is a metric the service does not have (no disk, no databaseId): said so, never
 * counted as passed.
 */
export type FigureStatus = "ok" | "crossed" | "not applicable" | "not reported yet" | "could not be judged";

/** One metric's figure and what it says against its threshold. */
export interface MetricFigure {
    readonly metric: MetricName;
    readonly status: FigureStatus;
    /** The figure judged: milliseconds for response time, a share from 0 to 1 for the rest (disk: the free share). */
    readonly value?: number;
    /** E.g. "memory: 93.1% of the 512 MB limit, over 90%". */
    readonly line: string;
    /** What Render has not reported at all (e.g. "memory figures"), for a figure with no data in the window. */
    readonly missing?: string;
}

/** Requests the runbook's action answers with a 5xx on purpose (register's 503 while DISABLE_SIGNUP is on). */
export interface Expected5xx {
    readonly path: string;
    readonly status: number;
    /** The switch that makes them, for the figure's line. */
    readonly because: string;
}

/** Why max_connections is not a number: not knowable here (not applicable), or it could not be read (unknown). */
export type MaxConnections = number | { readonly notApplicable: string } | { readonly unreadable: string };

/** The range the metrics were read for, and the width of Render's buckets. */
export interface MetricsWindow {
    /** RFC 3339. */
    readonly start: string;
    /** RFC 3339: the newest bucket is the one this falls in. */
    readonly end: string;
    readonly resolutionSeconds: number;
}

/** What Render (and the database) answered for the watch window. */
export interface MetricsReadings {
    /** The service (srv-...), for the lines that say no data came. */
    readonly serviceId: string;
    /** The range read; without it no bucket is required (the figures are judged on what is there). */
    readonly window?: MetricsWindow;
    /** /metrics/http-requests aggregated by statusCode. */
    readonly requests: readonly MetricSeries[];
    /** The same, filtered to each path whose 5xx answers are expected, to be left out of the error rate. */
    readonly expected?: ReadonlyArray<{ readonly expected: Expected5xx; readonly requests: readonly MetricSeries[] }>;
    /** /metrics/http-latency at quantile 0.95. */
    readonly latency: readonly MetricSeries[];
    readonly memory: readonly MetricSeries[];
    readonly memoryLimit: readonly MetricSeries[];
    readonly diskUsage: readonly MetricSeries[];
    readonly diskCapacity: readonly MetricSeries[];
    /** Undefined when the stack names no database (no databaseId). */
    readonly database?: {
        readonly id: string;
        /** /metrics/active-connections for the database. */
        readonly connections: readonly MetricSeries[];
        readonly maxConnections: MaxConnections;
    };
}

/** The metrics' judgement: passed or not, every figure, and the lines of those that fail. */
export interface MetricsVerdict {
    /** No figure crossed its threshold. */
    readonly ok: boolean;
    readonly figures: MetricFigure[];
    /** The lines of the figures that crossed. */
    readonly failures: string[];
    /** How many figures Render has not reported (yet): the watch may wait for them while it is `interim`. */
    readonly notReportedYet: number;
    /** How many figures could not be judged: reported, neither a pass nor a failure. */
    readonly couldNotBeJudged: number;
}

/**
 * Whether the watch can still wait for what Render has not reported (`interim`), or this is its last word (`final`):
 * a figure still missing (or missing its newest bucket) is then "could not be judged".
 */
export type Stage = "interim" | "final";

/**
 * Every metric judged, in the runbook's order; fails (ok false) only when one crossed its threshold. With the readings'
 * window, a figure whose data does not reach the window's newest bucket is not reported yet (interim), or could not be
 * judged (final), unless what Render did report already crossed: a crossing stands whatever comes later.
 */
export function judgeMetrics(
    readings: MetricsReadings,
    thresholds = RUNBOOK_THRESHOLDS,
    stage: Stage = "final",
): MetricsVerdict {
    const p95 = p95Series(readings.latency);
    const judged: Array<[MetricFigure, readonly MetricSeries[]]> = [
        [judgeLatency(readings.latency, readings.serviceId, thresholds.maxP95Ms), p95],
        [
            judgeErrorRate(readings.requests, readings.expected ?? [], readings.serviceId, thresholds.maxErrorRate),
            readings.requests,
        ],
        [judgeConnections(readings.database, thresholds.maxConnectionsShare), readings.database?.connections ?? []],
        [
            judgeMemory(readings.memory, readings.memoryLimit, readings.serviceId, thresholds.maxMemoryShare),
            readings.memory,
        ],
        [judgeDisk(readings.diskUsage, readings.diskCapacity, thresholds.minDiskFreeShare), readings.diskUsage],
    ];
    const figures = judged.map(([figure, series]) => covered(figure, series, readings.window, stage));
    const failures = figures.filter((f) => failing(f.status)).map((f) => f.line);
    return {
        ok: failures.length === 0,
        figures,
        failures,
        notReportedYet: figures.filter((f) => f.status === "not reported yet").length,
        couldNotBeJudged: figures.filter((f) => f.status === "could not be judged").length,
    };
}

/** True for the status that fails the watch: a threshold crossed. */
export function failing(status: FigureStatus): boolean {
    return status === "crossed";
}

/** The start (ms since the epoch) of the bucket `at` falls in, Render's buckets being `resolutionSeconds` wide. */
export function bucketStart(at: number, resolutionSeconds: number): number {
    const width = resolutionSeconds * 1000;
    return Math.floor(at / width) * width;
}

/**
 * A figure against what Render has reported of the window: no data at all is not reported yet (interim) or could not
 * be judged (final); an ok figure whose series stop before the newest bucket is the same, with what was seen until then.
 * A crossing, a not applicable and a figure that could not be judged for another reason stand as they are.
 */
function covered(
    figure: MetricFigure,
    series: readonly MetricSeries[],
    window: MetricsWindow | undefined,
    stage: Stage,
): MetricFigure {
    const { metric } = figure;
    if (figure.missing !== undefined) {
        return stage === "interim"
            ? {
                  metric,
                  status: "not reported yet",
                  missing: figure.missing,
                  line: `${metric}: not reported yet: Render has given no ${figure.missing} for the window so far (its metrics lag behind)`,
              }
            : {
                  metric,
                  status: "could not be judged",
                  missing: figure.missing,
                  line: `${metric}: could not be judged: Render reported no ${figure.missing} for the window`,
              };
    }
    if (figure.status !== "ok" || window === undefined) return figure;
    const newest = bucketStart(Date.parse(window.end) - 1, window.resolutionSeconds);
    const last = lastReported(series);
    if (last === undefined || last >= newest) return figure;
    const until = clock(last + window.resolutionSeconds * 1000);
    const seen = figure.line.slice(metric.length + 2);
    return stage === "interim"
        ? {
              ...figure,
              status: "not reported yet",
              line: `${metric}: not reported yet after ${until}, the window ending ${clock(Date.parse(window.end))}; until then ${seen}`,
          }
        : {
              ...figure,
              status: "could not be judged",
              line: `${metric}: could not be judged: Render reported nothing after ${until}, the window ending ${clock(Date.parse(window.end))}; until then ${seen}`,
          };
}

/** The newest point's bucket start among the series (ms since the epoch), or undefined when they hold none. */
function lastReported(series: readonly MetricSeries[]): number | undefined {
    let last: number | undefined;
    for (const s of series) for (const p of s.values) last = Math.max(last ?? -Infinity, Date.parse(p.timestamp));
    return last;
}

/** 03:04:30 UTC: the time of day a bucket starts or ends, as the dashboard's graphs label it. */
function clock(ms: number): string {
    return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

/** The figures as one line, e.g. for the status update: "response time: p95 41 ms, within 2 s; error rate: ...". */
export function metricsSummary(figures: readonly MetricFigure[]): string {
    return figures.map((f) => f.line).join("; ");
}

/** Render answers one series per quantile asked; should it send others too, only the p95 ones count. */
function p95Series(series: readonly MetricSeries[]): MetricSeries[] {
    return series.filter((s) => {
        const q = label(s, "quantile");
        return q === undefined || Number(q) === LATENCY_QUANTILE;
    });
}

/** The worst p95 of the window's buckets against the limit. */
export function judgeLatency(series: readonly MetricSeries[], serviceId: string, maxMs: number): MetricFigure {
    const metric = "response time";
    const p95 = p95Series(series);
    let worst: number | undefined;
    for (const s of p95) {
        if (s.values.length === 0) continue;
        const scale = msPer(s.unit);
        if (scale === undefined) {
            return unknown(metric, `Render gave latency in "${s.unit}", which is not a unit of time this reads`);
        }
        for (const point of s.values) worst = Math.max(worst ?? -Infinity, point.value * scale);
    }
    if (worst === undefined) return noData(metric, "latency figures", serviceId);
    const crossed = worst > maxMs;
    const threshold = formatMs(maxMs);
    return {
        metric,
        status: crossed ? "crossed" : "ok",
        value: worst,
        line: `${metric}: p95 ${formatMsAgainst(worst, maxMs)}, ${crossed ? "over" : "within"} ${threshold}`,
    };
}

/** 5xx answers as a share of all requests, less those the action answers with a 5xx on purpose. */
export function judgeErrorRate(
    series: readonly MetricSeries[],
    expected: ReadonlyArray<{ readonly expected: Expected5xx; readonly requests: readonly MetricSeries[] }>,
    serviceId: string,
    maxRate: number,
): MetricFigure {
    const metric = "error rate";
    const counted = countByStatus(series);
    if (typeof counted === "string") return unknown(metric, counted);
    const total = sum([...counted.values()]);
    if (total === 0) return noData(metric, "request counts", serviceId);
    const fiveXx = (counts: ReadonlyMap<string, number>) =>
        sum([...counts].filter(([status]) => status.startsWith("5")).map(([, n]) => n));
    let errors = fiveXx(counted);
    const leftOut: string[] = [];
    for (const { expected: why, requests } of expected) {
        const byStatus = countByStatus(requests);
        if (typeof byStatus === "string") return unknown(metric, byStatus);
        // Never more than the whole service answered with that status: the two queries are not one snapshot.
        const on = Math.min(byStatus.get(String(why.status)) ?? 0, counted.get(String(why.status)) ?? 0, errors);
        if (on <= 0) continue;
        errors -= on;
        leftOut.push(`${formatCount(on)} x ${why.status} from ${why.path} left out: ${why.because}`);
    }
    const rate = errors / total;
    const crossed = rate > maxRate;
    const noun = countNoun(series);
    const detail = `${formatCount(errors)} of ${formatCount(total)} ${noun}${leftOut.length ? `; ${leftOut.join("; ")}` : ""}`;
    return {
        metric,
        status: crossed ? "crossed" : "ok",
        value: rate,
        line: `${metric}: ${formatShareAgainst(rate, maxRate)} 5xx (${detail}), ${crossed ? "over" : "within"} ${formatShare(maxRate)}`,
    };
}

/** The highest use of any instance's memory in the window, against that instance's limit. */
export function judgeMemory(
    used: readonly MetricSeries[],
    limits: readonly MetricSeries[],
    serviceId: string,
    maxShare: number,
): MetricFigure {
    const metric = "memory";
    const withData = used.filter((s) => s.values.length > 0);
    if (withData.length === 0) return noData(metric, "memory figures", serviceId);
    let worst: { share: number; limit: number; instance?: string } | undefined;
    for (const s of withData) {
        const instance = label(s, "instance");
        const sameInstance = limits.filter((l) => l.values.length > 0 && label(l, "instance") === instance);
        const candidates = sameInstance.length > 0 ? sameInstance : limits.filter((l) => l.values.length > 0);
        if (candidates.length !== 1) {
            return unknown(
                metric,
                candidates.length === 0
                    ? `Render gave memory figures but no memory limit for ${serviceId} in the window`
                    : `Render gave ${candidates.length} memory limits and none for instance ${instance ?? "(unnamed)"}`,
            );
        }
        const usedBytes = bytes(max(s.values.map((p) => p.value)), s.unit);
        const limitBytes = bytes(latest(candidates[0]), candidates[0].unit);
        if (usedBytes === undefined || limitBytes === undefined) {
            return unknown(metric, `memory in "${s.unit}" and its limit in "${candidates[0].unit}" do not compare`);
        }
        if (!(limitBytes > 0)) return unknown(metric, `Render gave a memory limit of ${limitBytes} bytes`);
        const share = usedBytes / limitBytes;
        if (!worst || share > worst.share) worst = { share, limit: limitBytes, instance };
    }
    const { share, limit, instance } = worst as { share: number; limit: number; instance?: string };
    const crossed = share > maxShare;
    const which = withData.length > 1 && instance ? ` (instance ${instance})` : "";
    return {
        metric,
        status: crossed ? "crossed" : "ok",
        value: share,
        line:
            `${metric}: ${formatShareAgainst(share, maxShare)} of the ${formatBytes(limit)} limit${which}, ` +
            `${crossed ? "over" : "within"} ${formatShare(maxShare)}`,
    };
}

/** The persistent disk's lowest free share in the window; not applicable when the service has no disk. */
export function judgeDisk(
    usage: readonly MetricSeries[],
    capacity: readonly MetricSeries[],
    minFree: number,
): MetricFigure {
    const metric = "disk";
    const used = usage.filter((s) => s.values.length > 0);
    const size = capacity.filter((s) => s.values.length > 0);
    if (used.length === 0 && size.length === 0) {
        return {
            metric,
            status: "not applicable",
            line: `${metric}: not applicable (the service has no persistent disk)`,
        };
    }
    if (used.length === 0 || size.length === 0) {
        return unknown(
            metric,
            `Render gave the disk's ${used.length === 0 ? "capacity but not its usage" : "usage but not its capacity"}`,
        );
    }
    const usedBytes = bytes(max(used.flatMap((s) => s.values.map((p) => p.value))), used[0].unit);
    const sizeBytes = bytes(min(size.map(latest)), size[0].unit);
    if (usedBytes === undefined || sizeBytes === undefined) {
        return unknown(metric, `disk usage in "${used[0].unit}" and capacity in "${size[0].unit}" do not compare`);
    }
    if (!(sizeBytes > 0)) return unknown(metric, `Render gave a disk capacity of ${sizeBytes} bytes`);
    const free = Math.max(0, (sizeBytes - usedBytes) / sizeBytes);
    const crossed = free < minFree;
    return {
        metric,
        status: crossed ? "crossed" : "ok",
        value: free,
        line:
            `${metric}: ${formatShareAgainst(free, minFree)} free (${formatBytes(usedBytes)} of ${formatBytes(sizeBytes)} used), ` +
            `${crossed ? "under" : "at least"} ${formatShare(minFree)}`,
    };
}

/** The most connections open in the window against max_connections; not applicable without a database. */
export function judgeConnections(database: MetricsReadings["database"], maxShare: number): MetricFigure {
    const metric = "database connections";
    if (!database) return { metric, status: "not applicable", line: `${metric}: not applicable (no databaseId)` };
    const points = database.connections.flatMap((s) => s.values.map((p) => p.value));
    if (points.length === 0) return noData(metric, "active connections", database.id);
    const active = max(points);
    const limit = database.maxConnections;
    if (typeof limit !== "number") {
        if ("notApplicable" in limit) {
            return {
                metric,
                status: "not applicable",
                line: `${metric}: not applicable (${formatCount(active)} active; max_connections unknown: ${limit.notApplicable})`,
            };
        }
        return unknown(
            metric,
            `${formatCount(active)} active, but max_connections could not be read: ${limit.unreadable}`,
        );
    }
    if (!(limit > 0)) return unknown(metric, `max_connections is ${limit}`);
    const share = active / limit;
    const crossed = share > maxShare;
    return {
        metric,
        status: crossed ? "crossed" : "ok",
        value: share,
        line:
            `${metric}: ${formatCount(active)} of max_connections ${limit} (${formatShareAgainst(share, maxShare)}), ` +
            `${crossed ? "over" : "within"} ${formatShare(maxShare)}`,
    };
}

// ---- reading series ----

function label(series: MetricSeries, field: string): string | undefined {
    return series.labels.find((l) => l.field === field)?.value;
}

/** Request counts by status code (the label Render aggregates by), or why they cannot be told apart. */
function countByStatus(series: readonly MetricSeries[]): Map<string, number> | string {
    const counts = new Map<string, number>();
    for (const s of series) {
        const total = sum(s.values.map((p) => p.value));
        if (total === 0) continue;
        const status = label(s, "statusCode");
        if (status === undefined)
            return "Render's request counts carry no statusCode label, so 5xx cannot be told apart";
        counts.set(status, (counts.get(status) ?? 0) + total);
    }
    return counts;
}

/** "requests" when the series count requests, else their unit (a rate per bucket reads the same as a share). */
function countNoun(series: readonly MetricSeries[]): string {
    const unit = series.find((s) => s.values.length > 0)?.unit ?? "";
    return ["", "count", "requests", "unitless"].includes(unit.toLowerCase()) ? "requests" : unit;
}

/** The point with the latest timestamp. */
function latest(series: MetricSeries): number {
    return [...series.values].sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp))[0].value;
}

/** A figure Render gave no data for: judged against the window by `covered` (not reported yet, or could not be judged). */
function noData(metric: MetricName, what: string, resource: string): MetricFigure {
    return { metric, status: "not reported yet", missing: `${what} of ${resource}`, line: "" };
}

function unknown(metric: MetricName, why: string): MetricFigure {
    return { metric, status: "could not be judged", line: `${metric}: could not be judged: ${why}` };
}

const MS_PER: Record<string, number> = {
    ms: 1,
    millisecond: 1,
    milliseconds: 1,
    s: 1_000,
    sec: 1_000,
    second: 1_000,
    seconds: 1_000,
    us: 0.001,
    µs: 0.001,
    microsecond: 0.001,
    microseconds: 0.001,
};

function msPer(unit: string): number | undefined {
    return MS_PER[unit.trim().toLowerCase()];
}

// Render's plans state memory in binary units ("512 MB" is 512 MiB), so the SI-looking names read as binary.
const BYTES_PER: Record<string, number> = {
    b: 1,
    byte: 1,
    bytes: 1,
    kb: 2 ** 10,
    kib: 2 ** 10,
    mb: 2 ** 20,
    mib: 2 ** 20,
    gb: 2 ** 30,
    gib: 2 ** 30,
    tb: 2 ** 40,
    tib: 2 ** 40,
};

/** `value` in `unit` as bytes; undefined for a unit that is not one of size. */
function bytes(value: number, unit: string): number | undefined {
    const scale = BYTES_PER[unit.trim().toLowerCase()];
    return scale === undefined ? undefined : value * scale;
}

function sum(values: readonly number[]): number {
    return values.reduce((a, b) => a + b, 0);
}

function max(values: readonly number[]): number {
    return values.reduce((a, b) => Math.max(a, b), -Infinity);
}

function min(values: readonly number[]): number {
    return values.reduce((a, b) => Math.min(a, b), Infinity);
}

// ---- writing figures ----

/** 0.05 as "5%": a threshold as the runbook writes it. */
export function formatShare(share: number): string {
    return `${Number((share * 100).toFixed(4))}%`;
}

/**
 * A share as a percentage with one decimal, or more where one would read as the threshold itself ("90.0%, over 90%"
 * for 90.04% would contradict itself): a figure never shows the number it is being judged against unless it is it.
 */
export function formatShareAgainst(share: number, threshold: number): string {
    return `${digitsAgainst(share * 100, threshold * 100, 1)}%`;
}

function formatMs(ms: number): string {
    return ms % 1_000 === 0 ? `${ms / 1_000} s` : `${ms} ms`;
}

function formatMsAgainst(ms: number, threshold: number): string {
    return `${digitsAgainst(ms, threshold, 0)} ms`;
}

function digitsAgainst(value: number, threshold: number, digits: number): string {
    const limit = Number(threshold.toFixed(6));
    let shown = value.toFixed(digits);
    // Up to 15 decimals: enough to tell apart any two doubles near a threshold of the runbook's size.
    for (let d = digits + 1; value !== threshold && Number(shown) === limit && d <= 15; d++) shown = value.toFixed(d);
    return shown;
}

function formatCount(n: number): string {
    return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** 536870912 as "512 MB", 9448928051 as "8.8 GB" (binary units, as Render's plans state them). */
export function formatBytes(n: number): string {
    const units: Array<[string, number]> = [
        ["TB", 2 ** 40],
        ["GB", 2 ** 30],
        ["MB", 2 ** 20],
        ["KB", 2 ** 10],
    ];
    for (const [name, size] of units) {
        if (n >= size) return `${Number((n / size).toFixed(1))} ${name}`;
    }
    return `${Math.round(n)} B`;
}
