// Waiting in tests for something that happens on a timer (a deploy's next status, a push's autodeploy) without a fixed sleep.

export interface WaitOptions {
    /** Default 5000. */
    timeoutMs?: number;
    /** How often `condition` is checked; default 5. */
    pollMs?: number;
    /** What was seen, for the timeout's message. */
    state?: () => string;
}

/** Checks `condition` every `pollMs` until it holds; fails naming `what`, and what was seen last, after `timeoutMs`. */
export async function waitFor(
    what: string,
    condition: () => boolean | Promise<boolean>,
    { timeoutMs = 5000, pollMs = 5, state }: WaitOptions = {},
): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
        if (Date.now() > deadline) {
            throw new Error(
                `timed out after ${timeoutMs} ms waiting for ${what}${state ? `; last seen: ${state()}` : ""}`,
            );
        }
        await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
}
