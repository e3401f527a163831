// The CommsStarted marker's provider (see ./started.ts): nothing to do, nothing to change, ever.
import type * as pulumi from "@pulumi/pulumi";

export const commsStartedProvider: pulumi.dynamic.ResourceProvider<{ after: boolean }, { after: boolean }> = {
    async check(_olds, news) {
        return { inputs: news };
    },
    async diff() {
        return { changes: false };
    },
    async create(inputs) {
        return { id: "comms-started", outs: inputs };
    },
    async read(id, props) {
        return { id, props, inputs: props };
    },
    async delete() {},
};
