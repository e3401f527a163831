// The incident comms' receipt: the step that fails the `up`, after the mitigation, when a channel did not take a message.
import * as pulumi from "@pulumi/pulumi";
import { ModuleResource, moduleProvider } from "../dynamicProvider";

export type { ReceiptInputs, ReceiptOutputs } from "./receiptProvider";

/** The provider every resource of this type carries in the state: it requires the implementation in the provider host. */
export const receiptProvider = moduleProvider("comms", "Receipt");

export interface IncidentReceiptArgs {
    /** The incident resource's failures, one per channel and message: "Slack (update 1): answered 503 ...". */
    readonly failures: pulumi.Input<string[]>;
}

/** Fails the `up`, naming each channel and its answer, while the incident has undelivered messages. */
export class IncidentReceipt extends ModuleResource {
    declare public readonly failures: pulumi.Output<string[]>;

    constructor(name: string, args: IncidentReceiptArgs, opts?: pulumi.CustomResourceOptions) {
        super(receiptProvider, name, { failures: args.failures }, opts);
    }
}
