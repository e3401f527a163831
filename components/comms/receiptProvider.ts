// The Receipt provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts):
// fails the `up`, naming each channel and its answer, while the incident has messages a channel did not take.
import type * as pulumi from "@pulumi/pulumi";
// The engine's stand-in, during a preview, for a value only known once the incident resource has run.
import { UNKNOWN_VALUE } from "../../lib/pulumiWire";

/** What the receipt is given: the incident resource's failures (each "Slack (update 1): answered 503 ..."). */
export interface ReceiptInputs {
    readonly failures: string[];
}

export type ReceiptOutputs = ReceiptInputs;

/** The error for undelivered messages; the failures are already redacted of every secret by the senders. */
export function receiptError(failures: readonly string[]): Error {
    return new Error(
        // A channel sends its messages in order and stops at the first it cannot deliver: one failure per channel.
        `incident comms: ${failures.length === 1 ? "a channel" : `${failures.length} channels`} did not take a message ` +
            "(the mitigation has run; the next `pulumi up` sends only what is missing):\n" +
            failures.map((f) => `  - ${f}`).join("\n"),
    );
}

function settle(inputs: ReceiptInputs): ReceiptOutputs {
    if (inputs.failures.length > 0) throw receiptError(inputs.failures);
    return { failures: [] };
}

export const receiptProvider: pulumi.dynamic.ResourceProvider<ReceiptInputs, ReceiptOutputs> = {
    async check(_olds, news) {
        return { inputs: news };
    },

    async diff(_id, _olds, news) {
        // Runs whenever the incident has undelivered messages (and during a preview, while that is not known yet), so
        // every such `up` fails; a receipt that failed recorded nothing, so there is nothing else to compare.
        const unknown = (news.failures as unknown) === UNKNOWN_VALUE || !Array.isArray(news.failures);
        return { changes: unknown || news.failures.length > 0 };
    },

    async create(inputs) {
        return { id: "incident-receipt", outs: settle(inputs) };
    },

    async update(_id, _olds, news) {
        return { outs: settle(news) };
    },
};
