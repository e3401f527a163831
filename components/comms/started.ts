// The point after which the mitigation may start: declared right after the incident's messages, with the same inputs,
// so by the time it is done the engine has already handed the messages' step to its workers.
import * as pulumi from "@pulumi/pulumi";
import { ModuleResource, moduleProvider } from "../dynamicProvider";

/** The provider every resource of this type carries in the state: it requires the implementation in the provider host. */
export const commsStartedProvider = moduleProvider("comms", "Started");

export interface CommsStartedArgs {
    /** The messages' own inputs that resolve last (their Progress line and their write-ahead record). */
    readonly after: pulumi.Input<unknown>[];
}

/**
 * A marker the mitigation depends on. The engine runs nothing new once a step has failed, so a mitigation step that
 * fails at once (a write Render refuses) would otherwise keep the incident's alert from ever starting. This resource
 * becomes ready with the messages' resource (the same inputs, declared just after it), and its step is a no-op: once
 * it is done, the messages are on their way, and nothing the mitigation does can hold them back. It costs the
 * mitigation the incident's write-ahead record (a local write), never a message.
 */
export class CommsStarted extends ModuleResource {
    constructor(name: string, args: CommsStartedArgs, opts?: pulumi.CustomResourceOptions) {
        super(commsStartedProvider, name, { after: pulumi.all(args.after).apply(() => true) }, opts);
    }
}
