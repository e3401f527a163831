// The RotationGate provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts).
import type * as pulumi from "@pulumi/pulumi";
import { gateRefusal, type GateRoles, type RoleFacts, rolesToAsk } from "./rotationRules";
import { connectAdmin, rememberAdminConfig } from "./sql";

export interface RotationGateInputs extends GateRoles {
    /** Any database the admin can reach; roles belong to the whole cluster. */
    readonly database: string;
}

export type RotationGateOutputs = RotationGateInputs;

/** What the database says of `names`: absent, or whether each can log in. */
async function roleFacts(database: string, names: string[]): Promise<RoleFacts> {
    if (names.length === 0) return {};
    const client = await connectAdmin(database);
    try {
        const found = await client.query<{ rolname: string; rolcanlogin: boolean }>(
            "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1)",
            [names],
        );
        return Object.fromEntries(found.rows.map((r) => [r.rolname, { canLogin: r.rolcanlogin }]));
    } finally {
        await client.end();
    }
}

/**
 * Refuses, at preview and at `up`, a generation that would change the password of a login the app may be using: a
 * bump while the previous one never went live, a lower generation (a retired password must never come back), a jump,
 * a new role prefix (it would rename the live login).
 */
export const rotationGateProvider: pulumi.dynamic.ResourceProvider<RotationGateInputs, RotationGateOutputs> = {
    async configure(req) {
        rememberAdminConfig(req.config);
    },

    async check(olds, news) {
        const asked = rolesToAsk(olds, news);
        let roles: RoleFacts;
        try {
            // What the state alone decides asks the database nothing: a no-op preview costs no connection.
            roles = await roleFacts(news.database, asked);
        } catch (err) {
            const reason = `could not check that generation ${news.generation} is safe to start: ${(err as Error).message}`;
            return { inputs: news, failures: [{ property: "generation", reason }] };
        }
        const refusal = gateRefusal(olds, news, roles);
        return { inputs: news, failures: refusal ? [{ property: "generation", reason: refusal }] : [] };
    },

    async diff(_id, olds, news) {
        const changed = (["database", "generation", "activeRole", "standbyRole"] as const).some(
            (key) => olds[key] !== news[key],
        );
        return { changes: changed, replaces: [] };
    },

    async create(inputs) {
        return { id: `generation-${inputs.generation}`, outs: { ...inputs } };
    },

    async update(_id, _olds, news) {
        return { outs: { ...news } };
    },

    async read(id, props) {
        if (!props) throw new Error(`cannot import ${id}: RotationGate is a check; declare it in the program instead`);
        return { id, props, inputs: props };
    },

    async delete() {},
};
