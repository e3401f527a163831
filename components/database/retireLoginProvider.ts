// The RetireLogin provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts).
import type * as pulumi from "@pulumi/pulumi";
import { adminSettings, connectAdmin, proveLogin, rememberAdminConfig, sqlState } from "./sql";

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
 * Retires `role` only on proof: the new URL logs in now, and every session still on `role` is the old app's (it has the
 * service's application_name and opened before the new deploy went live). Then LOGIN goes and those sessions end.
 * Anything else on the login (another service, a cron job, a person) fails the step, naming each session, with the
 * role left as it is: a second client is never cut off silently.
 */
async function retire(inputs: RetireLoginInputs): Promise<number> {
    const successor = await proveLogin(inputs.databaseUrl);
    if (successor === inputs.role) {
        throw new Error(`not retiring ${inputs.role}: the new DATABASE_URL logs in as ${inputs.role} itself`);
    }
    const client = await connectAdmin(inputs.database);
    try {
        const role = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [inputs.role]);
        if (role.rows.length === 0) return 0;
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
            (s) =>
                s.application_name !== inputs.applicationName || (s.backend_start?.getTime() ?? Infinity) > liveSince,
        );
        if (foreign.length > 0) {
            throw new Error(
                `not retiring ${inputs.role}: ${foreign.length} of its sessions are not the old app's (not application_name ` +
                    `${JSON.stringify(inputs.applicationName)}, or opened after the new deploy went live at ${inputs.liveSince}): ` +
                    `${foreign.map(describeSession).join("; ")}. ${inputs.role} keeps its login; move whatever holds ` +
                    `those sessions to the new DATABASE_URL (now ${successor}), then run pulumi up again`,
            );
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
