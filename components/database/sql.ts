// The admin connection the database dynamic providers use: the stack's `postgresql:` settings, else libpq's PG* variables.
//
// Loaded in the dynamic-provider host by the providers' implementations (see ../dynamicProvider.ts), never by the
// program: `pg` is required when a connection is made, and the settings (a password among them) are kept only in the
// provider process's memory, never in the state.
import { readFileSync } from "node:fs";
import type * as pulumi from "@pulumi/pulumi";
import type { Client, ClientConfig } from "pg";
import { redactSecrets } from "../../lib/redact";

/** The admin connection as settings, before `pg` turns it into a client. */
export interface AdminSettings {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly password?: string;
    readonly sslmode: string;
    readonly sslrootcert?: string;
    readonly database: string;
}

/** The stack config keys of the `postgresql:` provider that make up the admin connection. */
function adminConfigKeys(): Record<string, string> {
    return {
        host: "postgresql:host",
        port: "postgresql:port",
        username: "postgresql:username",
        password: "postgresql:password",
        sslmode: "postgresql:sslmode",
        sslrootcert: "postgresql:sslrootcert",
        database: "postgresql:database",
    };
}

// The provider host hands the stack's config to `configure` once per provider; methods called later read it from here.
// It lives on globalThis, not on either provider object, so both database providers (and any second copy of this
// module a loader may create) share the one set of settings.
function store(): { config?: Record<string, string | undefined> } {
    const key = Symbol.for("ahoy-ops/postgresql-admin-config");
    const holder = globalThis as unknown as Record<symbol, { config?: Record<string, string | undefined> }>;
    holder[key] ??= {};
    return holder[key];
}

/** Called from a provider's `configure`: remembers the `postgresql:` settings of the stack for this process. */
export function rememberAdminConfig(config: pulumi.dynamic.Config): void {
    const values: Record<string, string | undefined> = {};
    for (const [name, key] of Object.entries(adminConfigKeys())) values[name] = config.get(key);
    store().config = values;
}

/**
 * The admin settings: each from the stack config (`postgresql:host` ...) when `configure` gave it, else from
 * libpq's variable (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSSLMODE, PGSSLROOTCERT, PGDATABASE), else libpq's default.
 * `database` overrides the connection's database (the app's, where app_settings lives).
 */
export function adminSettings(database?: string, env: NodeJS.ProcessEnv = process.env): AdminSettings {
    const config = store().config ?? {};
    const pick = (name: string, variable: string): string | undefined => config[name] || env[variable] || undefined;
    const portText = pick("port", "PGPORT") ?? "5432";
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new Error(
            `postgresql:port (or PGPORT): got ${JSON.stringify(portText)}; expected a whole number from 1 to 65535`,
        );
    }
    const user = pick("username", "PGUSER");
    if (!user) {
        throw new Error(
            "the admin connection has no user: set `pulumi config set postgresql:username NAME` (or PGUSER)",
        );
    }
    return {
        host: pick("host", "PGHOST") ?? "localhost",
        port,
        user,
        password: pick("password", "PGPASSWORD"),
        // libpq's own default; node-postgres cannot fall back to plain text, so it is treated as `require` below.
        sslmode: pick("sslmode", "PGSSLMODE") ?? "prefer",
        sslrootcert: pick("sslrootcert", "PGSSLROOTCERT"),
        database: database ?? pick("database", "PGDATABASE") ?? "postgres",
    };
}

/** Where the admin connection points, for messages: never the password. */
export function describeAdmin(settings: AdminSettings): string {
    return `${settings.user}@${settings.host}:${settings.port}/${settings.database}`;
}

/** The `pg` client options for the settings, `sslmode` translated to Node's TLS options. */
export function clientConfig(settings: AdminSettings): ClientConfig {
    const ca = settings.sslrootcert ? readFileSync(settings.sslrootcert, "utf8") : undefined;
    let ssl: ClientConfig["ssl"];
    switch (settings.sslmode) {
        case "disable":
            ssl = false;
            break;
        // Encrypted but unverified, as libpq's `require` (and, here, `prefer` and `allow`) without a root certificate.
        case "allow":
        case "prefer":
        case "require":
            ssl = ca ? { ca, checkServerIdentity: () => undefined } : { rejectUnauthorized: false };
            break;
        case "verify-ca":
            ssl = { ca, checkServerIdentity: () => undefined };
            break;
        case "verify-full":
            ssl = { ca };
            break;
        default:
            throw new Error(
                `postgresql:sslmode (or PGSSLMODE): got ${JSON.stringify(settings.sslmode)}; ` +
                    "expected disable, allow, prefer, require, verify-ca or verify-full",
            );
    }
    return {
        host: settings.host,
        port: settings.port,
        user: settings.user,
        password: settings.password,
        database: settings.database,
        ssl,
        connectionTimeoutMillis: 15000,
        application_name: "ahoy-ops",
    };
}

/** An open admin connection to `database`; the caller ends it. Fails naming where it tried to connect. */
export async function connectAdmin(database?: string): Promise<Client> {
    const settings = adminSettings(database);
    const pg: typeof import("pg") = require("pg");
    const client = new pg.Client(clientConfig(settings));
    try {
        await client.connect();
    } catch (err) {
        await client.end().catch(() => undefined);
        const said = redactSecrets((err as Error).message, [settings.password]);
        throw new Error(`could not connect to PostgreSQL as ${describeAdmin(settings)}: ${said}`, {
            cause: err,
        });
    }
    return client;
}

/** The SQLSTATE of a PostgreSQL error, if it is one. */
export function sqlState(err: unknown): string | undefined {
    return typeof err === "object" && err !== null && "code" in err && typeof err.code === "string"
        ? err.code
        : undefined;
}

/** The login a DATABASE_URL carries, as the admin connection would make it (never its password in a message). */
export interface UrlLogin {
    readonly user: string;
    readonly password: string;
    readonly database: string;
}

/** The user, password and database of a `postgresql://` URL, decoded; throws naming the part that is missing. */
export function loginOf(databaseUrl: string): UrlLogin {
    let url: URL;
    try {
        url = new URL(databaseUrl);
    } catch {
        throw new Error("DATABASE_URL is not a URL; expected postgresql://user:password@host:port/database");
    }
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
    if (!user || !password || !database) {
        throw new Error(
            "DATABASE_URL lacks a user, password or database; expected postgresql://user:password@host:port/database",
        );
    }
    return { user, password, database };
}

/**
 * Logs in with the exact user and password of `databaseUrl`, to its database, through the admin connection's host,
 * port and TLS settings (the app's host may be reachable only inside Render's network), and answers who the server
 * says logged in. This is the runbook's "Test connection with new credentials". Fails naming the login, never the
 * password.
 */
export async function proveLogin(databaseUrl: string): Promise<string> {
    const login = loginOf(databaseUrl);
    const settings: AdminSettings = { ...adminSettings(login.database), user: login.user, password: login.password };
    const pg: typeof import("pg") = require("pg");
    const client = new pg.Client(clientConfig(settings));
    try {
        await client.connect();
        const who = await client.query<{ login: string }>("SELECT session_user::text AS login");
        return who.rows[0].login;
    } catch (err) {
        const said = redactSecrets((err as Error).message, [login.password, databaseUrl]);
        throw new Error(`the login ${describeAdmin(settings)} (the new DATABASE_URL's) failed: ${said}`, {
            cause: err,
        });
    } finally {
        await client.end().catch(() => undefined);
    }
}
