// Where the credentials go: the admin connection's password only in encrypted config, and only over verified TLS to a
// host that is not this machine. Judged on the stack's other namespaces (postgresql:...) and the environment's libpq
// variables, with the project's parsed settings.
import { isLoopbackHost } from "../../lib/ip";
import { SSL_MODES } from "../rotation";
import type { ConfigProblem } from "./kit";

/** The `pulumi config set` that stores the admin password encrypted. */
const SET_ADMIN_PASSWORD = "`pulumi config set --secret postgresql:password <the admin password>`";

/**
 * The stack's secrets that live in other namespaces' keys: wherever one appears in plain text (in the stack file
 * without `secure:`), it is a problem, whether or not the program uses it yet.
 */
export function plainTextSecretProblems(
    providerConfig: Record<string, string | undefined>,
    secretKeys: ReadonlySet<string>,
): ConfigProblem[] {
    if (!providerConfig["postgresql:password"] || secretKeys.has("postgresql:password")) return [];
    return [
        {
            key: "postgresql:password",
            message: `is stored in plain text; expected ${SET_ADMIN_PASSWORD}, which replaces it with the encrypted value`,
        },
    ];
}

/** The libpq variables the admin connection falls back on when the stack's postgresql: settings leave a part unset. */
export interface AdminTlsEnvironment {
    readonly PGHOST?: string;
    readonly PGSSLMODE?: string;
    readonly PGSSLROOTCERT?: string;
}

/** Where the admin connection goes and how, as the providers will resolve it, with where each part came from. */
export interface AdminTarget {
    readonly host: string;
    readonly hostFrom: string;
    readonly sslmode: string;
    readonly sslmodeFrom: string;
    readonly sslrootcert?: string;
}

/**
 * The admin connection's host and sslmode: the stack's postgresql:host and postgresql:sslmode, else (when the program
 * will connect: `managed`) libpq's PGHOST and PGSSLMODE, else libpq's defaults (localhost, prefer).
 */
export function adminTarget(
    providerConfig: Record<string, string | undefined>,
    environment: AdminTlsEnvironment,
    managed: boolean,
): AdminTarget {
    const pick = (key: string, variable: keyof AdminTlsEnvironment, fallback: string) => {
        if (providerConfig[key]) return { value: providerConfig[key] as string, from: key };
        if (managed && environment[variable]) return { value: environment[variable] as string, from: variable };
        return { value: fallback, from: `libpq's default: neither ${key} nor ${variable} is set` };
    };
    const host = pick("postgresql:host", "PGHOST", "localhost");
    const sslmode = pick("postgresql:sslmode", "PGSSLMODE", "prefer");
    const sslrootcert =
        providerConfig["postgresql:sslrootcert"] || (managed ? environment.PGSSLROOTCERT : undefined) || undefined;
    return { host: host.value, hostFrom: host.from, sslmode: sslmode.value, sslmodeFrom: sslmode.from, sslrootcert };
}

/** The modes that encrypt but, without a CA to check against, accept any certificate. */
const UNVERIFIED = new Set(["allow", "prefer", "require"]);

/**
 * The admin connection's TLS, judged before anything connects: a mode libpq does not know, or `disable` to a host that
 * is not this machine (the admin password would cross the network in the clear), is a problem. `managed` says the
 * program will connect (databaseAppHost is set): only then do libpq's variables count, as the stack does not use them.
 */
export function adminTlsProblems(
    providerConfig: Record<string, string | undefined>,
    environment: AdminTlsEnvironment,
    managed: boolean,
): ConfigProblem[] {
    const target = adminTarget(providerConfig, environment, managed);
    const key = target.sslmodeFrom === "PGSSLMODE" ? "postgresql:sslmode (PGSSLMODE)" : "postgresql:sslmode";
    if (!(SSL_MODES as readonly string[]).includes(target.sslmode)) {
        return [
            {
                key,
                message:
                    `got ${JSON.stringify(target.sslmode)}; expected one of ${SSL_MODES.join(", ")}: ` +
                    "`pulumi config set postgresql:sslmode verify-full`",
            },
        ];
    }
    if (target.sslmode === "verify-ca" && (!target.sslrootcert || target.sslrootcert === "system")) {
        return [
            {
                key,
                message:
                    'got "verify-ca", which checks only who signed the certificate, with no CA of its own ' +
                    "(postgresql:sslrootcert): against the public CAs anyone holding a certificate would pass; expected " +
                    "`pulumi config set postgresql:sslrootcert <the CA's PEM file>`, or " +
                    "`pulumi config set postgresql:sslmode verify-full`",
            },
        ];
    }
    if (target.sslmode === "disable" && !isLocalHost(target.host)) {
        return [
            {
                key,
                message:
                    `got "disable", but the admin connection goes to ${target.host} (${target.hostFrom}), not this machine: ` +
                    "its password would cross the network unencrypted; expected verify-full (the host's certificate checked " +
                    "against a CA): `pulumi config set postgresql:sslmode verify-full`",
            },
        ];
    }
    return [];
}

/** The app's DATABASE_URL: `disable` to a host that is not this machine sends the app's password in the clear. */
export function appTlsProblems(config: {
    readonly databaseAppHost?: string;
    readonly databaseSslMode: string;
}): ConfigProblem[] {
    const host = config.databaseAppHost;
    if (!host || config.databaseSslMode !== "disable" || isLocalHost(host)) return [];
    return [
        {
            key: "databaseSslMode",
            message:
                `got "disable", but DATABASE_URL's host ${host} (databaseAppHost) is not this machine: the app's password ` +
                "would cross the network unencrypted; expected require or, where the host's certificate can be checked, " +
                "verify-full: `pulumi config set databaseSslMode require`",
        },
    ];
}

/** One connection whose TLS encrypts without checking who answers, and the setting that makes it check. */
export interface UnverifiedTls {
    readonly what: string;
    readonly key: string;
    readonly value: string;
}

/**
 * The database connections to a host that is not this machine whose TLS is not verified (`allow`, `prefer` or `require`
 * without a CA): whoever answers at the address gets the password. For the readiness report, beside the actions that
 * use them; empty when every such connection is verified or stays on this machine.
 */
export function unverifiedTls(
    config: { readonly databaseAppHost?: string; readonly databaseSslMode: string },
    providerConfig: Record<string, string | undefined>,
    environment: AdminTlsEnvironment,
): UnverifiedTls[] {
    if (!config.databaseAppHost) return [];
    const found: UnverifiedTls[] = [];
    const admin = adminTarget(providerConfig, environment, true);
    if (UNVERIFIED.has(admin.sslmode) && !admin.sslrootcert && !isLocalHost(admin.host)) {
        found.push({
            what: `the admin connection to ${admin.host} uses sslmode ${admin.sslmode} (${admin.sslmodeFrom}), which accepts any certificate`,
            key: "postgresql:sslmode",
            value: "verify-full",
        });
    }
    if (UNVERIFIED.has(config.databaseSslMode) && !isLocalHost(config.databaseAppHost)) {
        found.push({
            what: `the app's DATABASE_URL to ${config.databaseAppHost} uses sslmode ${config.databaseSslMode} (databaseSslMode)`,
            key: "databaseSslMode",
            value: "verify-full",
        });
    }
    return found;
}

/** A loopback host or a Unix socket directory: a connection that never leaves this machine. */
function isLocalHost(host: string): boolean {
    return host.startsWith("/") || isLoopbackHost(host);
}
