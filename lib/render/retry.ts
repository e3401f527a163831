// Retry policy for Render API calls: which failures are worth another try, and how long to wait first.
// Pure functions (time and randomness can be passed in), so the policy is tested apart from the client's HTTP.

/** Statuses Render answers when it did not act on the request and a later try may succeed. */
export function isRetryableStatus(status: number): boolean {
    return status === 429 || status >= 500;
}

// Connection failures that happen before a single byte of the request left this machine: the
// server cannot have acted, so even a non-idempotent POST may be sent again.
const PRE_SEND_CODES = [
    "ECONNREFUSED",
    "ENOTFOUND",
    "EAI_AGAIN",
    "ENETUNREACH",
    "EHOSTUNREACH",
    "UND_ERR_CONNECT_TIMEOUT",
];

/** The error code of a failed `fetch` (undici puts it on `cause`), or a short description. */
export function networkErrorCode(error: unknown): string {
    const pick = (e: unknown): string | undefined => {
        if (typeof e !== "object" || e === null) return undefined;
        const code = (e as { code?: unknown }).code;
        if (typeof code === "string") return code;
        const name = (e as { name?: unknown }).name;
        if (name === "TimeoutError" || name === "AbortError") return "TIMEOUT";
        return undefined;
    };
    const cause = typeof error === "object" && error !== null ? (error as { cause?: unknown }).cause : undefined;
    return pick(cause) ?? pick(error) ?? "NETWORK_ERROR";
}

/** True when the request cannot have reached the server (so resending it cannot act twice). */
export function failedBeforeSending(code: string): boolean {
    return PRE_SEND_CODES.includes(code);
}

/** Full jitter: a uniform wait in [0, min(cap, base * 2^attempt)), attempt counting from 0. */
export function backoffDelayMs(
    attempt: number,
    baseMs: number,
    capMs: number,
    random: () => number = Math.random,
): number {
    const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
    return Math.floor(random() * ceiling);
}

interface HeaderSource {
    get(name: string): string | null;
}

/**
 * The wait the server asked for, in ms: `Retry-After` (seconds or an HTTP date) on any retryable
 * answer, else `Ratelimit-Reset` (SECONDS until the window resets, not an epoch) on a 429.
 * Undefined when the server said nothing usable.
 */
export function serverRequestedWaitMs(
    status: number,
    headers: HeaderSource,
    now: number = Date.now(),
): number | undefined {
    const retryAfter = headers.get("retry-after")?.trim();
    if (retryAfter) {
        if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.round(Number(retryAfter) * 1000);
        const at = Date.parse(retryAfter);
        if (!Number.isNaN(at)) return Math.max(0, at - now);
    }
    // Every Render response carries Ratelimit-Reset; it only says something about a retry on a 429.
    const reset = headers.get("ratelimit-reset")?.trim();
    if (status === 429 && reset && /^\d+(\.\d+)?$/.test(reset)) return Math.round(Number(reset) * 1000);
    return undefined;
}

/**
 * How long to wait before retry number `attempt` (0 for the first retry). A server-requested wait
 * is honoured with up to `baseMs` of jitter on top, so many clients released by the same reset do
 * not all arrive in the same instant; otherwise exponential backoff with full jitter. Either way
 * the wait never exceeds `capMs`.
 */
export function retryDelayMs(
    attempt: number,
    serverWaitMs: number | undefined,
    baseMs: number,
    capMs: number,
    random: () => number = Math.random,
): number {
    if (serverWaitMs !== undefined) return Math.min(capMs, serverWaitMs + Math.floor(random() * baseMs));
    return backoffDelayMs(attempt, baseMs, capMs, random);
}
