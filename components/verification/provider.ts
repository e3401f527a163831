// The Verification provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts):
// the requests behind each check and the settle that follows them, judged by the pure rules in ./healthVerdict.ts, and
// max_connections read for the watch (`npm run watch`, which watches the rest of the window after the up ends).
import * as pulumi from "@pulumi/pulumi";
import { rememberAdminConfig } from "../database/sql";
import type { MaxConnections } from "./metricsVerdict";
import { showMaxConnections } from "./metricsWatch";
import {
    isHttpUrl,
    isUnknown,
    RENDER_API_KEY_CONFIG,
    type RenderProvider,
    serviceFailures,
} from "../render/providerSupport";
import { formatRate, judgeWindow, type Sample, type WindowVerdict, windowLost } from "./healthVerdict";
import { actionName, type HttpCheck, type VerificationInputs, type VerificationOutputs, type Watch } from "./plan";
import { probe, REQUEST_TIMEOUT_MS, urlOf } from "./probe";

export { probe } from "./probe";
function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What a check saw: whether the expected status came, after how many tries, and the last answer. */
export interface CheckOutcome {
    readonly ok: boolean;
    readonly line: string;
}

/** Asks until the expected status comes or `timeoutMs` passes; the outcome names what was seen last. */
export async function runCheck(serviceUrl: string, check: HttpCheck, timeoutMs: number): Promise<CheckOutcome> {
    const url = urlOf(serviceUrl, check.path);
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
 * Asks `watch.path` about once a second (ten times over a shorter span) for `watch.seconds`, and judges what it saw;
 * stops early once the span can no longer pass. The samples' times count from `origin` (a `performance.now()` reading).
 */
export async function runSettle(serviceUrl: string, watch: Watch, origin = performance.now()): Promise<WindowVerdict> {
    const url = urlOf(serviceUrl, watch.path);
    const windowMs = watch.seconds * 1000;
    const intervalMs = Math.min(1_000, windowMs / 10);
    const plannedSamples = Math.ceil(windowMs / intervalMs);
    const startedAt = performance.now();
    const samples: Sample[] = [];
    for (let tick = 0; tick < plannedSamples; tick++) {
        const wait = startedAt + tick * intervalMs - performance.now();
        if (wait > 0) await sleep(wait);
        if (performance.now() - startedAt >= windowMs) break;
        samples.push(await probe(url, "GET", origin));
        if (windowLost(samples, watch, plannedSamples)) break;
    }
    return judgeWindow(samples, watch);
}

/** A check that failed: "health" for /healthz and the settle, "switch" for a switch's own effect. */
export interface FailedCheck {
    readonly check: "health" | "switch";
    readonly line: string;
}

/**
 * A verification that failed, naming each failed check and what it saw. "Did not take effect" is said only of a
 * switch whose own check failed; an app that is not healthy after the deploy is said to be that.
 */
export function verificationFailure(serviceUrl: string, deployId: string, failures: readonly FailedCheck[]): string {
    const switches = failures.filter((f) => f.check === "switch").length;
    const why =
        switches > 0
            ? "the action did not take effect as the runbook requires"
            : "the app is not healthy after the deploy, as the runbook requires it to be";
    return (
        `verify: after deploy ${deployId}, ${serviceUrl} failed ${failures.length === 1 ? "a check" : `${failures.length} checks`}; ` +
        `${why}:\n` +
        failures.map((f) => `  - ${f.check}: ${f.line}`).join("\n")
    );
}

/** What a verification saw: one line per check and one for the settle, and when the action's checks passed. */
export interface VerificationRun {
    readonly results: string[];
    /** Seconds from the start of the checks to the action's checks passing. */
    readonly verifiedAfterSeconds: number;
}

/**
 * The up's part of the runbook's verification: the /healthz check, then each switch's own check (side by side, once
 * /healthz answers), then the settle: /healthz for `settleSeconds`. Logs "<action> is live and verified at +N s" as soon
 * as the checks pass, and the command that watches the rest of the window. Throws naming every failed check.
 */
export async function verifyDeploy(inputs: VerificationInputs, log: (line: string) => void): Promise<VerificationRun> {
    const { serviceUrl, deployId, checks, watch } = inputs;
    const settleSeconds = inputs.settleSeconds ?? 0;
    const timeoutMs = inputs.checkTimeoutSeconds * 1000;
    const startedAt = performance.now();
    const since = () => Math.round((performance.now() - startedAt) / 1000);
    const [health, ...switches] = checks;
    const results: string[] = [];
    const failed: FailedCheck[] = [];
    const record = (check: HttpCheck, kind: FailedCheck["check"], outcome: CheckOutcome) => {
        log(outcome.line);
        if (outcome.ok) results.push(outcome.line);
        else {
            const rest = outcome.line.slice(check.name.length + 2);
            const effect = kind === "switch" && check.proves ? `: ${check.proves} did not take effect` : "";
            failed.push({ check: kind, line: `${check.name}: ${rest}${effect}` });
        }
    };
    record(health, "health", await runCheck(serviceUrl, health, timeoutMs));
    if (failed.length === 0) {
        // The switches are independent: asked side by side, a two-switch failure costs one timeout, not two.
        const outcomes = await Promise.all(switches.map((check) => runCheck(serviceUrl, check, timeoutMs)));
        outcomes.forEach((outcome, i) => record(switches[i], "switch", outcome));
    }
    if (failed.length > 0) throw new Error(verificationFailure(serviceUrl, deployId, failed));
    const verifiedAfterSeconds = since();
    // Said before the settle: the on-call engineer knows the action took effect at once.
    const action = actionName(checks, deployId);
    const command = inputs.stack ? `npm run watch -- ${inputs.stack}` : "npm run watch -- <stack>";
    log(
        `${action} ${action.includes(" and ") ? "are" : "is"} live and verified at +${verifiedAfterSeconds} s` +
            (settleSeconds > 0
                ? `; asking ${watch.path} for ${settleSeconds} s more (errors at most ${formatRate(watch.maxErrorRate)}, ` +
                  `responses within ${watch.maxResponseMs} ms), then this up ends`
                : "") +
            `; the rest of its ${watch.seconds} s window: ${command}`,
    );
    if (settleSeconds > 0) {
        const verdict = await runSettle(serviceUrl, { ...watch, seconds: settleSeconds }, startedAt);
        const line = `settle: GET ${watch.path} for ${settleSeconds} s: ${verdict.summary}`;
        log(line);
        if (!verdict.ok) {
            throw new Error(
                verificationFailure(
                    serviceUrl,
                    deployId,
                    verdict.failures.map((f) => ({
                        check: "health",
                        line: `settle (${settleSeconds} s): ${f}; ${verdict.summary}`,
                    })),
                ),
            );
        }
        results.push(line);
    }
    return { results, verifiedAfterSeconds };
}

/** runVerification's lines: the checks and the settle, for callers that want only what was seen. */
export async function runVerification(inputs: VerificationInputs, log: (line: string) => void): Promise<string[]> {
    return (await verifyDeploy(inputs, log)).results;
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
    const { settleSeconds, liveAt } = inputs;
    if (
        settleSeconds !== undefined &&
        !isUnknown(settleSeconds) &&
        !(typeof settleSeconds === "number" && settleSeconds >= 0)
    ) {
        failures.push({
            property: "settleSeconds",
            reason: `settleSeconds must be a number of seconds, 0 or more, got ${JSON.stringify(settleSeconds)}`,
        });
    }
    if (liveAt !== undefined && !isUnknown(liveAt) && Number.isNaN(Date.parse(String(liveAt)))) {
        failures.push({
            property: "liveAt",
            reason: `liveAt must be when the deploy went live, an RFC 3339 time such as 2026-12-01T03:04:05Z, got ${JSON.stringify(liveAt)}`,
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
 * Inputs added later: changed, they run the checks again, but not when the recorded state predates them (a deploy
 * verified before the settle, or before the metrics plan, is not verified again by a no-op `up`). `stack` is never
 * among them: it only names the command in a log line.
 */
const RERUN_ON_IF_RECORDED: Array<keyof VerificationInputs> = [
    "service",
    "apiUrl",
    "renderMetrics",
    "settleSeconds",
    "liveAt",
];

function changedInputs(a: VerificationInputs, b: VerificationInputs): Array<keyof VerificationInputs> {
    const differs = (key: keyof VerificationInputs) => JSON.stringify(a[key]) !== JSON.stringify(b[key]);
    return [...RERUN_ON.filter(differs), ...RERUN_ON_IF_RECORDED.filter((key) => key in a && differs(key))];
}

/** The inputs as recorded in the outputs: the optional ones only when given. */
function inputsOf(inputs: VerificationInputs): VerificationInputs {
    const { serviceUrl, deployId, checks, watch, checkTimeoutSeconds, service, apiUrl, renderMetrics } = inputs;
    const { settleSeconds, liveAt, stack } = inputs;
    return {
        serviceUrl,
        deployId,
        checks,
        watch,
        checkTimeoutSeconds,
        ...(settleSeconds !== undefined && { settleSeconds }),
        ...(liveAt !== undefined && { liveAt }),
        ...(stack !== undefined && { stack }),
        ...(service !== undefined && { service }),
        ...(apiUrl !== undefined && { apiUrl }),
        ...(renderMetrics !== undefined && { renderMetrics }),
    };
}

/** max_connections for the watch's connections figure, read here where the admin connection is (see plan.ts). */
async function maxConnectionsFor(inputs: VerificationInputs): Promise<MaxConnections | undefined> {
    const plan = inputs.renderMetrics;
    if (!plan?.databaseId) return undefined;
    if (!plan.askMaxConnections) {
        // Render's API has no such figure (its Postgres object carries the plan, not the limit), and a stack that does
        // not manage the database has no connection to ask it with.
        return {
            notApplicable:
                "Render's API does not give it and the stack does not manage the database (databaseAppHost unset)",
        };
    }
    try {
        return await showMaxConnections();
    } catch (err) {
        return { unreadable: (err as Error).message };
    }
}

async function verify(inputs: VerificationInputs): Promise<VerificationOutputs> {
    // Read beside the checks: the settle's seconds cover it.
    const [run, maxConnections] = await Promise.all([
        verifyDeploy(inputs, (line) => void pulumi.log.info(`verify ${inputs.serviceUrl}: ${line}`)),
        maxConnectionsFor(inputs),
    ]);
    return {
        ...inputsOf(inputs),
        results: run.results,
        verifiedAfterSeconds: run.verifiedAfterSeconds,
        verifiedAt: new Date().toISOString(),
        ...(maxConnections !== undefined && { maxConnections }),
    };
}

/** The Verification provider: runs the checks on create and whenever an input (above all the deploy) changes. */
export const verificationProvider: RenderProvider<VerificationInputs, VerificationOutputs> = {
    async configure(req) {
        // The engine configures the host before anything else; a host never configured (as some tests drive it) has no
        // config to read, and the environment's PG* variables are used. The checks ask the app only, so no Render key
        // is read here: only the admin connection, for max_connections.
        try {
            req.config.get(RENDER_API_KEY_CONFIG);
        } catch {
            return;
        }
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
        const outs = await verify(inputs);
        return { id: `verification-${inputs.deployId}`, outs };
    },

    async update(_id, _olds, news) {
        return { outs: await verify(news) };
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
