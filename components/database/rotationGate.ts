// The check before a database credential rotation starts: the previous one went live, so the login it retired is unused.
import * as pulumi from "@pulumi/pulumi";
import { ModuleResource, moduleProvider } from "../dynamicProvider";

export type { RotationGateInputs, RotationGateOutputs } from "./rotationGateProvider";

/** The provider every resource of this type carries in the state: it requires the implementation in the provider host. */
export const rotationGateProvider = moduleProvider("postgres", "RotationGate");

export interface RotationGateArgs {
    /** The app's database (any the admin reaches). */
    readonly database: pulumi.Input<string>;
    /** `databaseCredentialGeneration`. */
    readonly generation: pulumi.Input<number>;
    /** The role this generation activates (gets a new password). */
    readonly activeRole: pulumi.Input<string>;
    /** The role it takes over from. */
    readonly standbyRole: pulumi.Input<string>;
}

/**
 * Fails `pulumi preview` and `up` when a generation would give a new password to a role the app may be using: a bump
 * while the previous rotation never went live, a lower generation, a jump, a new role prefix. The passwords depend on it.
 */
export class RotationGate extends ModuleResource {
    declare public readonly generation: pulumi.Output<number>;

    constructor(name: string, args: RotationGateArgs, opts?: pulumi.CustomResourceOptions) {
        super(rotationGateProvider, name, { ...args }, opts);
    }
}
