// What the runbook checks after a deploy, decided from the stack's settings (pure): /healthz, each kill switch's
// effect and a short settle in `pulumi up`; then the five-minute watch of /healthz and Render's metrics against the
// runbook's thresholds, by `npm run watch`, from what the stack exports (`watchTarget`).
import type { StackConfig } from "../../stacks/config";
import { type Expected5xx, type MaxConnections, type MetricThresholds, RUNBOOK_THRESHOLDS } from "./metricsVerdict";

/** The runbook's alert thresholds ("Error rate > 5%", "Response time > 2 seconds"). */
export const MAX_ERROR_RATE = RUNBOOK_THRESHOLDS.maxErrorRate;
export const MAX_RESPONSE_MS = RUNBOOK_THRESHOLDS.maxP95Ms;
/** How long a check may take to see the expected answer after the deploy is live (instances switch over meanwhile). */
export const DEFAULT_CHECK_TIMEOUT_SECONDS = 120;
/**
 * How long `pulumi up` goes on asking /healthz (once a second) after the action's own checks passed, before it ends:
 * three more answers. The switch's check saw the app answer once; three answers a second apart show an instance that
 * answers and then falls over at once (a crash on its first requests, a boot loop behind Render's switch-over), which
 * Render's own health checks, "every few seconds" with a 5-second timeout, would not have caught yet. Longer belongs to
 * the watch: every second here holds the stack's lock, and the next action, typed 5 s after this one went live, must
 * find it free (the up ends about a second after its settle).
 */
export const SETTLE_SECONDS = 3;
/**
 * The most the watch runs, in windows: a deploy that is not this stack's (a teammate's dashboard deploy, a push's
 * autodeploy) going live during the window is watched for a full window of its own, up to this many from the first.
 */
export const WATCH_MAX_WINDOWS = 2;
/**
 * How long after its window the watch waits for figures Render has not reported yet (its metrics lag behind the newest
 * minute, by an amount Render does not document), asking again every 15 s; then they could not be judged.
 */
export const METRICS_LAG_GRACE_SECONDS = 60;

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

/**
 * What runs after a deploy: the checks in order and the settle, in `pulumi up`; then the watch of the window (of
 * /healthz, then Render's metrics for it), by `npm run watch`.
 */
export interface VerificationPlan {
    readonly checks: HttpCheck[];
    /** How long `pulumi up` asks /healthz after the checks passed (SETTLE_SECONDS). */
    readonly settleSeconds: number;
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
        settleSeconds: SETTLE_SECONDS,
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
    /** The window `npm run watch` watches, for the up's log line (the up itself watches only the settle). */
    watch: Watch;
    /** How long the up asks /healthz after the checks passed; absent in a state from before the settle. */
    settleSeconds?: number;
    /** When Render says the deploy went live (RFC 3339), the watch's window counting from it. */
    liveAt?: string;
    /** The stack's name, for the command the up's log line names (`npm run watch -- <stack>`); changes nothing. */
    stack?: string;
    checkTimeoutSeconds: number;
    /** The Render service (name or srv- id) whose metrics the watch reads, with `apiUrl`; absent: none are read. */
    service?: string;
    /** Render's API base URL. */
    apiUrl?: string;
    /** What the metrics are judged by, and which database's connections. */
    renderMetrics?: RenderMetricsPlan;
}

/** The provider's outputs: the inputs plus what each check (and the settle) saw, and when they passed. */
export interface VerificationOutputs extends VerificationInputs {
    results: string[];
    verifiedAt: string;
    /** Seconds from the start of the checks (the deploy just live) to the action's checks passing: the up's "+N s". */
    verifiedAfterSeconds: number;
    /**
     * max_connections as the up read it (`SHOW max_connections`, through the admin connection only the provider host
     * has), for the watch's connections figure; absent when there is no databaseId.
     */
    maxConnections?: MaxConnections;
}

/** What the watch is told of an open incident: where a crossed threshold is posted, and in which alert. */
export interface WatchIncident {
    readonly severity: 1 | 2 | 3;
    readonly title: string;
    readonly status: "investigating" | "mitigating" | "resolved";
    /** PagerDuty's dedup_key of the incident: the watch's update joins its alert, never pages anew. */
    readonly dedupKey: string;
}

/**
 * The stack output `watch`: everything `npm run watch -- <stack>` needs to watch the last deploy's window, no secret
 * among it (the Render key and the channels' secrets it reads as the CLI allows, never from here).
 */
export interface WatchTarget {
    /** The Render service's name or srv- id, as the stack names it. */
    readonly service: string;
    /** Its srv- id. */
    readonly serviceId: string;
    /** Render's API base URL. */
    readonly apiUrl: string;
    /** The app's public URL, whose /healthz the watch asks. */
    readonly serviceUrl: string;
    /** The deploy whose window this is. */
    readonly deployId: string;
    /** What the deploy carried, as the up's "live and verified" line names it: "DISABLE_SIGNUP", or "deploy dep-...". */
    readonly action: string;
    /** When Render says it went live (RFC 3339): the window counts from here. */
    readonly liveAt: string;
    /** When the up's checks and settle passed (RFC 3339). */
    readonly verifiedAt: string;
    /** The up's "+N s" of "... is live and verified at +N s". */
    readonly verifiedAfterSeconds: number;
    readonly window: Watch;
    /** What Render's metrics are judged by, and max_connections as the up read it. */
    readonly metrics: RenderMetricsPlan & { readonly maxConnections?: MaxConnections };
    /** The open incident a crossed threshold is posted to; absent while none is open. */
    readonly incident?: WatchIncident;
}

/** "DISABLE_SIGNUP and BLOCK_DIRECT_MEDIA" for the switches whose checks prove them, else "deploy dep-...". */
export function actionName(checks: readonly HttpCheck[], deployId: string): string {
    const live = checks.map((check) => check.proves).filter((name): name is string => !!name);
    return live.length > 0 ? live.join(" and ") : `deploy ${deployId}`;
}

/** The watch's target from what the up declared and what its deploy and verification recorded (pure). */
export function watchTarget(parts: {
    readonly service: string;
    readonly serviceId: string;
    readonly apiUrl: string;
    readonly serviceUrl: string;
    readonly plan: VerificationPlan;
    readonly deployId: string;
    readonly liveAt: string;
    readonly verifiedAt: string;
    readonly verifiedAfterSeconds: number;
    readonly maxConnections?: MaxConnections;
    readonly incident?: WatchIncident;
}): WatchTarget {
    const { plan } = parts;
    const metrics = {
        ...plan.renderMetrics,
        ...(parts.maxConnections !== undefined && { maxConnections: parts.maxConnections }),
    };
    return {
        service: parts.service,
        serviceId: parts.serviceId,
        apiUrl: parts.apiUrl,
        serviceUrl: parts.serviceUrl,
        deployId: parts.deployId,
        action: actionName(plan.checks, parts.deployId),
        liveAt: parts.liveAt,
        verifiedAt: parts.verifiedAt,
        verifiedAfterSeconds: parts.verifiedAfterSeconds,
        window: plan.watch,
        metrics,
        ...(parts.incident && parts.incident.status !== "resolved" && { incident: parts.incident }),
    };
}
