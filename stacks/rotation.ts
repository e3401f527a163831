// Rotation arithmetic, free of Pulumi: which login slot a generation activates, what keeps each secret, and the URL the app is given.
import { isIPv4, isIPv6 } from "node:net";

/** The two alternating login roles: one is active, the other stands by (AWS Secrets Manager's "alternating users"). */
export type Slot = "blue" | "green";

/** Both slots, in a fixed order so resources are always declared alike. */
export const SLOTS: readonly Slot[] = ["blue", "green"];

/** PostgreSQL truncates identifiers to 63 bytes; the prefix leaves room for `_green` so the two names never collide. */
export const MAX_ROLE_PREFIX_LENGTH = 63 - "_green".length;

/**
 * A role name or prefix (the login roles' prefix, the owner role) is a plain lower-case identifier, so the role names
 * need no quoting anywhere they appear.
 */
export const ROLE_PATTERN = /^[a-z_][a-z0-9_]*$/;

/** The `sslmode` values libpq understands, the app's driver included. */
export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;

/**
 * A database name is only decoded by `decodeURI` in node-postgres, which leaves reserved characters encoded; keep it to
 * characters that never need encoding so every parser reads the same name.
 */
export const DATABASE_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** What databaseAppHost must be, as its errors say. */
export const APP_HOST_EXPECTED =
    "a host name (such as dpg-cr9q1q3v2p9s73b0ug4g-a) or an IPv4/IPv6 address, without a scheme, port or path";

/**
 * Why `host` cannot be DATABASE_URL's host, or undefined when it can: a DNS name (labels of letters, digits and inner
 * hyphens, at most 63 each and 253 in all, not all digits), an IPv4 address, or an IPv6 address (bare, as the URL
 * brackets it itself). A port (`db:5432`), a scheme or a path is named as what it is.
 */
export function appHostProblem(host: string): string | undefined {
    if (host === "") return `expected ${APP_HOST_EXPECTED}`;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(host)) return `a URL; expected only its host: ${APP_HOST_EXPECTED}`;
    if (isIPv6(host)) return undefined;
    const port = /^(.+):(\d{1,5})$/.exec(host);
    if (port && (isIPv4(port[1]) || isDnsName(port[1]))) {
        return `a host with a port; set the host alone, and the port with pulumi config set databasePort ${port[2]}`;
    }
    if (/^\[.*\]$/.test(host)) return "an IPv6 address in brackets; give it without them (the URL adds them)";
    if (/^[\d.]+$/.test(host)) return isIPv4(host) ? undefined : `not an IPv4 address; expected ${APP_HOST_EXPECTED}`;
    return isDnsName(host) ? undefined : `expected ${APP_HOST_EXPECTED}`;
}

function isDnsName(host: string): boolean {
    const labels = host.replace(/\.$/, "").split(".");
    return (
        host.length <= 253 &&
        labels.every((l) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l)) &&
        !labels.every((l) => /^\d+$/.test(l))
    );
}

/** Throws unless `generation` is a whole number >= 1; `key` names the setting in the message. */
export function checkGeneration(generation: number, key = "rotation generation"): void {
    if (!Number.isSafeInteger(generation) || generation < 1) {
        throw new RangeError(`${key}: got ${generation}; expected a whole number >= 1`);
    }
}

/** The slot a generation makes active: odd generations use blue, even ones green. */
export function activeSlot(generation: number): Slot {
    checkGeneration(generation, "databaseCredentialGeneration");
    return generation % 2 === 1 ? "blue" : "green";
}

/** The slot that is not active at this generation. */
export function standbySlot(generation: number): Slot {
    return activeSlot(generation) === "blue" ? "green" : "blue";
}

/**
 * The last generation, up to and including this one, that activated `slot` (0 for green at generation 1).
 * A slot's password is kept by this number, so a bump regenerates only the slot it activates.
 */
export function slotKeeper(generation: number, slot: Slot): number {
    return activeSlot(generation) === slot ? generation : generation - 1;
}

/** The login role of a slot: `<prefix>_blue` or `<prefix>_green`, the same name in every generation. */
export function roleName(prefix: string, slot: Slot): string {
    if (!ROLE_PATTERN.test(prefix) || prefix.length > MAX_ROLE_PREFIX_LENGTH) {
        throw new RangeError(
            `databaseRolePrefix: got ${JSON.stringify(prefix)}; expected a lower-case identifier ` +
                `(a-z, 0-9, _; not starting with a digit) of at most ${MAX_ROLE_PREFIX_LENGTH} characters`,
        );
    }
    return `${prefix}_${slot}`;
}

/**
 * Why `ownerRole` cannot be the role that owns the tables beside the login roles of `prefix`, or undefined when it can.
 * The login roles alternate and lose LOGIN in turn, so the owner must be neither of them; and both act as the owner
 * (`SET ROLE` at login), so a superuser (`postgres`), a built-in `pg_*` role or the admin role `adminRole` would hand
 * the app's login powers far beyond owning its tables.
 */
export function ownerRoleProblem(prefix: string, ownerRole: string, adminRole?: string): string | undefined {
    const logins = SLOTS.map((slot) => roleName(prefix, slot));
    const expected = "expected the existing role that owns the app's tables and nothing more";
    if (ownerRole === "" || logins.includes(ownerRole)) {
        return `got ${JSON.stringify(ownerRole)}; ${expected}, not one of the login roles ${logins.join(" and ")}`;
    }
    if (ownerRole === "postgres") {
        return `got "postgres", the superuser: the app's login roles act as the owner, so they would act as superuser; ${expected}`;
    }
    if (ownerRole.startsWith("pg_")) {
        return `got ${JSON.stringify(ownerRole)}, a role built into PostgreSQL (pg_*) whose powers the app's logins would inherit; ${expected}`;
    }
    if (adminRole !== undefined && ownerRole === adminRole) {
        return `got ${JSON.stringify(ownerRole)}, the admin role the program connects as (it creates roles and ends sessions): the app's logins would inherit that; ${expected}`;
    }
    return undefined;
}

/**
 * Percent-encodes every character outside RFC 3986's unreserved set, so no reserved character
 * (`:/?#[]@!$&'()*+,;=`, or `%` itself) in a user name or password can end a URL component early.
 */
export function encodeUrlComponent(text: string): string {
    return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** What `databaseUrl` composes: the app's view of the database, not the admin connection. */
export interface DatabaseUrlParts {
    readonly user: string;
    readonly password: string;
    /** The host the app connects to (Render's internal host name, say). */
    readonly host: string;
    readonly port: number;
    readonly database: string;
    readonly sslMode: string;
    /** Set as `application_name`: what tells the service's sessions from anyone else's on the same login. */
    readonly applicationName: string;
}

/** `postgresql://user:password@host:port/database?sslmode=...&application_name=...`, user and password percent-encoded. */
export function databaseUrl(parts: DatabaseUrlParts): string {
    const { user, password, host, port, database, sslMode, applicationName } = parts;
    // Messages name the part, never the password's value.
    if (user === "") throw new RangeError("DATABASE_URL: the user name is empty");
    if (password === "") throw new RangeError(`DATABASE_URL: the password of ${user} is empty`);
    const hostProblem = appHostProblem(host);
    if (hostProblem) throw new RangeError(`databaseAppHost: got ${JSON.stringify(host)}; ${hostProblem}`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new RangeError(`databasePort: got ${port}; expected a whole number from 1 to 65535`);
    }
    if (!DATABASE_NAME_PATTERN.test(database)) {
        throw new RangeError(
            `databaseName: got ${JSON.stringify(database)}; expected letters, digits, '_', '-' and '.' (not starting with '-' or '.')`,
        );
    }
    if (!(SSL_MODES as readonly string[]).includes(sslMode)) {
        throw new RangeError(
            `databaseSslMode: got ${JSON.stringify(sslMode)}; expected one of ${SSL_MODES.join(", ")}`,
        );
    }
    const hostPart = host.includes(":") ? `[${host}]` : host;
    const query = `sslmode=${sslMode}&application_name=${encodeUrlComponent(applicationName)}`;
    return `postgresql://${encodeUrlComponent(user)}:${encodeUrlComponent(password)}@${hostPart}:${port}/${database}?${query}`;
}

/**
 * The SECRET_KEY form the runbook's `secrets.token_urlsafe(32)` prints: 32 random bytes as URL-safe base64 without
 * padding (43 characters).
 */
export function secretKeyOf(bytes: Uint8Array): string {
    if (bytes.length !== 32) throw new RangeError(`SECRET_KEY: got ${bytes.length} random bytes; expected 32`);
    return Buffer.from(bytes).toString("base64url");
}
