// What the HTTP stand-ins for Slack and PagerDuty share: an HTTP server on a free loopback port, each request recorded
// with its answer, and faults a test switches on (the service down, rate limiting, slow answers).
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** How a stand-in misbehaves until told otherwise (or for `times` requests). */
export type Fault =
    | { readonly mode: "down"; readonly times?: number }
    | { readonly mode: "rateLimited"; readonly retryAfterSeconds?: number; readonly times?: number }
    | { readonly mode: "slow"; readonly delayMs: number; readonly times?: number }
    /** Acts on the request at once (posts, pages), then holds the answer `delayMs`: an answer lost to a timeout or a kill. */
    | { readonly mode: "answerLate"; readonly delayMs: number; readonly times?: number };

/** One request as the stand-in received it, and what it answered. */
export interface Exchange {
    readonly method: string;
    readonly path: string;
    readonly headers: http.IncomingHttpHeaders;
    readonly body: string;
    status: number;
    answer: string;
}

/** An answer: status, body, and any headers. */
export interface Answer {
    readonly status: number;
    readonly body: string;
    readonly headers?: Record<string, string>;
}

export interface HttpStandIn {
    /** http://127.0.0.1:<port> */
    readonly origin: string;
    /** Every request, in order, with its answer. */
    readonly exchanges: Exchange[];
    /** Misbehave from the next request on. */
    fail(fault: Fault): void;
    /** Behave again. */
    heal(): void;
    close(): Promise<void>;
}

/**
 * Serves `handle` on 127.0.0.1 (a free port), under the faults a test sets: `down` answers `downAnswer` (a 503),
 * `rateLimited` answers `rateLimitedAnswer` (a 429 with Retry-After), `slow` waits before handling.
 */
export async function startHttpStandIn(
    handle: (exchange: Exchange) => Answer,
    downAnswer: Answer,
    rateLimitedAnswer: (retryAfterSeconds: number) => Answer,
): Promise<HttpStandIn> {
    const exchanges: Exchange[] = [];
    let fault: (Fault & { left: number }) | undefined;
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => {
            const exchange: Exchange = {
                method: req.method ?? "",
                path: req.url ?? "",
                headers: req.headers,
                body: Buffer.concat(chunks).toString("utf8"),
                status: 0,
                answer: "",
            };
            exchanges.push(exchange);
            const active = fault && fault.left > 0 ? fault : undefined;
            if (active) active.left--;
            const respond = (answer: Answer) => {
                exchange.status = answer.status;
                exchange.answer = answer.body;
                if (res.destroyed) return;
                res.writeHead(answer.status, { "content-type": "text/plain", ...answer.headers });
                res.end(answer.body);
            };
            if (active?.mode === "down") return respond(downAnswer);
            if (active?.mode === "rateLimited") return respond(rateLimitedAnswer(active.retryAfterSeconds ?? 1));
            if (active?.mode === "answerLate") {
                const answer = handle(exchange);
                const timer = setTimeout(() => respond(answer), active.delayMs);
                res.on("close", () => clearTimeout(timer));
                return;
            }
            if (active?.mode === "slow") {
                const timer = setTimeout(() => respond(handle(exchange)), active.delayMs);
                res.on("close", () => clearTimeout(timer));
                return;
            }
            respond(handle(exchange));
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        origin: `http://127.0.0.1:${port}`,
        exchanges,
        fail(next) {
            fault = { ...next, left: next.times ?? Number.POSITIVE_INFINITY };
        },
        heal() {
            fault = undefined;
        },
        async close() {
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}

/** The request's JSON body, or undefined when it is not a JSON object sent as application/json. */
export function jsonObject(exchange: Exchange): Record<string, unknown> | undefined {
    if (!/^application\/json\b/i.test(String(exchange.headers["content-type"] ?? ""))) return undefined;
    try {
        const value = JSON.parse(exchange.body) as unknown;
        return typeof value === "object" && value !== null && !Array.isArray(value)
            ? (value as Record<string, unknown>)
            : undefined;
    } catch {
        return undefined;
    }
}
