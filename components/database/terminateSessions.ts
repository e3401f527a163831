// Ends the sessions a retired login role still holds, so its password is useless the moment its LOGIN is gone.
import * as pulumi from "@pulumi/pulumi";
import { ModuleResource, moduleProvider } from "../dynamicProvider";

export type { TerminateSessionsInputs, TerminateSessionsOutputs } from "./terminateSessionsProvider";

/** The provider every resource of this type carries in the state: it requires the implementation (and with it `pg`) in the provider host. */
export const terminateSessionsProvider = moduleProvider("postgres", "TerminateSessions");

export interface TerminateSessionsArgs {
    /** Any database the admin can reach (the app's). */
    readonly database: pulumi.Input<string>;
    /** The retired role whose sessions end. */
    readonly role: pulumi.Input<string>;
    /** `databaseCredentialGeneration`. */
    readonly generation: pulumi.Input<number>;
}

/** Ends the sessions of a role that has just lost its LOGIN; runs again whenever the generation changes. */
export class TerminateSessions extends ModuleResource {
    declare public readonly role: pulumi.Output<string>;
    declare public readonly generation: pulumi.Output<number>;
    declare public readonly terminated: pulumi.Output<number>;

    constructor(name: string, args: TerminateSessionsArgs, opts?: pulumi.CustomResourceOptions) {
        super(terminateSessionsProvider, name, { ...args, terminated: undefined }, opts);
    }
}
