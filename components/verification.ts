// The runbook's checks after a deploy, as a resource: /healthz, each kill switch's effect, then the five-minute watch
// (of /healthz, and of Render's metrics for that window against the runbook's thresholds).
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../stacks/config";
import { ModuleResource, moduleProvider } from "./dynamicProvider";
import { type Expected5xx, type MetricThresholds, RUNBOOK_THRESHOLDS } from "./metricsVerdict";

export type { VerificationInputs, VerificationOutputs } from "./verificationProvider";

/** The runbook's alert thresholds ("Error rate > 5%", "Response time > 2 seconds"). */
export const MAX_ERROR_RATE = RUNBOOK_THRESHOLDS.maxErrorRate;
export const MAX_RESPONSE_MS = RUNBOOK_THRESHOLDS.maxP95Ms;
/** How long a check may take to see the expected answer after the deploy is live (instances switch over meanwhile). */
export const DEFAULT_CHECK_TIMEOUT_SECONDS = 120;

/** The settings the checks follow: which switches must show, and how long to watch. */
export interface VerificationSettings {
    readonly disableSignup: boolean;
    readonly blockDirectMedia: boolean;
    /** A direct media path that must answer 403 while BLOCK_DIRECT_MEDIA is on, e.g. /media/probe.jpg */
    readonly mediaProbePath?: string;
    readonly stabilityWindowSeconds: number;
    /** The app's Render Postgres (dpg-...), whose connections the watch judges; undefined: not applicable. */
    readonly databaseId?: string;
    /** The stack manages the database (databaseAppHost set), so max_connections can be asked of it. */
    readonly databaseManaged?: boolean;
}

/** One request that must see one status within the check timeout. */
export interface HttpCheck {
    /** The runbook step it stands for: "healthz", "signup disabled", "direct media blocked". */
    readonly name: string;
    readonly method: "GET" | "POST";
    /** Path on the service URL, starting with "/". */
    readonly path: string;
    readonly expectStatus: number;
    /** What the expected answer proves, for the log and the failure message. */
    readonly because: string;
    /** The expected answer must also come within this long (the runbook's 2 s alert on /healthz); unset: any time. */
    readonly maxResponseMs?: number;
    /** The switch whose effect this check proves (DISABLE_SIGNUP), for the "live and verified" line. */
    readonly proves?: string;
}

/** Watching one path for a while against the runbook's thresholds. */
export interface Watch {
    readonly path: string;
    readonly seconds: number;
    readonly maxErrorRate: number;
    readonly maxResponseMs: number;
}

/** What the watch reads from Render's metrics for its window beside /healthz, and the thresholds they are held to. */
export interface RenderMetricsPlan {
    /** The app's Render Postgres (dpg-...), whose active connections are judged; undefined: not applicable. */
    readonly databaseId?: string;
    /**
     * Whether max_connections is asked of the database (`SHOW max_connections` through the admin connection, which only
     * a stack that manages the database has); Render's API does not give it.
     */
    readonly askMaxConnections: boolean;
    /** 5xx answers the action gives on purpose (register's 503 while signups are off): left out of the error rate. */
    readonly expected5xx: Expected5xx[];
    readonly thresholds: MetricThresholds;
}

/** What runs after a deploy: the checks in order, then the watch (of /healthz, then Render's metrics for its window). */
export interface VerificationPlan {
    readonly checks: HttpCheck[];
    readonly watch: Watch;
    readonly renderMetrics: RenderMetricsPlan;
}

/** The checks the settings call for: /healthz always, register 503 with DISABLE_SIGNUP, media 403 with BLOCK_DIRECT_MEDIA. */
export function verificationPlan(settings: VerificationSettings): VerificationPlan {
    const checks: HttpCheck[] = [
        {
            name: "healthz",
            method: "GET",
            path: "/healthz",
            expectStatus: 200,
            because: "the app is up",
            maxResponseMs: MAX_RESPONSE_MS,
        },
    ];
    if (settings.disableSignup) {
        checks.push({
            name: "signup disabled",
            method: "POST",
            path: "/api/auth/register",
            expectStatus: 503,
            because: "DISABLE_SIGNUP=true refuses new signups",
            proves: "DISABLE_SIGNUP",
        });
    }
    if (settings.blockDirectMedia) {
        if (!settings.mediaProbePath) {
            throw new Error(
                "mediaProbePath: BLOCK_DIRECT_MEDIA is on, so verification needs a direct media path that must answer 403 " +
                    "(e.g. pulumi config set mediaProbePath /media/uploads/probe.jpg); got nothing",
            );
        }
        checks.push({
            name: "direct media blocked",
            method: "GET",
            path: settings.mediaProbePath,
            expectStatus: 403,
            because: "BLOCK_DIRECT_MEDIA=true refuses direct media URLs",
            proves: "BLOCK_DIRECT_MEDIA",
        });
    }
    return {
        checks,
        watch: {
            path: "/healthz",
            seconds: settings.stabilityWindowSeconds,
            maxErrorRate: MAX_ERROR_RATE,
            maxResponseMs: MAX_RESPONSE_MS,
        },
        renderMetrics: {
            ...(settings.databaseId ? { databaseId: settings.databaseId } : {}),
            askMaxConnections: !!settings.databaseId && !!settings.databaseManaged,
            expected5xx: settings.disableSignup
                ? [{ path: "/api/auth/register", status: 503, because: "DISABLE_SIGNUP=true refuses signups with 503" }]
                : [],
            thresholds: RUNBOOK_THRESHOLDS,
        },
    };
}

/** The stack settings verification reads. */
export type VerificationConfig = Pick<
    StackConfig,
    | "verify"
    | "MAINTENANCE_PAGE"
    | "serviceUrl"
    | "DISABLE_SIGNUP"
    | "BLOCK_DIRECT_MEDIA"
    | "mediaProbePath"
    | "stabilityWindowSeconds"
    | "databaseId"
    | "databaseAppHost"
>;

/** Where and what to verify after a deploy, from the stack's settings; undefined when `verify` is false. */
export function verificationFromConfig(
    config: VerificationConfig,
): { serviceUrl: string; plan: VerificationPlan } | undefined {
    // With Render's maintenance page up, its edge answers every request with 503: the app's checks cannot be seen
    // through it (the page checks itself, see render/maintenanceMode.ts), and they run again once it is off.
    if (!config.verify || config.MAINTENANCE_PAGE) return undefined;
    if (!config.serviceUrl) {
        // The config's own check names this first; here only as a guard for a caller that skipped it.
        throw new Error("serviceUrl: verification is on but no serviceUrl is set; set it, or set verify to false");
    }
    return {
        serviceUrl: config.serviceUrl,
        plan: verificationPlan({
            disableSignup: config.DISABLE_SIGNUP,
            blockDirectMedia: config.BLOCK_DIRECT_MEDIA,
            mediaProbePath: config.mediaProbePath,
            stabilityWindowSeconds: config.stabilityWindowSeconds,
            databaseId: config.databaseId,
            databaseManaged: !!config.databaseAppHost,
        }),
    };
}

/** One request's outcome. */
export interface Sample {
    /** Milliseconds since the watch (or check) began. */
    readonly at: number;
    /** The HTTP status; undefined when there was no answer. */
    readonly status?: number;
    /** Time to the answer (or to giving up), in milliseconds. */
    readonly ms: number;
    /** Why there was no answer, e.g. "ECONNREFUSED". */
    readonly error?: string;
}

/** The judgement of a watch: passed or not, what was seen, and each threshold crossed. */
export interface WindowVerdict {
    readonly ok: boolean;
    /** What the window saw, e.g. "60 requests, 0 errors (0.0%), slowest 41 ms". */
    readonly summary: string;
    /** One line per threshold crossed, naming what was seen. */
    readonly failures: string[];
}

/**
 * Pure: the samples of a watch against its thresholds. An answer other than 200, or none, is an error, and more
 * than `maxErrorRate` of them fails; any answer slower than `maxResponseMs` fails (the runbook alerts on both).
 */
export function judgeWindow(samples: readonly Sample[], watch: Watch): WindowVerdict {
    const errors = samples.filter((s) => s.status !== 200);
    const slow = samples.filter((s) => s.ms > watch.maxResponseMs);
    const slowest = samples.reduce((max, s) => Math.max(max, s.ms), 0);
    const rate = samples.length === 0 ? 1 : errors.length / samples.length;
    const summary =
        `${samples.length} request${samples.length === 1 ? "" : "s"}, ${errors.length} error${errors.length === 1 ? "" : "s"} ` +
        `(${formatRate(rate)}), slowest ${Math.round(slowest)} ms`;
    const failures: string[] = [];
    if (samples.length === 0) {
        failures.push(`GET ${watch.path} was never answered in the window`);
    } else if (rate > watch.maxErrorRate) {
        failures.push(
            `error rate ${formatRate(rate)} is over the ${formatRate(watch.maxErrorRate)} limit: ${errors.length} of ${samples.length} ` +
                `answers to GET ${watch.path} were not 200 (${tally(errors)})`,
        );
    }
    if (slow.length > 0) {
        failures.push(
            `${slow.length} response${slow.length === 1 ? "" : "s"} took longer than ${watch.maxResponseMs} ms ` +
                `(slowest ${Math.round(slowest)} ms, first at ${(slow[0].at / 1000).toFixed(1)} s into the window)`,
        );
    }
    return { ok: failures.length === 0, summary, failures };
}

/** Before the window ends: whether it can no longer pass, whatever the remaining samples are. */
export function windowLost(samples: readonly Sample[], watch: Watch, plannedSamples: number): boolean {
    const errors = samples.filter((s) => s.status !== 200).length;
    // A window has at most `plannedSamples` samples, so past this many errors its rate stays above the limit.
    return errors > watch.maxErrorRate * plannedSamples || samples.some((s) => s.ms > watch.maxResponseMs);
}

/** 0.05 as "5.0%". */
export function formatRate(rate: number): string {
    return `${(rate * 100).toFixed(1)}%`;
}

/** "3 x 500, 1 x no answer (ECONNREFUSED)" */
function tally(samples: readonly Sample[]): string {
    const counts = new Map<string, number>();
    for (const s of samples) {
        const key = s.status === undefined ? `no answer (${s.error ?? "unknown"})` : String(s.status);
        counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([what, n]) => `${n} x ${what}`).join(", ");
}

/** The provider every resource of this type carries in the state: it requires the implementation in the provider host. */
export const verificationProvider = moduleProvider("verify", "Verification");

/** The arguments of the checks that follow a deploy. */
export interface VerificationArgs {
    /** The service's public URL, e.g. https://ahoy-indie-media.onrender.com */
    readonly serviceUrl: pulumi.Input<string>;
    /** The deploy to verify; a new one runs the checks again. */
    readonly deployId: pulumi.Input<string>;
    /** What to check, from `verificationPlan`. */
    readonly plan: VerificationPlan;
    /** How long each check may take to see its expected answer; default 120 s. */
    readonly checkTimeoutSeconds?: number;
    /** The Render service (name or srv- id) whose metrics the watch reads; with `apiUrl`, else no metrics are read. */
    readonly service?: pulumi.Input<string>;
    /** Render's API base URL, for the metrics (the API key is read in the provider host, as for the other Render resources). */
    readonly apiUrl?: pulumi.Input<string>;
}

/** The runbook's verification of one deploy: `pulumi up` fails, naming the check, if the action did not take effect. */
export class Verification extends ModuleResource {
    // `declare`: with ES2022 class fields a plain field would reset the output the base constructor assigned.
    declare public readonly results: pulumi.Output<string[]>;
    declare public readonly verifiedAt: pulumi.Output<string>;
    /** One line per metric the watch read from Render, e.g. "memory: 39.1% of the 512 MB limit, within 90%". */
    declare public readonly metrics: pulumi.Output<string[]>;

    constructor(name: string, args: VerificationArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            serviceUrl: args.serviceUrl,
            deployId: args.deployId,
            checks: args.plan.checks,
            watch: args.plan.watch,
            checkTimeoutSeconds: args.checkTimeoutSeconds ?? DEFAULT_CHECK_TIMEOUT_SECONDS,
            service: args.service,
            apiUrl: args.apiUrl,
            renderMetrics: args.plan.renderMetrics,
            results: undefined,
            verifiedAt: undefined,
            metrics: undefined,
        };
        super(verificationProvider, name, props, opts);
    }
}
