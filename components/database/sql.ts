// The admin connection the database dynamic providers use: the stack's `postgresql:` settings, else libpq's PG* variables.
//
// Loaded in the dynamic-provider host by the providers' implementations (see ../dynamicProvider.ts), never by the
// program: `pg` is required when a connection is made, and the settings (a password among them) are kept only in the
// provider process's memory, never in the state.
import { readFileSync } from "node:fs";
import type * as pulumi from "@pulumi/pulumi";
import type { Client, ClientConfig } from "pg";
import { isLoopbackHost } from "../../lib/ip";
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

/** The `sslmode` values libpq (and so the postgresql provider) understands. */
const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

/** True when the connection stays on this machine: a loopback host, or a Unix socket directory. */
export function isLocalDatabaseHost(host: string): boolean {
    return host.startsWith("/") || isLoopbackHost(host);
}

/**
 * The `pg` client options for the settings, `sslmode` translated to Node's TLS options as libpq reads it:
 * - `verify-full`: the server's certificate chains to the CA (`sslrootcert`, or Node's public CA store when unset or
 *   `system`) and names the host; `verify-ca`: the chain to `sslrootcert` only (the public CAs would pass anyone).
 * - `require` (and `prefer`, `allow`, which node-postgres cannot fall back from): encrypted, the certificate checked
 *   against `sslrootcert` when there is one (libpq's rule), else not at all, so anyone at the address gets the password.
 * - `disable`: only to this machine; the password would otherwise cross the network in the clear.
 * Throws naming the setting when the mode is unknown, `disable` leaves the machine, or the CA file cannot be read.
 */
export function clientConfig(settings: AdminSettings, readCa: (file: string) => string = readPem): ClientConfig {
    const { sslmode, sslrootcert, host } = settings;
    if (!SSL_MODES.includes(sslmode)) {
        throw new Error(
            `postgresql:sslmode (or PGSSLMODE): got ${JSON.stringify(sslmode)}; expected one of ${SSL_MODES.join(", ")}: ` +
                "`pulumi config set postgresql:sslmode verify-full`",
        );
    }
    let ssl: ClientConfig["ssl"];
    if (sslmode === "disable") {
        if (!isLocalDatabaseHost(host)) {
            throw new Error(
                `postgresql:sslmode (or PGSSLMODE) is disable, but the admin connection goes to ${host}, not this machine: ` +
                    "the password would cross the network unencrypted; expected verify-full: " +
                    "`pulumi config set postgresql:sslmode verify-full`",
            );
        }
        ssl = false;
    } else {
        const ca = sslrootcert && sslrootcert !== "system" ? readCa(sslrootcert) : undefined;
        if (sslmode === "verify-ca" && !ca) {
            throw new Error(
                "postgresql:sslmode (or PGSSLMODE) is verify-ca, which checks only who signed the certificate, but names " +
                    "no CA of its own (postgresql:sslrootcert): against the public CAs anyone holding a certificate would " +
                    "pass; expected `pulumi config set postgresql:sslrootcert <the CA's PEM file>`, or verify-full",
            );
        }
        const anyName = { checkServerIdentity: () => undefined };
        if (sslmode === "verify-full") ssl = ca ? { ca } : {};
        else if (sslmode === "verify-ca" || ca) ssl = ca ? { ca, ...anyName } : anyName;
        else ssl = { rejectUnauthorized: false };
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

/** The CA certificate file `postgresql:sslrootcert` names, read; fails naming the setting and the file. */
function readPem(file: string): string {
    let text: string;
    try {
        text = readFileSync(file, "utf8");
    } catch (err) {
        throw new Error(
            `postgresql:sslrootcert (or PGSSLROOTCERT): cannot read ${file} (${(err as NodeJS.ErrnoException).code}); ` +
                "expected the PEM file of the CA that signed the server's certificate, or system for Node's public CAs",
            { cause: err },
        );
    }
    if (!text.includes("-----BEGIN CERTIFICATE-----")) {
        throw new Error(
            `postgresql:sslrootcert (or PGSSLROOTCERT): ${file} holds no PEM certificate; ` +
                "expected the PEM file of the CA that signed the server's certificate",
        );
    }
    return text;
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
