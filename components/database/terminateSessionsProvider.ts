// The TerminateSessions provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts).
import type * as pulumi from "@pulumi/pulumi";
import { adminSettings, connectAdmin, rememberAdminConfig, sqlState } from "./sql";

export interface TerminateSessionsInputs {
    /** Any database the admin can reach; `pg_stat_activity` covers the whole cluster. */
    readonly database: string;
    /** The retired role whose sessions end. */
    readonly role: string;
    /** `databaseCredentialGeneration`: a new generation ends the sessions again. */
    readonly generation: number;
}

export interface TerminateSessionsOutputs extends TerminateSessionsInputs {
    /** Sessions ended by the last run. */
    readonly terminated: number;
}

// How long pg_terminate_backend waits for each session to be gone, so the next step never meets a dying one.
const TERMINATE_WAIT_MS = 5000;

/** Ends every session of `role`; refuses if the role can still log in, since those sessions may be the live app's. */
async function terminate(inputs: TerminateSessionsInputs): Promise<number> {
    const client = await connectAdmin(inputs.database);
    try {
        const role = await client.query<{ rolcanlogin: boolean }>(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1",
            [inputs.role],
        );
        if (role.rows.length === 0) return 0;
        if (role.rows[0].rolcanlogin) {
            throw new Error(
                `role ${inputs.role} can still log in, so its sessions may be the running app's; ` +
                    "sessions are ended only for a retired role (declare its postgresql.Role with login: false first)",
            );
        }
        const result = await client.query<{ ended: boolean }>(
            "SELECT pg_terminate_backend(pid, $2) AS ended FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()",
            [inputs.role, TERMINATE_WAIT_MS],
        );
        return result.rows.filter((row) => row.ended).length;
    } catch (err) {
        if (sqlState(err) === "42501") {
            const admin = adminSettings(inputs.database).user;
            throw new Error(
                `${admin} may not end the sessions of ${inputs.role}: ${(err as Error).message}; ` +
                    `grant it the right with GRANT pg_signal_backend TO ${admin}`,
                { cause: err },
            );
        }
        throw err;
    } finally {
        await client.end();
    }
}

/** The provider: the admin connection read inside each method, from `configure` or libpq's PG* variables. */
export const terminateSessionsProvider: pulumi.dynamic.ResourceProvider<
    TerminateSessionsInputs,
    TerminateSessionsOutputs
> = {
    async configure(req) {
        rememberAdminConfig(req.config);
    },

    async diff(_id, olds, news) {
        // An action, not a thing: any changed input is a new run, in place.
        const changed =
            olds.role !== news.role || olds.generation !== news.generation || olds.database !== news.database;
        return { changes: changed, replaces: [] };
    },

    async create(inputs) {
        const terminated = await terminate(inputs);
        return { id: inputs.role, outs: { ...pick(inputs), terminated } satisfies TerminateSessionsOutputs };
    },

    async update(_id, _olds, news) {
        const terminated = await terminate(news);
        return { outs: { ...pick(news), terminated } satisfies TerminateSessionsOutputs };
    },

    // Nothing to read back: ended sessions stay ended, and a retired role cannot open new ones.
    async read(id, props) {
        if (!props)
            throw new Error(`cannot import ${id}: TerminateSessions is an action; declare it in the program instead`);
        // The SDK types `inputs` as the outputs' shape; what the engine wants there is the inputs.
        return { id, props, inputs: pick(props) as TerminateSessionsOutputs };
    },

    // Deleting the record undoes nothing.
    async delete() {},
};

function pick(inputs: TerminateSessionsInputs): TerminateSessionsInputs {
    return { database: inputs.database, role: inputs.role, generation: inputs.generation };
}
