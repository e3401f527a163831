// Raw HTTP calls to the Render emulator, for the tests of the emulator itself (the client's tests go through the client).
import { strict as assert } from "node:assert";
import type { Emulator } from "../../emulator";

/** An answer with its body as sent (`text`) and parsed (`json`, undefined when the body is empty). */
export interface Reply {
    status: number;
    headers: Headers;
    text: string;
    json: unknown;
}

export interface CallOptions {
    /** Sent as is instead of `body` as JSON (e.g. text that is not JSON). */
    rawBody?: string;
    /** The Authorization header; default the emulator's bearer token, null for none. */
    auth?: string | null;
}

/** `method path` (without /v1) with `body` as JSON, as Render's API takes it. */
export async function api(
    emu: Emulator,
    method: string,
    path: string,
    body?: unknown,
    { rawBody, auth = `Bearer ${emu.apiKey}` }: CallOptions = {},
): Promise<Reply> {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (auth !== null) headers.Authorization = auth;
    const response = await fetch(`${emu.baseUrl}${path}`, {
        method,
        headers,
        body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await response.text();
    let json: unknown;
    try {
        json = text === "" ? undefined : JSON.parse(text);
    } catch {
        throw new Error(
            `${method} ${path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
        );
    }
    return { status: response.status, headers: response.headers, text, json };
}

/** Fails naming `what`, the status expected and the answer got. */
export function expectStatus(reply: Reply, status: number, what: string): void {
    assert.equal(reply.status, status, `${what}: expected ${status}, got ${reply.status} ${reply.text}`);
}
