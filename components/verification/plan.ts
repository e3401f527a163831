// What the runbook checks after a deploy, decided from the stack's settings (pure): /healthz, each kill switch's
// effect, then the five-minute watch of /healthz and Render's metrics against the runbook's thresholds.
import type { StackConfig } from "../../stacks/config";
import { type Expected5xx, type MetricThresholds, RUNBOOK_THRESHOLDS } from "./metricsVerdict";

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

/** The inputs the Verification provider receives. */
export interface VerificationInputs {
    /** The service's public URL. */
    serviceUrl: string;
    /** The deploy verified: a new deploy id runs the checks again. */
    deployId: string;
    checks: HttpCheck[];
    watch: Watch;
    checkTimeoutSeconds: number;
    /** The Render service (name or srv- id) whose metrics the watch reads, with `apiUrl`; absent: none are read. */
    service?: string;
    /** Render's API base URL. */
    apiUrl?: string;
    /** What the metrics are judged by, and which database's connections. */
    renderMetrics?: RenderMetricsPlan;
}

/** The provider's outputs: the inputs plus what each check saw and when, and the metrics' figures. */
export interface VerificationOutputs extends VerificationInputs {
    results: string[];
    verifiedAt: string;
    /** One line per metric read from Render (not applicable ones said so); empty when no metrics were read. */
    metrics: string[];
}
