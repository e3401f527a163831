// A stand-in for the Ahoy app on its own port: it answers as the LIVE deploy's commit and variables say it would.
import { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Pool } from "pg";
import { contains, networkOf, parseAddress, readNetwork } from "../lib/ip";
import { redactSecrets } from "../lib/redact";
import { closeServer, createLocalServer, listenLocal, readBody } from "./http";
import { logsOf } from "./logs";
import { metricsOf } from "./metrics";
import { RenderState } from "./state";

/** Where direct media lives in the stand-in app: any path below it is a media file. */
export const MEDIA_PREFIX = "/media/";

/** The emulator's stand-in for Render's default maintenance page (whose content Render does not document). */
export const DEFAULT_MAINTENANCE_PAGE =
    "<!doctype html><title>Service unavailable</title><h1>This service is undergoing maintenance</h1>" +
    "<p>(the Render emulator's stand-in for Render's default maintenance page)</p>";

/** A request limit as the app reads RATE_LIMIT_*: `N per second|minute|hour|day`. */
const WINDOWS_MS: Record<string, number> = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** `10 per minute` as a count and a window; undefined for anything else (the app then applies no limit). */
export function parseLimit(text: string | undefined): { count: number; windowMs: number } | undefined {
    const match = /^(\d+) per (second|minute|hour|day)$/.exec(text ?? "");
    return match ? { count: Number(match[1]), windowMs: WINDOWS_MS[match[2]] } : undefined;
}

/**
 * Whether the client address `ip` is `entry` or inside it, compared as addresses (any IPv6 notation, an IPv4-mapped
 * client as its IPv4 address), never as text. A range written with host bits set covers its network, as an app reading
 * the list leniently would (Python's ip_network(strict=False)); an entry that is no address matches nothing.
 */
export function ipMatches(ip: string, entry: string): boolean {
    const client = parseAddress(ip);
    const written = readNetwork(entry.trim());
    if (!client || written.problem !== undefined) return false;
    return contains(networkOf(written.address, written.prefix), client);
}

/** An app in trouble, for drills: a share of the requests under a path answered with an error, or late, or both. */
export interface Misbehaviour {
    /** The requests whose path starts with this. */
    readonly pathPrefix: string;
    /** The share of them affected, every n-th one so the share is exact; default 1 (all). */
    readonly share?: number;
    /** Answer them with this status (e.g. 500) instead of what the app would say. */
    readonly status?: number;
    /** Answer them this many milliseconds late. */
    readonly delayMs?: number;
    /** What the app logs (at level error) for each error answer; default "Error: the stand-in app is misbehaving". */
    readonly errorLine?: string;
}

/**
 * The endpoints the runbook's checks ask, and the switches the runbook sets:
 * - BLOCKED_IPS: 403 for a client whose address (X-Forwarded-For's first, as behind Render's proxy) is listed;
 * - RATE_LIMIT_DEFAULT (every route but /healthz) and RATE_LIMIT_AUTH (/api/auth/...): 429 past the limit, and the limit in force
 *   in a `RateLimit-Policy` header on every answer it covers, so a test sees which limit the live deploy runs;
 * - GET /healthz: 200, or 500 when the live commit was pushed as bad (503 before anything is live);
 * - POST /api/auth/register: 503 while DISABLE_SIGNUP is "true"; otherwise 400 without an email, 201 with one;
 * - GET /media/...: 403 while BLOCK_DIRECT_MEDIA is "true", otherwise 200.
 * A variable only counts once a deploy carrying it is live, as on Render. Every answer is counted in the account's
 * metrics (./metrics.ts) with its status and duration, and logged as a request line (./logs.ts), as Render's proxy
 * counts and logs the real app's; the app's own lines (an error it answers, a crash) are logged as app lines.
 */
export class AhoyApp {
    private readonly server: Server;
    /** Requests counted per limit, per window. */
    private readonly counts = new Map<string, { windowStart: number; count: number }>();
    private trouble?: { rule: Misbehaviour; seen: number };
    /** Requests answered, to send each to the next instance in turn. */
    private served = 0;
    /** The live deploy's database pool, as the real app holds one. */
    readonly database: AppDatabase;

    constructor(
        private readonly state: RenderState,
        private readonly serviceId: string,
    ) {
        this.server = createLocalServer("ahoy stand-in app", { error: "stand-in app error" }, (req, res) =>
            this.handle(req, res),
        );
        this.database = new AppDatabase(state, serviceId);
    }

    listen(port: number): Promise<number> {
        return listenLocal(this.server, port);
    }

    async close(): Promise<void> {
        await Promise.all([closeServer(this.server), this.database.close()]);
    }

    /** From now on, misbehaves as `rule` says; undefined: behaves again. */
    misbehave(rule: Misbehaviour | undefined): void {
        if (rule && !(rule.share === undefined || (rule.share > 0 && rule.share <= 1))) {
            throw new Error(`misbehave: share must be above 0 and at most 1, got ${rule.share}`);
        }
        this.trouble = rule && { rule, seen: 0 };
    }

    private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
        const arrived = performance.now();
        const method = (req.method ?? "GET").toUpperCase();
        const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
        const body = await readBody(req);
        const live = this.state.liveDeploy(this.serviceId);
        const env = this.state.liveEnv(this.serviceId);
        const instance = this.state.servingInstance(this.serviceId, this.served++);
        const send = (status: number, payload: Record<string, unknown>): void => {
            const text = JSON.stringify(payload);
            res.writeHead(status, {
                "Content-Type": "application/json; charset=utf-8",
                "Content-Length": String(Buffer.byteLength(text)),
            });
            res.end(text);
            const ms = performance.now() - arrived;
            const host = String(req.headers.host ?? "");
            metricsOf(this.state).recordRequest(this.serviceId, { at: Date.now(), status, ms, host, path });
            logsOf(this.state).request(this.serviceId, {
                instance: instance?.id,
                host,
                method,
                path,
                status,
                ms,
                bytes: Buffer.byteLength(text),
                clientIp: clientAddress(req),
                userAgent: String(req.headers["user-agent"] ?? ""),
            });
        };

        // Render's edge, in front of the app: in maintenance mode every request gets the maintenance page and a 503.
        const maintenance = this.state.maintenanceMode(this.serviceId);
        if (maintenance.enabled) return this.maintenancePage(maintenance.uri, res);
        if (!live) return send(503, { error: "no deploy is live" });
        // Every instance died and none is back yet: Render's edge has nowhere to send the request.
        if (!instance) return send(502, { error: "no instance is up" });
        const trouble = this.troubleFor(path);
        if (trouble?.delayMs) await new Promise((resolve) => setTimeout(resolve, trouble.delayMs));
        if (trouble?.status !== undefined) {
            if (trouble.status >= 500) {
                const line = trouble.errorLine ?? "Error: the stand-in app is misbehaving";
                logsOf(this.state).app(this.serviceId, instance.id, "error", `${line} (${method} ${path})`);
                logsOf(this.state).app(
                    this.serviceId,
                    instance.id,
                    "error",
                    "    at handleRequest (/opt/render/project/src/server.js:128:24)",
                );
            }
            return send(trouble.status, { error: "the stand-in app is misbehaving" });
        }
        const forwarded = String(req.headers["x-forwarded-for"] ?? "")
            .split(",")[0]
            .trim();
        const client = forwarded || (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
        const blocked = (env.BLOCKED_IPS ?? "").split(",").filter((entry) => entry !== "");
        if (blocked.some((entry) => ipMatches(client, entry))) return send(403, { error: `${client} is blocked` });
        // /healthz is exempt, as it must be in the real app: Render's own health check would otherwise trip the limit.
        const limits: Array<[string, string | undefined]> =
            path === "/healthz" ? [] : [["RATE_LIMIT_DEFAULT", env.RATE_LIMIT_DEFAULT]];
        if (path.startsWith("/api/auth/")) limits.push(["RATE_LIMIT_AUTH", env.RATE_LIMIT_AUTH]);
        const policies: string[] = [];
        for (const [name, text] of limits) {
            const limit = parseLimit(text);
            if (!limit) continue;
            policies.push(`${name}=${text}`);
            if (this.over(`${name}:${client}`, limit)) {
                res.setHeader("RateLimit-Policy", policies.join("; "));
                return send(429, { error: `${name} (${text}) exceeded` });
            }
        }
        if (policies.length > 0) res.setHeader("RateLimit-Policy", policies.join("; "));
        if (method === "GET" && path === "/healthz") {
            return this.state.isBad(live.commit.id)
                ? send(500, { status: "error", commit: live.commit.id })
                : send(200, { status: "ok", commit: live.commit.id });
        }
        if (method === "POST" && path === "/api/auth/register") {
            if (env.DISABLE_SIGNUP === "true") return send(503, { error: "signups are disabled" });
            let email: unknown;
            try {
                email = (JSON.parse(body) as { email?: unknown }).email;
            } catch {
                email = undefined;
            }
            return typeof email === "string" && email !== ""
                ? send(201, { created: email })
                : send(400, { error: "email is required" });
        }
        if (method === "GET" && path.startsWith(MEDIA_PREFIX)) {
            return env.BLOCK_DIRECT_MEDIA === "true"
                ? send(403, { error: "direct media access is blocked" })
                : send(200, { media: path });
        }
        return send(404, { error: `no route ${method} ${path}` });
    }

    /** The misbehaviour that applies to this request, if any: every n-th request under the path, for an exact share. */
    private troubleFor(path: string): Misbehaviour | undefined {
        const trouble = this.trouble;
        if (!trouble || !path.startsWith(trouble.rule.pathPrefix)) return undefined;
        const share = trouble.rule.share ?? 1;
        const before = Math.floor(trouble.seen * share);
        trouble.seen += 1;
        return Math.floor(trouble.seen * share) > before ? trouble.rule : undefined;
    }

    /**
     * What Render's documentation says its edge answers in maintenance mode (docs.render.com/maintenance-mode): "503
     * Service Unavailable" with the maintenance page, Render's default one, or the page at `uri`; "if your custom URL
     * returns an error, Render responds with that error (not the default maintenance page)". The default page's content
     * is not documented: this one is the emulator's own.
     */
    private async maintenancePage(uri: string, res: ServerResponse): Promise<void> {
        let status = 503;
        let type = "text/html; charset=utf-8";
        let page = DEFAULT_MAINTENANCE_PAGE;
        if (uri !== "") {
            try {
                const custom = await fetch(uri, { signal: AbortSignal.timeout(10_000) });
                page = await custom.text();
                type = custom.headers.get("content-type") ?? type;
                if (!custom.ok) status = custom.status;
            } catch {
                status = 502;
                page = "the custom maintenance page could not be fetched";
            }
        }
        res.writeHead(status, { "Content-Type": type, "Content-Length": String(Buffer.byteLength(page)) });
        res.end(page);
    }

    /** Counts one request against `limit` in its current window; true once the window's count is spent. */
    private over(key: string, limit: { count: number; windowMs: number }): boolean {
        const now = Date.now();
        const seen = this.counts.get(key);
        if (!seen || now - seen.windowStart >= limit.windowMs) {
            this.counts.set(key, { windowStart: now, count: 1 });
            return false;
        }
        seen.count += 1;
        return seen.count > limit.count;
    }
}

/** The client's address as the app sees it behind Render's proxy: X-Forwarded-For's first, else the peer's. */
function clientAddress(req: IncomingMessage): string {
    const forwarded = String(req.headers["x-forwarded-for"] ?? "")
        .split(",")[0]
        .trim();
    return forwarded || (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
}

/** What the app's database pool shows: how many sessions it holds now, and why it holds none when it cannot log in. */
export interface AppDatabaseStatus {
    /** The live deploy whose DATABASE_URL the pool was opened with; undefined without one. */
    readonly deployId?: string;
    /** Open sessions. */
    readonly sessions: number;
    /** Why the last attempt to log in failed (redacted), or why none is made. */
    readonly error?: string;
}

/** Sessions the app keeps open, as a web app's pool keeps warm connections. */
const APP_POOL_SESSIONS = 2;
/** How often the app looks for a new live deploy (its instances switching over), and retries a failed login. */
const APP_POOL_SYNC_MS = 50;
const APP_POOL_RETRY_MS = 1_000;

/**
 * The stand-in app's database, as the real app's: each deploy, going live, opens a pool with ITS DATABASE_URL (the
 * login, the host, the port and `application_name` all from the URL) and keeps APP_POOL_SESSIONS sessions open,
 * logging in again after a failure; the pool is closed when another deploy replaces it. So whatever the program
 * proves about the app's login (pg_stat_activity's sessions of the new role with the service's application_name) is
 * what the app did. Only loopback hosts are connected to: the emulator runs beside a throwaway PostgreSQL, never
 * reaches a real one (the seeded URL names Render's host, and says so in `status`).
 */
export class AppDatabase {
    private deployId?: string;
    private pool?: Pool;
    private error?: string;
    private lastTry = 0;
    private closed = false;
    private readonly timer: NodeJS.Timeout;

    constructor(
        private readonly state: RenderState,
        private readonly serviceId: string,
    ) {
        this.timer = setInterval(() => this.sync(), APP_POOL_SYNC_MS);
        this.timer.unref();
    }

    status(): AppDatabaseStatus {
        return { deployId: this.deployId, sessions: this.pool?.totalCount ?? 0, error: this.error };
    }

    async close(): Promise<void> {
        this.closed = true;
        clearInterval(this.timer);
        const pool = this.pool;
        this.pool = undefined;
        await pool?.end().catch(() => undefined);
    }

    /** Follows the live deploy: a new one closes the old pool and opens its own; a pool short of sessions logs in. */
    private sync(): void {
        if (this.closed) return;
        const live = this.state.hasService(this.serviceId) ? this.state.liveDeploy(this.serviceId) : undefined;
        if (live?.id !== this.deployId) {
            this.deployId = live?.id;
            const old = this.pool;
            this.pool = undefined;
            this.error = undefined;
            // The replaced deploy's instances stop: their sessions end.
            void old?.end().catch(() => undefined);
            const url = live && this.state.liveEnv(this.serviceId).DATABASE_URL;
            if (url) this.pool = this.open(url);
            this.lastTry = 0;
        }
        const pool = this.pool;
        if (!pool || pool.totalCount >= APP_POOL_SESSIONS || Date.now() - this.lastTry < APP_POOL_RETRY_MS) return;
        this.lastTry = Date.now();
        for (let i = pool.totalCount; i < APP_POOL_SESSIONS; i++) {
            pool.connect().then(
                (client) => {
                    if (pool === this.pool) this.error = undefined;
                    client.release();
                },
                (err: Error) => {
                    if (pool === this.pool) this.error = redactSecrets(err.message, [pool.options.connectionString]);
                },
            );
        }
    }

    /** A pool for `url`, or none (with the reason in `error`) when its host is not on this machine. */
    private open(url: string): Pool | undefined {
        let host: string;
        try {
            host = new URL(url).hostname.replace(/^\[|\]$/g, "");
        } catch {
            this.error = "DATABASE_URL is not a URL: the app cannot log in";
            return undefined;
        }
        if (!["127.0.0.1", "localhost", "::1"].includes(host)) {
            this.error = `DATABASE_URL's host ${host} is not on this machine: the stand-in app logs in only to loopback hosts`;
            return undefined;
        }
        const pg: typeof import("pg") = require("pg");
        const pool = new pg.Pool({
            connectionString: url,
            max: APP_POOL_SESSIONS,
            // Kept open while idle, as a warm pool is; ended with the deploy.
            idleTimeoutMillis: 0,
            connectionTimeoutMillis: 2_000,
        });
        // A session the server ends (a retired login) is an event on the pool, not a crash of the emulator.
        pool.on("error", (err) => {
            if (pool === this.pool) this.error = redactSecrets(err.message, [url]);
        });
        return pool;
    }
}
