// A fault proxy between the providers and the emulator: it forwards Render's API and, for the requests a fault
// matches, breaks the exchange the way networks and gateways do, before Render sees the request or after it acted.
import * as http from "node:http";
import { closeServer, listenLocal } from "../../emulator/http";

/** How a matched exchange breaks. */
export type FaultKind =
    /** Answer `status` (429, 5xx) without forwarding: Render never saw the request. */
    | { kind: "refuse"; status: number; retryAfterSeconds?: number }
    /** Forward, let Render act, then answer `status` instead of Render's answer: a gateway 502 after the fact. */
    | { kind: "replace"; status: number }
    /** Forward, let Render act, then hold its answer `delayMs` (beyond the client's timeout) before sending it. */
    | { kind: "slow"; delayMs: number }
    /** Forward, let Render act, then reset the connection without an answer. */
    | { kind: "reset" }
    /** Reset the connection without forwarding: a dropped connection. */
    | { kind: "drop" }
    /** Forward untouched: only `onMatch` happens (someone else acting at that very moment). */
    | { kind: "pass" }
    /**
     * Hold the request `actAfterMs` (past the client's timeout), then forward it, so Render acts that late; then answer
     * `never` (the connection reset, if the client still holds it) or `late` (Render's answer, to whoever still listens).
     */
    | { kind: "late"; actAfterMs: number; answer: "never" | "late" };

export type ProxyFault = FaultKind & {
    /** Matches the HTTP method; every method when absent. */
    readonly method?: string;
    /** Tested against the path without /v1 (`/services/srv-.../deploys`); every path when absent. */
    readonly path?: RegExp;
    /** How many matching requests it breaks; default 1. */
    readonly count?: number;
    /** Runs when a request matches, before anything else: what someone else does at that very moment. */
    readonly onMatch?: () => void;
};

/** One exchange as the proxy saw it. */
export interface ProxiedRequest {
    readonly method: string;
    /** Without /v1. */
    readonly path: string;
    /** The fault applied, if any. */
    readonly fault?: FaultKind["kind"];
    /** Whether the request reached the emulator (so Render may have acted). */
    readonly forwarded: boolean;
}

export interface FaultProxy {
    /** "http://127.0.0.1:N/v1": give it to the providers as the API URL. */
    readonly baseUrl: string;
    inject(fault: ProxyFault): void;
    /** Faults not yet used up. */
    pending(): number;
    requests(): readonly ProxiedRequest[];
    close(): Promise<void>;
}

/** Starts a proxy on a free 127.0.0.1 port in front of `upstreamBaseUrl` (the emulator's `.../v1`). */
export async function startFaultProxy(upstreamBaseUrl: string): Promise<FaultProxy> {
    const upstream = new URL(upstreamBaseUrl);
    const faults: Array<{ fault: ProxyFault; remaining: number }> = [];
    const seen: ProxiedRequest[] = [];
    const timers = new Set<NodeJS.Timeout>();

    const take = (method: string, path: string): ProxyFault | undefined => {
        const index = faults.findIndex(
            ({ fault }) =>
                (fault.method === undefined || fault.method.toUpperCase() === method) &&
                (fault.path === undefined || fault.path.test(path)),
        );
        if (index < 0) return undefined;
        const entry = faults[index];
        if (--entry.remaining <= 0) faults.splice(index, 1);
        return entry.fault;
    };

    const forward = (
        req: http.IncomingMessage,
        body: Buffer,
    ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
        new Promise((resolve, reject) => {
            const out = http.request(
                {
                    host: upstream.hostname,
                    port: upstream.port,
                    method: req.method,
                    path: req.url,
                    headers: { ...req.headers, host: upstream.host },
                },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (chunk: Buffer) => chunks.push(chunk));
                    res.on("end", () =>
                        resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
                    );
                    res.on("error", reject);
                },
            );
            out.on("error", reject);
            out.end(body);
        });

    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", async () => {
            const method = (req.method ?? "GET").toUpperCase();
            const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname.replace(/^\/v1(?=\/)/, "");
            const fault = take(method, path);
            fault?.onMatch?.();
            const record = (forwarded: boolean) => seen.push({ method, path, fault: fault?.kind, forwarded });
            if (fault?.kind === "drop") {
                record(false);
                req.socket.destroy();
                return;
            }
            if (fault?.kind === "refuse") {
                record(false);
                const headers: Record<string, string> = { "Content-Type": "application/json" };
                if (fault.retryAfterSeconds !== undefined) headers["Retry-After"] = String(fault.retryAfterSeconds);
                res.writeHead(fault.status, headers);
                res.end(JSON.stringify({ message: `fault proxy: ${fault.status}` }));
                return;
            }
            if (fault?.kind === "late") {
                const body = Buffer.concat(chunks);
                const timer = setTimeout(async () => {
                    timers.delete(timer);
                    try {
                        const late = await forward(req, body);
                        record(true);
                        if (fault.answer === "late" && !res.destroyed) {
                            res.writeHead(late.status, late.headers);
                            res.end(late.body);
                            return;
                        }
                    } catch {
                        record(false);
                    }
                    req.socket.destroy();
                }, fault.actAfterMs);
                timers.add(timer);
                return;
            }
            let answer: { status: number; headers: http.IncomingHttpHeaders; body: Buffer };
            try {
                answer = await forward(req, Buffer.concat(chunks));
            } catch {
                record(false);
                req.socket.destroy();
                return;
            }
            record(true);
            if (fault?.kind === "reset") {
                req.socket.destroy();
                return;
            }
            if (fault?.kind === "replace") {
                res.writeHead(fault.status, { "Content-Type": "application/json" });
                res.end(JSON.stringify({ message: `fault proxy: gateway answered ${fault.status}` }));
                return;
            }
            const send = () => {
                if (res.destroyed) return;
                res.writeHead(answer.status, answer.headers);
                res.end(answer.body);
            };
            if (fault?.kind === "slow") {
                const timer = setTimeout(() => {
                    timers.delete(timer);
                    send();
                }, fault.delayMs);
                timers.add(timer);
                return;
            }
            send();
        });
    });
    const port = await listenLocal(server, 0);
    return {
        baseUrl: `http://127.0.0.1:${port}/v1`,
        inject: (fault) => void faults.push({ fault, remaining: fault.count ?? 1 }),
        pending: () => faults.length,
        requests: () => [...seen],
        async close() {
            for (const timer of timers) clearTimeout(timer);
            await closeServer(server);
        },
    };
}
