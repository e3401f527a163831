// The RotationGate provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts).
import type * as pulumi from "@pulumi/pulumi";
import { connectAdmin, rememberAdminConfig } from "./sql";

export interface RotationGateInputs {
    /** Any database the admin can reach; roles belong to the whole cluster. */
    readonly database: string;
    /** `databaseCredentialGeneration`. */
    readonly generation: number;
    /** The login role this generation activates: the one about to get a new password. */
    readonly activeRole: string;
    /** The role it takes over from. */
    readonly standbyRole: string;
}

export type RotationGateOutputs = RotationGateInputs;

/**
 * Why giving `activeRole` a new password now could cut the app off, or undefined when it cannot. The role a new
 * generation activates is the one the previous rotation retired (LOGIN taken away only once its successor was live
 * and proven). If it can still log in, that retirement never ran: the previous generation did not go live, the app
 * may be running on this very role, and a new password would lock it out.
 */
async function refusal(olds: Partial<RotationGateInputs>, news: RotationGateInputs): Promise<string | undefined> {
    const client = await connectAdmin(news.database);
    try {
        const found = await client.query<{ rolcanlogin: boolean }>(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1",
            [news.activeRole],
        );
        if (found.rows.length === 0 || !found.rows[0].rolcanlogin) return undefined;
    } finally {
        await client.end();
    }
    if (olds.generation === undefined) {
        return (
            `generation ${news.generation} would give ${news.activeRole} a new password, but ${news.activeRole} already ` +
            `exists and can log in, so something may use it; if nothing does, run ALTER ROLE ${news.activeRole} NOLOGIN, ` +
            `then pulumi up again`
        );
    }
    return (
        `generation ${news.generation} would give ${news.activeRole} a new password, but ${news.activeRole} can still log ` +
        `in: generation ${olds.generation} never went live (its deploy, verification or login proof failed, so ` +
        `${news.activeRole} was never retired) and the app may still run on it. Finish generation ${olds.generation} ` +
        `first: set databaseCredentialGeneration back to ${olds.generation}, run pulumi up until it succeeds, then bump it`
    );
}

/** Refuses, at preview and at `up`, a rotation that would change the password of the login the app may be using. */
export const rotationGateProvider: pulumi.dynamic.ResourceProvider<RotationGateInputs, RotationGateOutputs> = {
    async configure(req) {
        rememberAdminConfig(req.config);
    },

    async check(olds, news) {
        // The same generation is a re-run (or nothing at all): its password is already set, no new one is made.
        if (olds.generation === news.generation) return { inputs: news, failures: [] };
        try {
            const why = await refusal(olds, news);
            return { inputs: news, failures: why ? [{ property: "generation", reason: why }] : [] };
        } catch (err) {
            return {
                inputs: news,
                failures: [
                    {
                        property: "generation",
                        reason: `could not check that generation ${news.generation} is safe to start: ${(err as Error).message}`,
                    },
                ],
            };
        }
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
