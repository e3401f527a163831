// Retires the app's previous database login once its successor is live and proven, without cutting off anyone else.
import * as pulumi from "@pulumi/pulumi";
import { ModuleResource, moduleProvider } from "../dynamicProvider";

export type { RetireLoginInputs, RetireLoginOutputs } from "./retireLoginProvider";

/** The provider every resource of this type carries in the state: it requires the implementation (and `pg`) in the host. */
export const retireLoginProvider = moduleProvider("postgres", "RetireLogin");

export interface RetireLoginArgs {
    /** Any database the admin can reach (the app's). */
    readonly database: pulumi.Input<string>;
    /** The previously active login role. */
    readonly role: pulumi.Input<string>;
    /** The new DATABASE_URL (secret), proved once more just before. */
    readonly databaseUrl: pulumi.Input<string>;
    /** `databaseCredentialGeneration`. */
    readonly generation: pulumi.Input<number>;
    /** The application_name the service's DATABASE_URL sets. */
    readonly applicationName: pulumi.Input<string>;
    /** When the deploy with the new URL went live. */
    readonly liveSince: pulumi.Input<string>;
}

/**
 * Takes LOGIN from the previous role and ends the old app's sessions on it, after checking that the new URL logs in
 * and that nothing but the old app still uses the old login; otherwise fails naming what it found.
 */
export class RetireLogin extends ModuleResource {
    declare public readonly role: pulumi.Output<string>;
    declare public readonly generation: pulumi.Output<number>;
    declare public readonly terminated: pulumi.Output<number>;

    constructor(name: string, args: RetireLoginArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            retireLoginProvider,
            name,
            { ...args, databaseUrl: pulumi.secret(args.databaseUrl), terminated: undefined },
            pulumi.mergeOptions(opts, { additionalSecretOutputs: ["databaseUrl"] }),
        );
    }
}
