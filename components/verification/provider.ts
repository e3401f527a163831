// The Verification provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts):
// the requests behind each check and the watch, judged by the pure rules in ./healthVerdict.ts, then Render's metrics
// for the watch's window, judged by ./metricsVerdict.ts.
import * as pulumi from "@pulumi/pulumi";
import { rememberAdminConfig } from "../database/sql";
import { judgeMetrics, type MetricsReadings, metricsSummary } from "./metricsVerdict";
import { readMetrics, type MetricsWindow } from "./metricsWatch";
import {
    configureRenderProvider,
    isHttpUrl,
    isUnknown,
    openRenderClient,
    RENDER_API_KEY_CONFIG,
    type RenderProvider,
    type RenderProviderState,
    serviceFailures,
} from "../render/providerSupport";
import { formatRate, judgeWindow, type Sample, type WindowVerdict, windowLost } from "./healthVerdict";
import type { HttpCheck, VerificationInputs, VerificationOutputs, Watch } from "./plan";

/** A request with no answer after this long counts as no answer. */
const REQUEST_TIMEOUT_MS = 10_000;

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One request to `url`; never throws: no answer is a sample without a status. Redirects are not followed. */
export async function probe(
    url: string,
    method: "GET" | "POST",
    startedAt: number,
    timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<Sample> {
    const sent = performance.now();
    const at = sent - startedAt;
    try {
        // An empty JSON body: a register endpoint that should be closed but is not refuses it as invalid, creating no user.
        const init: RequestInit =
            method === "POST"
                ? { method, body: "{}", headers: { "Content-Type": "application/json" }, redirect: "manual" }
                : { method, redirect: "manual" };
        const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
        await response.arrayBuffer();
        return { at, status: response.status, ms: performance.now() - sent };
    } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause;
        const name = (err as Error).name;
        const error =
            name === "TimeoutError" || name === "AbortError"
                ? `no answer within ${timeoutMs / 1000} s`
                : (cause?.code ?? (err as Error).message);
        return { at, ms: performance.now() - sent, error };
    }
}

/** What a check saw: whether the expected status came, after how many tries, and the last answer. */
export interface CheckOutcome {
    readonly ok: boolean;
    readonly line: string;
}

/** Asks until the expected status comes or `timeoutMs` passes; the outcome names what was seen last. */
export async function runCheck(serviceUrl: string, check: HttpCheck, timeoutMs: number): Promise<CheckOutcome> {
    const url = serviceUrl.replace(/\/+$/, "") + check.path;
    const startedAt = performance.now();
    const pollMs = Math.min(1_000, Math.max(50, timeoutMs / 20));
    let tries = 0;
    for (;;) {
        const sample = await probe(
            url,
            check.method,
            startedAt,
            Math.min(REQUEST_TIMEOUT_MS, Math.max(timeoutMs, 1_000)),
        );
        tries++;
        const seen = sample.status === undefined ? `got no answer (${sample.error})` : `answered ${sample.status}`;
        if (sample.status === check.expectStatus) {
            const slow = check.maxResponseMs !== undefined && sample.ms > check.maxResponseMs;
            if (!slow) {
                return {
                    ok: true,
                    line: `${check.name}: ${check.method} ${check.path} ${seen} in ${Math.round(sample.ms)} ms (${check.because})`,
                };
            }
            // The right answer, too late: the runbook alerts on responses over 2 s, so this is not a healthy app.
            return {
                ok: false,
                line:
                    `${check.name}: ${check.method} ${url} ${seen} but took ${Math.round(sample.ms)} ms, over the ` +
                    `${check.maxResponseMs} ms limit (${check.because}, but too slowly)`,
            };
        }
        const elapsed = performance.now() - startedAt;
        if (elapsed + pollMs >= timeoutMs) {
            return {
                ok: false,
                line:
                    `${check.name}: ${check.method} ${url} ${seen}, expected ${check.expectStatus} ` +
                    `(${check.because}); still so after ${tries} tr${tries === 1 ? "y" : "ies"} over ${(elapsed / 1000).toFixed(1)} s`,
            };
        }
        await sleep(pollMs);
    }
}

/**
 * Watches `watch.path` for `watch.seconds`, about once a second (ten times over a shorter window), and judges it.
 * Stops early once the window can no longer pass, so a failed deploy is reported without waiting out five minutes.
 */
export async function runWatch(serviceUrl: string, watch: Watch): Promise<WindowVerdict> {
    const url = serviceUrl.replace(/\/+$/, "") + watch.path;
    const windowMs = watch.seconds * 1000;
    const intervalMs = Math.min(1_000, windowMs / 10);
    const plannedSamples = Math.ceil(windowMs / intervalMs);
    const startedAt = performance.now();
    const samples: Sample[] = [];
    for (let tick = 0; tick < plannedSamples; tick++) {
        const wait = startedAt + tick * intervalMs - performance.now();
        if (wait > 0) await sleep(wait);
        if (performance.now() - startedAt >= windowMs) break;
        samples.push(await probe(url, "GET", startedAt));
        if (windowLost(samples, watch, plannedSamples)) break;
    }
    return judgeWindow(samples, watch);
}

/** A verification that found the action not in effect: names each failed check and what it saw. */
export function verificationFailure(serviceUrl: string, deployId: string, failures: readonly string[]): string {
    return (
        `verify: after deploy ${deployId}, ${serviceUrl} failed ${failures.length === 1 ? "a check" : `${failures.length} checks`}; ` +
        `the action did not take effect as the runbook requires:\n` +
        failures.map((f) => `  - ${f}`).join("\n")
    );
}

/**
 * Runs the checks in order, then the watch. Returns one line per check and one for the watch; throws with every
 * failed check when any fails (the switch checks run only once /healthz answers, and the watch only if all passed).
 * Reads no metrics: see verifyDeploy.
 */
export async function runVerification(inputs: VerificationInputs, log: (line: string) => void): Promise<string[]> {
    return (await verifyDeploy(inputs, log)).results;
}

/** Reads Render's metrics (and max_connections) for the watch's window. */
export type MetricsReader = (window: MetricsWindow) => Promise<MetricsReadings>;

/** What a verification saw: one line per check and the watch (and the metrics' summary), and one line per metric. */
export interface VerificationRun {
    readonly results: string[];
    readonly metrics: string[];
}

/**
 * runVerification, and after the /healthz watch Render's metrics for the same window when `readMetricsFor` is given:
 * a threshold crossed (or a figure that cannot be judged) fails the verification naming the metric and the figure.
 */
export async function verifyDeploy(
    inputs: VerificationInputs,
    log: (line: string) => void,
    readMetricsFor?: MetricsReader,
): Promise<VerificationRun> {
    const { serviceUrl, deployId, checks, watch } = inputs;
    const metrics: string[] = [];
    const timeoutMs = inputs.checkTimeoutSeconds * 1000;
    const startedAt = performance.now();
    const since = () => Math.round((performance.now() - startedAt) / 1000);
    const [health, ...switches] = checks;
    const results: string[] = [];
    const failed: string[] = [];
    const healthOutcome = await runCheck(serviceUrl, health, timeoutMs);
    log(healthOutcome.line);
    (healthOutcome.ok ? results : failed).push(healthOutcome.line);
    if (healthOutcome.ok) {
        // The switches are independent: asked side by side, a two-switch failure costs one timeout, not two.
        for (const outcome of await Promise.all(switches.map((check) => runCheck(serviceUrl, check, timeoutMs)))) {
            log(outcome.line);
            (outcome.ok ? results : failed).push(outcome.line);
        }
    }
    if (failed.length === 0) {
        // Said before the watch: the on-call engineer knows the action took effect without waiting out the window.
        const live = switches.map((check) => check.proves).filter((name): name is string => !!name);
        const what =
            live.length > 0
                ? `${live.join(" and ")} ${live.length === 1 ? "is" : "are"}`
                : "deploy " + deployId + " is";
        log(
            `${what} live and verified at +${since()} s; watching ${watch.path} until +${since() + watch.seconds} s ` +
                `(errors at most ${formatRate(watch.maxErrorRate)}, responses within ${watch.maxResponseMs} ms)` +
                (readMetricsFor ? ", then Render's metrics for that window" : ""),
        );
        const watchedFrom = new Date();
        const verdict = await runWatch(serviceUrl, watch);
        const line = `watch: GET ${watch.path} for ${watch.seconds} s: ${verdict.summary}`;
        log(line);
        if (verdict.ok) results.push(line);
        else failed.push(...verdict.failures.map((f) => `watch (${watch.seconds} s): ${f}; ${verdict.summary}`));
        if (readMetricsFor) {
            // Read even when the watch failed (it may have stopped early): the figures say what else was wrong.
            const seen = await watchMetrics(readMetricsFor, { start: watchedFrom, end: new Date() }, inputs, log);
            metrics.push(...seen.lines);
            if (seen.failures.length === 0) results.push(seen.summary);
            else failed.push(...seen.failures.map((f) => `metrics (${watch.seconds} s): ${f}`));
        }
    }
    if (failed.length > 0) throw new Error(verificationFailure(serviceUrl, deployId, failed));
    return { results, metrics };
}

/** Render's metrics for the window, judged: one line per metric, a summary line, and the lines that fail. */
async function watchMetrics(
    readMetricsFor: MetricsReader,
    window: MetricsWindow,
    inputs: VerificationInputs,
    log: (line: string) => void,
): Promise<{ lines: string[]; summary: string; failures: string[] }> {
    let readings: MetricsReadings;
    try {
        readings = await readMetricsFor(window);
    } catch (err) {
        const line = `could not read Render's metrics for the window: ${(err as Error).message}`;
        log(`metrics: ${line}`);
        return { lines: [line], summary: line, failures: [line] };
    }
    const verdict = judgeMetrics(readings, inputs.renderMetrics?.thresholds);
    const lines = verdict.figures.map((f) => f.line);
    for (const line of lines) log(`metrics: ${line}`);
    const seconds = ((window.end.getTime() - window.start.getTime()) / 1000).toFixed(1);
    return {
        lines,
        summary: `metrics: Render's figures for ${readings.serviceId} over the ${seconds} s watched: ${metricsSummary(verdict.figures)}`,
        failures: verdict.failures,
    };
}

/** A Render Postgres id, as `databaseId` must be. */
const POSTGRES_ID = /^dpg-[0-9a-v]{20}(?:-[a-z])?$/;

function checkProblems(inputs: Partial<VerificationInputs>): pulumi.dynamic.CheckFailure[] {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const { serviceUrl, deployId, checks, watch, checkTimeoutSeconds } = inputs;
    if (!isUnknown(serviceUrl) && !isHttpUrl(serviceUrl)) {
        failures.push({
            property: "serviceUrl",
            reason: `serviceUrl must be the service's http(s) URL such as https://ahoy-indie-media.onrender.com, got ${JSON.stringify(serviceUrl)}`,
        });
    }
    if (!isUnknown(deployId) && (typeof deployId !== "string" || deployId === "")) {
        failures.push({
            property: "deployId",
            reason: `deployId must be the id of the deploy to verify (dep-...), got ${JSON.stringify(deployId)}`,
        });
    }
    if (!isUnknown(checks)) {
        if (!Array.isArray(checks) || checks.length === 0 || checks[0]?.path !== "/healthz") {
            failures.push({
                property: "checks",
                reason: "checks must be a list starting with the /healthz check (see verificationPlan)",
            });
        } else {
            for (const check of checks) {
                if (
                    typeof check?.path !== "string" ||
                    !check.path.startsWith("/") ||
                    !Number.isInteger(check.expectStatus)
                ) {
                    failures.push({
                        property: "checks",
                        reason: `check ${JSON.stringify(check?.name)} needs a path starting with "/" and a whole expected status, got ${JSON.stringify(check)}`,
                    });
                }
            }
        }
    }
    if (
        !isUnknown(watch) &&
        (typeof watch?.seconds !== "number" ||
            !(watch.seconds > 0) ||
            typeof watch.path !== "string" ||
            !watch.path.startsWith("/"))
    ) {
        failures.push({
            property: "watch",
            reason: `watch needs a path starting with "/" and a number of seconds above 0, got ${JSON.stringify(watch)}`,
        });
    }
    if (!isUnknown(checkTimeoutSeconds) && !(typeof checkTimeoutSeconds === "number" && checkTimeoutSeconds > 0)) {
        failures.push({
            property: "checkTimeoutSeconds",
            reason: `checkTimeoutSeconds must be a number of seconds above 0, got ${JSON.stringify(checkTimeoutSeconds)}`,
        });
    }
    return [...failures, ...metricsProblems(inputs)];
}

/** The metrics inputs: the service and API URL together or not at all, and a plan the judgement can use. */
function metricsProblems(inputs: Partial<VerificationInputs>): pulumi.dynamic.CheckFailure[] {
    const { service, apiUrl, renderMetrics } = inputs;
    if ((service === undefined) !== (apiUrl === undefined)) {
        return [
            {
                property: service === undefined ? "service" : "apiUrl",
                reason: "service and apiUrl go together: both, for the watch to read Render's metrics, or neither",
            },
        ];
    }
    const failures = service === undefined ? [] : serviceFailures(service, apiUrl);
    if (renderMetrics === undefined || isUnknown(renderMetrics)) return failures;
    const { databaseId, thresholds, expected5xx } = renderMetrics;
    if (databaseId !== undefined && !isUnknown(databaseId) && !POSTGRES_ID.test(String(databaseId))) {
        failures.push({
            property: "renderMetrics",
            reason: `databaseId must be a Render Postgres id such as dpg-cr9q1q3v2p9s73b0ug4g-a, got ${JSON.stringify(databaseId)}`,
        });
    }
    const limits = Object.values(thresholds ?? {});
    if (limits.length !== 5 || !limits.every((t) => typeof t === "number" && t > 0)) {
        failures.push({
            property: "renderMetrics",
            reason: `thresholds must be the runbook's five limits, each a number above 0, got ${JSON.stringify(thresholds)}`,
        });
    }
    if (
        !Array.isArray(expected5xx) ||
        !expected5xx.every((e) => typeof e?.path === "string" && Number.isInteger(e?.status))
    ) {
        failures.push({
            property: "renderMetrics",
            reason: `expected5xx must list {path, status, because}, got ${JSON.stringify(expected5xx)}`,
        });
    }
    return failures;
}

/** The inputs that, changed, run the checks again. */
const RERUN_ON: Array<keyof VerificationInputs> = ["serviceUrl", "deployId", "checks", "watch", "checkTimeoutSeconds"];
/**
 * Inputs added with the metrics: changed, they run the checks again, but not when the recorded state predates them
 * (a deploy verified before the watch read metrics is not watched again for five minutes by a no-op `up`).
 */
const RERUN_ON_IF_RECORDED: Array<keyof VerificationInputs> = ["service", "apiUrl", "renderMetrics"];

function changedInputs(a: VerificationInputs, b: VerificationInputs): Array<keyof VerificationInputs> {
    const differs = (key: keyof VerificationInputs) => JSON.stringify(a[key]) !== JSON.stringify(b[key]);
    return [...RERUN_ON.filter(differs), ...RERUN_ON_IF_RECORDED.filter((key) => key in a && differs(key))];
}

/** The inputs as recorded in the outputs: the optional ones only when given. */
function inputsOf(inputs: VerificationInputs): VerificationInputs {
    const { serviceUrl, deployId, checks, watch, checkTimeoutSeconds, service, apiUrl, renderMetrics } = inputs;
    return {
        serviceUrl,
        deployId,
        checks,
        watch,
        checkTimeoutSeconds,
        ...(service !== undefined && { service }),
        ...(apiUrl !== undefined && { apiUrl }),
        ...(renderMetrics !== undefined && { renderMetrics }),
    };
}

async function verify(provider: RenderProviderState, inputs: VerificationInputs): Promise<VerificationOutputs> {
    const { service, apiUrl } = inputs;
    const plan = inputs.renderMetrics;
    const reader: MetricsReader | undefined =
        service === undefined || apiUrl === undefined
            ? undefined
            : async (window) => {
                  const client = openRenderClient(provider, apiUrl);
                  const serviceId = await client.resolveServiceId(service);
                  return readMetrics(
                      client,
                      {
                          serviceId,
                          databaseId: plan?.databaseId,
                          askMaxConnections: plan?.askMaxConnections ?? false,
                          expected5xx: plan?.expected5xx ?? [],
                      },
                      window,
                  );
              };
    const { results, metrics } = await verifyDeploy(
        inputs,
        (line) => void pulumi.log.info(`verify ${inputs.serviceUrl}: ${line}`),
        reader,
    );
    return { ...inputsOf(inputs), results, metrics, verifiedAt: new Date().toISOString() };
}

/** The Verification provider: runs the checks on create and whenever an input (above all the deploy) changes. */
export const verificationProvider: RenderProvider<VerificationInputs, VerificationOutputs> = {
    async configure(req) {
        // The engine configures the host before anything else; a host never configured (as some tests drive it) has no
        // config to read, and the environment's RENDER_API_KEY and PG* variables are used.
        try {
            req.config.get(RENDER_API_KEY_CONFIG);
        } catch {
            return;
        }
        // The Render API key for the metrics, and the admin connection for max_connections, both read at run time.
        await configureRenderProvider.call(this, req);
        rememberAdminConfig(req.config);
    },

    async check(_olds, news) {
        return { inputs: news, failures: checkProblems(news) };
    },

    async diff(_id, olds, news) {
        // Nothing at Render is replaced: a changed input only means the checks must run again.
        return { changes: changedInputs(olds, news).length > 0, replaces: [] };
    },

    async create(inputs) {
        const outs = await verify(this, inputs);
        return { id: `verification-${inputs.deployId}`, outs };
    },

    async update(_id, _olds, news) {
        return { outs: await verify(this, news) };
    },

    async read(id, props) {
        // A verification is an event, not an object anywhere: a refresh keeps what was seen when it ran (and the
        // inputs, left out here, stay as they are, so no diff follows).
        if (!props) throw new Error(`verify:Verification ${id}: cannot refresh without its recorded state`);
        return { id, props };
    },

    async delete() {
        // Nothing to undo: the checks only read.
    },
};
