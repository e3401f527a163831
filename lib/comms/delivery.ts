// What the three senders share: a channel's failure as its answer (never its secret), and one JSON POST with a timeout
// that retries only what the services say to retry (429 and 5xx), within a small budget that honours Retry-After.
import { redactSecrets } from "../redact";

/** The channels a message goes to, by the name the state and outputs use. */
export type Channel = "slack" | "pagerDuty" | "email";

export const CHANNELS = ["slack", "pagerDuty", "email"] as const satisfies readonly Channel[];

/** How a person names each channel in a message. */
export const CHANNEL_NAMES: Readonly<Record<Channel, string>> = {
    slack: "Slack",
    pagerDuty: "PagerDuty",
    email: "Email",
};

/** The channels' settings as the stack config holds them (the URLs and the key are secrets). */
export interface ChannelSettings {
    readonly slackWebhookUrl?: string;
    readonly pagerDutyRoutingKey?: string;
    readonly alertEmail?: string;
    readonly smtpUrl?: string;
}

/** Why each channel cannot send, by channel; undefined where it can. */
export function unconfigured(settings: ChannelSettings): Record<Channel, string | undefined> {
    return {
        slack: settings.slackWebhookUrl ? undefined : "slackWebhookUrl is not set",
        pagerDuty: settings.pagerDutyRoutingKey ? undefined : "pagerDutyRoutingKey is not set",
        email: !settings.alertEmail
            ? "alertEmail is not set"
            : !settings.smtpUrl
              ? "alertEmail is set but smtpUrl is not"
              : undefined,
    };
}

/**
 * `text` with every secret in it hidden, in any encoding and any 4-character part (lib/redact.ts, the one redaction
 * the program uses). Very short strings (a port, "smtp") are not taken for secrets: they would mask unrelated text.
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
    return redactSecrets(
        text,
        secrets.filter((secret): secret is string => !!secret && secret.length >= 4),
    );
}

/** A channel that did not take a message: which channel, and what it answered (redacted). */
export class ChannelError extends Error {
    constructor(
        readonly channel: Channel,
        /** What the service answered, or why there was no answer: "503 Service Unavailable: ...", "timed out after 10 s". */
        readonly answer: string,
        /** Whether sending it again later may succeed (a 5xx, a 429, a timeout); a 400 will fail the same way. */
        readonly transient: boolean,
    ) {
        super(`${CHANNEL_NAMES[channel]} answered ${answer}`);
        this.name = "ChannelError";
    }
}

/** How hard one send tries. */
export interface SendOptions {
    /** Per request; default 10 s. */
    readonly timeoutMs?: number;
    /** Requests in all, the first included; default 3. */
    readonly attempts?: number;
    /** The longest wait between two requests (a longer Retry-After ends the tries); default 5 s. */
    readonly maxWaitMs?: number;
    /** The wait before a retry when the answer names none; doubled each time; default 500 ms. */
    readonly backoffMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/** A service's answer: status, body text (first 500 characters), and how many requests it took. */
export interface HttpAnswer {
    readonly status: number;
    readonly body: string;
    readonly attempts: number;
}

/** Retry-After in milliseconds: seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
    if (!header) return undefined;
    const trimmed = header.trim();
    if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
    const date = Date.parse(trimmed);
    return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Why a request got no answer, in a few words: "timed out after 10 s", "ECONNREFUSED". */
function noAnswer(err: unknown, timeoutMs: number): string {
    const e = err as { name?: string; cause?: { code?: string; message?: string }; message?: string };
    if (e?.name === "TimeoutError" || e?.name === "AbortError") return `nothing: timed out after ${timeoutMs / 1000} s`;
    return `nothing: ${e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err)}`;
}

/**
 * POSTs `body` as JSON to `url` and returns the final answer, whatever its status; retries a 429 or 5xx (after
 * Retry-After when given, else a doubling backoff) while the budget lasts. Throws a ChannelError (redacted of `secrets`)
 * only when there was no answer at all: a timeout is not retried, since the service may have taken the message.
 */
export async function postJson(
    channel: Channel,
    url: string,
    body: unknown,
    secrets: readonly (string | undefined)[],
    options: SendOptions = {},
): Promise<HttpAnswer> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const attempts = Math.max(1, options.attempts ?? 3);
    const maxWaitMs = options.maxWaitMs ?? 5_000;
    let backoff = options.backoffMs ?? 500;
    const payload = JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
        let response: Response;
        try {
            response = await fetch(url, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: payload,
                signal: AbortSignal.timeout(timeoutMs),
            });
        } catch (err) {
            throw new ChannelError(channel, redact(noAnswer(err, timeoutMs), secrets), true);
        }
        let text: string;
        try {
            text = (await response.text()).slice(0, 500);
        } catch (err) {
            throw new ChannelError(channel, redact(noAnswer(err, timeoutMs), secrets), true);
        }
        const retryable = response.status === 429 || response.status >= 500;
        if (!retryable || attempt >= attempts) return { status: response.status, body: text, attempts: attempt };
        const wait = retryAfterMs(response.headers.get("retry-after")) ?? backoff;
        if (wait > maxWaitMs) return { status: response.status, body: text, attempts: attempt };
        backoff *= 2;
        await sleep(wait);
    }
}

/** "503 Service Unavailable: upstream down" from an answer, for a failure message (redacted). */
export function describeAnswer(answer: HttpAnswer, secrets: readonly (string | undefined)[]): string {
    const body = answer.body.replace(/\s+/g, " ").trim();
    const tries = answer.attempts > 1 ? ` (after ${answer.attempts} tries)` : "";
    return redact(`${answer.status}${body ? ` ${body}` : ""}${tries}`, secrets);
}
