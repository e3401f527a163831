// Proves that the app's new database credentials log in, before DATABASE_URL is written with them.
import * as pulumi from "@pulumi/pulumi";
import { ModuleResource, moduleProvider } from "../dynamicProvider";

export type { LoginProofInputs, LoginProofOutputs } from "./loginProofProvider";

/** The provider every resource of this type carries in the state: it requires the implementation in the provider host. */
export const loginProofProvider = moduleProvider("postgres", "LoginProof");

export interface LoginProofArgs {
    /** The new DATABASE_URL (secret). */
    readonly databaseUrl: pulumi.Input<string>;
}

/** A login with the new DATABASE_URL's user and password, through the admin connection's host; fails the `up` if refused. */
export class LoginProof extends ModuleResource {
    declare public readonly role: pulumi.Output<string>;
    declare public readonly provedAt: pulumi.Output<string>;

    constructor(name: string, args: LoginProofArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            loginProofProvider,
            name,
            { databaseUrl: pulumi.secret(args.databaseUrl), role: undefined, provedAt: undefined },
            pulumi.mergeOptions(opts, { additionalSecretOutputs: ["databaseUrl"] }),
        );
    }
}
