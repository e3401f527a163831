// The LoginProof provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts).
import type * as pulumi from "@pulumi/pulumi";
import { proveLogin, rememberAdminConfig } from "./sql";

export interface LoginProofInputs {
    /** The app's new DATABASE_URL (a secret): its user and password are the login proved. */
    readonly databaseUrl: string;
}

export interface LoginProofOutputs extends LoginProofInputs {
    /** The login the server said it let in. */
    readonly role: string;
    /** When it did (RFC 3339). */
    readonly provedAt: string;
}

async function prove(inputs: LoginProofInputs): Promise<LoginProofOutputs> {
    const role = await proveLogin(inputs.databaseUrl);
    return { databaseUrl: inputs.databaseUrl, role, provedAt: new Date().toISOString() };
}

/** Logs in with the new credentials before anything hands them to the app; runs again whenever the URL changes. */
export const loginProofProvider: pulumi.dynamic.ResourceProvider<LoginProofInputs, LoginProofOutputs> = {
    async configure(req) {
        rememberAdminConfig(req.config);
    },

    async diff(_id, olds, news) {
        return { changes: olds.databaseUrl !== news.databaseUrl, replaces: [] };
    },

    async create(inputs) {
        const outs = await prove(inputs);
        return { id: outs.role, outs };
    },

    async update(_id, _olds, news) {
        return { outs: await prove(news) };
    },

    // A proof is an event: a refresh keeps what it saw.
    async read(id, props) {
        if (!props) throw new Error(`cannot import ${id}: LoginProof is an action; declare it in the program instead`);
        return { id, props, inputs: { databaseUrl: props.databaseUrl } as LoginProofOutputs };
    },

    async delete() {},
};
