// The RetireLogin provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts).
import type * as pulumi from "@pulumi/pulumi";
import type { Client } from "pg";
import { APP_LOGIN_WAIT_SECONDS } from "../upWaits";
import { adminSettings, connectAdmin, proveLogin, rememberAdminConfig, sqlState } from "./sql";
import { drillMs } from "../render/providerSupport";

export interface RetireLoginInputs {
    /** Any database the admin can reach; `pg_stat_activity` covers the whole cluster. */
    readonly database: string;
    /** The previously active login role, to retire. */
    readonly role: string;
    /** The new DATABASE_URL (secret): logged in with once more, just before its predecessor goes. */
    readonly databaseUrl: string;
    /** `databaseCredentialGeneration`: a new generation retires again. */
    readonly generation: number;
    /** The `application_name` the service's DATABASE_URL sets: a session without it is not the service's. */
    readonly applicationName: string;
    /** When the deploy carrying the new URL went live (RFC 3339): the old app's sessions are all older. */
    readonly liveSince: string;
}

export interface RetireLoginOutputs extends RetireLoginInputs {
    /** Sessions of the old app ended by the last run. */
    readonly terminated: number;
}

// How long pg_terminate_backend waits for each session to be gone, so the next step never meets a dying one.
const TERMINATE_WAIT_MS = 5000;
// Between two looks for the app's sessions on the new login.
const APP_LOGIN_POLL_MS = 250;

/** How long to wait for the app's sessions on the new login: APP_LOGIN_WAIT_SECONDS, or a drill's AHOY_APP_LOGIN_WAIT_MS. */
export function appLoginWaitMs(env: NodeJS.ProcessEnv): number {
    return drillMs(env, "AHOY_APP_LOGIN_WAIT_MS", 0) ?? APP_LOGIN_WAIT_SECONDS * 1_000;
}

interface Session {
    pid: number;
    application_name: string;
    client_addr: string | null;
    /** Null when the admin may not see the session's details (no pg_read_all_stats). */
    backend_start: Date | null;
}

function describeSession(s: Session): string {
    return (
        `pid ${s.pid} (application_name ${JSON.stringify(s.application_name)}, from ${s.client_addr ?? "a local socket"}, ` +
        `since ${s.backend_start?.toISOString() ?? "an unknown time"})`
    );
}

/**
 * Retires `role` only on proof: the new URL logs in now; the app itself runs on it (pg_stat_activity shows sessions of
 * the new role with the service's application_name, within a bounded wait: the deploy's own pool logged in with the
 * URL it was given, through ITS host and port, which this step cannot reach); and every session still on `role` is the
 * old app's (it has the service's application_name and opened before the new deploy went live). Then LOGIN goes and
 * those sessions end. Anything else on the login (another service, a cron job, a person) fails the step, naming each
 * session, with the role left as it is: a second client is never cut off silently. No sessions of the app on the new
 * login fails the step too, the old login kept: the next `up` tries again.
 */
async function retire(inputs: RetireLoginInputs): Promise<number> {
    const successor = await proveLogin(inputs.databaseUrl);
    if (successor === inputs.role) {
        throw new Error(`not retiring ${inputs.role}: the new DATABASE_URL logs in as ${inputs.role} itself`);
    }
    const client = await connectAdmin(inputs.database);
    try {
        const role = await client.query<{ login: boolean }>(
            "SELECT rolcanlogin AS login FROM pg_roles WHERE rolname = $1",
            [inputs.role],
        );
        if (role.rows.length === 0) return 0;
        const sessions = await oldSessions(client, inputs, successor);
        // A login already gone with nothing left on it takes nothing from the app: no proof is owed first.
        if (role.rows[0].login || sessions.length > 0) {
            await appRunsOn(client, successor, inputs);
            // Whatever opened on the old login while the app's sessions were awaited is checked too.
            await oldSessions(client, inputs, successor);
        }
        await client.query(`ALTER ROLE ${client.escapeIdentifier(inputs.role)} NOLOGIN`);
        const ended = await client.query<{ ended: boolean }>(
            "SELECT pg_terminate_backend(pid, $2) AS ended FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()",
            [inputs.role, TERMINATE_WAIT_MS],
        );
        return ended.rows.filter((row) => row.ended).length;
    } catch (err) {
        if (sqlState(err) === "42501") {
            const admin = adminSettings(inputs.database).user;
            throw new Error(
                `${admin} may not retire ${inputs.role}: ${(err as Error).message}; it needs CREATEROLE (and, on ` +
                    `PostgreSQL 16+, ADMIN OPTION on the role) and GRANT pg_signal_backend TO ${admin}`,
                { cause: err },
            );
        }
        throw err;
    } finally {
        await client.end();
    }
}

/** The sessions on the old login, all the old app's; throws naming any that is not, or that cannot be told apart. */
async function oldSessions(client: Client, inputs: RetireLoginInputs, successor: string): Promise<Session[]> {
    const sessions = (
        await client.query<Session>(
            "SELECT pid, application_name, host(client_addr) AS client_addr, backend_start " +
                "FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid() ORDER BY backend_start",
            [inputs.role],
        )
    ).rows;
    const hidden = sessions.filter((s) => s.backend_start === null);
    if (hidden.length > 0) {
        // PostgreSQL shows who holds another role's sessions only to members of pg_read_all_stats: what cannot be
        // seen cannot be shown to be the old app's, so nothing is retired.
        const admin = adminSettings(inputs.database).user;
        throw new Error(
            `not retiring ${inputs.role}: ${hidden.length} of its sessions (pids ${hidden.map((s) => s.pid).join(", ")}) ` +
                `cannot be told apart, since ${admin} may not see where they come from; GRANT pg_read_all_stats TO ` +
                `${admin}, then run pulumi up again (${inputs.role} keeps its login meanwhile)`,
        );
    }
    const liveSince = Date.parse(inputs.liveSince);
    const foreign = sessions.filter(
        (s) => s.application_name !== inputs.applicationName || (s.backend_start?.getTime() ?? Infinity) > liveSince,
    );
    if (foreign.length > 0) {
        throw new Error(
            `not retiring ${inputs.role}: ${foreign.length} of its sessions are not the old app's (not application_name ` +
                `${JSON.stringify(inputs.applicationName)}, or opened after the new deploy went live at ${inputs.liveSince}): ` +
                `${foreign.map(describeSession).join("; ")}. ${inputs.role} keeps its login; move whatever holds ` +
                `those sessions to the new DATABASE_URL (now ${successor}), then run pulumi up again`,
        );
    }
    return sessions;
}

/**
 * Waits (at most appLoginWaitMs) until the app has sessions on the new login: `successor`'s, with the service's
 * application_name. None: throws saying the app has not logged in with the new URL, naming its host and port.
 */
async function appRunsOn(client: Client, successor: string, inputs: RetireLoginInputs): Promise<void> {
    const waitMs = appLoginWaitMs(process.env);
    const until = Date.now() + waitMs;
    for (;;) {
        const seen = (
            await client.query<{ app: number; hidden: number }>(
                "SELECT count(*) FILTER (WHERE application_name = $2)::int AS app, " +
                    "count(*) FILTER (WHERE backend_start IS NULL)::int AS hidden " +
                    "FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()",
                [successor, inputs.applicationName],
            )
        ).rows[0];
        if (seen.app > 0) return;
        if (seen.hidden > 0) {
            const admin = adminSettings(inputs.database).user;
            throw new Error(
                `not retiring ${inputs.role}: ${successor} has ${seen.hidden} sessions, but ${admin} may not see whether ` +
                    `they are the app's (their application_name); GRANT pg_read_all_stats TO ${admin}, then run ` +
                    `pulumi up again (${inputs.role} keeps its login meanwhile)`,
            );
        }
        if (Date.now() >= until) break;
        await new Promise((resolve) => setTimeout(resolve, Math.min(APP_LOGIN_POLL_MS, until - Date.now())));
    }
    const url = new URL(inputs.databaseUrl);
    const where = `${url.hostname}:${url.port || "5432"}`;
    throw new Error(
        `not retiring ${inputs.role}: the app has not logged in with the new DATABASE_URL: no session of ${successor} ` +
            `with application_name ${JSON.stringify(inputs.applicationName)} appeared within ${waitMs / 1000} s after ` +
            `the deploy went live at ${inputs.liveSince}. The URL's login works from here, through the admin ` +
            `connection's host, so the app may not reach ${where}: check databaseAppHost and databasePort ` +
            `(pulumi config set databasePort ...). ${inputs.role} keeps its login (a rollback, releasePin to the ` +
            `previous deploy, puts the app back on it); the next pulumi up deploys a corrected URL and tries again`,
    );
}

function pick(inputs: RetireLoginInputs): RetireLoginInputs {
    const { database, role, databaseUrl, generation, applicationName, liveSince } = inputs;
    return { database, role, databaseUrl, generation, applicationName, liveSince };
}

/** The provider: the admin connection read inside each method, from `configure` or libpq's PG* variables. */
export const retireLoginProvider: pulumi.dynamic.ResourceProvider<RetireLoginInputs, RetireLoginOutputs> = {
    async configure(req) {
        rememberAdminConfig(req.config);
    },

    async diff(_id, olds, news) {
        // A retirement, not a thing: it runs again for a new role, generation or URL; a later deploy (liveSince) alone
        // does not retire anything again.
        const changed = (["role", "generation", "database", "databaseUrl"] as const).some(
            (key) => olds[key] !== news[key],
        );
        return { changes: changed, replaces: [] };
    },

    async create(inputs) {
        const terminated = await retire(inputs);
        return { id: inputs.role, outs: { ...pick(inputs), terminated } };
    },

    async update(_id, _olds, news) {
        const terminated = await retire(news);
        return { outs: { ...pick(news), terminated } };
    },

    // Nothing to read back: ended sessions stay ended, and a retired role cannot open new ones.
    async read(id, props) {
        if (!props) throw new Error(`cannot import ${id}: RetireLogin is an action; declare it in the program instead`);
        // The SDK types `inputs` as the outputs' shape; what the engine wants there is the inputs.
        return { id, props, inputs: pick(props) as RetireLoginOutputs };
    },

    // Deleting the record undoes nothing.
    async delete() {},
};
