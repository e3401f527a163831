// How long one `pulumi up` may wait, at most, and on what: every wait has a deadline, and the sum is printed at the
// start of the up (and held under the workflow job's timeout by test/upWaits.test.ts). Pure: the providers take their
// bounds from here.
import { DEFAULT_CHECK_TIMEOUT_SECONDS, SETTLE_SECONDS } from "./verification/plan";

/**
 * The whole Deploy step (waiting out other deploys in flight, the trigger and its lookups, our deploy queued, built and
 * started): the provider's Render client refuses any request or wait past it.
 */
export const DEPLOY_BUDGET_MINUTES = 25;
/** Of that, at most this long waiting for deploys someone else started to end before ours is decided. */
export const OTHER_DEPLOYS_MAX_MINUTES = 10;
/** Of that, at most this long for our deploy to leave `queued` (waiting behind another deploy). */
export const QUEUED_MAX_MINUTES = 10;
/**
 * After a deploy trigger whose answer was lost (no answer, a reset, a 5xx), how long to look for the deploy it may have
 * made before failing with "the trigger's fate is unknown" (never resending it).
 */
export const TRIGGER_LOOKUP_SECONDS = 60;
/**
 * After a rotation's deploy went live, how long to wait for the app's own sessions on the new database login
 * (pg_stat_activity) before the previous login is retired.
 */
export const APP_LOGIN_WAIT_SECONDS = 60;

/** What one `up` of these settings waits for at most, in minutes, by part. */
export interface UpWaits {
    readonly deploy: number;
    /** The verification after the deploy: /healthz, then the switches' checks side by side, then the settle. */
    readonly checks: number;
    /** The app's login on the new database role, when the stack manages the database. */
    readonly appLogin: number;
    readonly total: number;
}

/** The settings the waits depend on. */
export interface UpWaitSettings {
    readonly verify: boolean;
    readonly MAINTENANCE_PAGE: boolean;
    readonly DISABLE_SIGNUP: boolean;
    readonly BLOCK_DIRECT_MEDIA: boolean;
    readonly databaseAppHost?: string;
}

/**
 * The most one `up` waits with these settings: the deploy's budget, the checks (the /healthz check, then the switches'
 * checks side by side, each within the check timeout, then the settle of /healthz) and the app's login after a
 * rotation. The five-minute window is not the up's: `npm run watch` watches it, with no lock, in a job of its own.
 */
export function upWaits(settings: UpWaitSettings): UpWaits {
    const checked = settings.verify && !settings.MAINTENANCE_PAGE;
    const switchChecks = settings.DISABLE_SIGNUP || settings.BLOCK_DIRECT_MEDIA ? 1 : 0;
    const checkSeconds = checked ? (1 + switchChecks) * DEFAULT_CHECK_TIMEOUT_SECONDS + SETTLE_SECONDS : 0;
    const deploy = DEPLOY_BUDGET_MINUTES;
    const checks = Math.ceil(checkSeconds / 60);
    const appLogin = settings.databaseAppHost ? Math.ceil(APP_LOGIN_WAIT_SECONDS / 60) : 0;
    return { deploy, checks, appLogin, total: deploy + checks + appLogin };
}

/** "this up waits at most 32 min: deploy 25, checks 7": the line printed at the start of every up. */
export function formatUpWaits(waits: UpWaits): string {
    const parts = [`deploy ${waits.deploy}`, `checks ${waits.checks}`];
    if (waits.appLogin > 0) parts.push(`app login ${waits.appLogin}`);
    return `this up waits at most ${waits.total} min: ${parts.join(", ")}`;
}
