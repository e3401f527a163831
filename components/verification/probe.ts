// One request to the app, as the checks, the up's settle and the watch ask it: never throws, no answer is a sample too.
import type { Sample } from "./healthVerdict";

/** A request with no answer after this long counts as no answer. */
export const REQUEST_TIMEOUT_MS = 10_000;

/**
 * One request to `url`; never throws: no answer is a sample without a status. Redirects are not followed. The sample's
 * `at` is counted from `origin` (a `performance.now()` reading).
 */
export async function probe(
    url: string,
    method: "GET" | "POST",
    origin: number,
    timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<Sample> {
    const sent = performance.now();
    const at = sent - origin;
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

/** `serviceUrl` and `path` as one URL: https://ahoy-indie-media.onrender.com + /healthz. */
export function urlOf(serviceUrl: string, path: string): string {
    return serviceUrl.replace(/\/+$/, "") + path;
}
