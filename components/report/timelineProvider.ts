// The Timeline provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts):
// appends what this `up` changed to the record the state carries forward. It calls nothing outside: state only.
import type * as pulumi from "@pulumi/pulumi";
import { changes, hasUnknown, recordUp, type TimelineRecord, type UpFacts } from "../../lib/report/record";

/** What the program declares: the stack as this `up` leaves it. */
export interface TimelineInputs {
    readonly facts: UpFacts;
}

/** The inputs plus the record carried forward. */
export interface TimelineOutputs extends TimelineInputs, TimelineRecord {}

function checkFailures(news: TimelineInputs): pulumi.dynamic.CheckFailure[] {
    const facts = news.facts as unknown;
    if (hasUnknown(facts)) return [];
    if (typeof facts !== "object" || facts === null || !Array.isArray((facts as UpFacts).notReady)) {
        return [{ property: "facts", reason: "facts must be an object with a notReady list (components/report)" }];
    }
    return [];
}

/** The host sends outputs as a protobuf Struct, which has no `undefined`: absent fields are left out. */
function plain<T>(value: T): T {
    return JSON.parse(JSON.stringify(value)) as T;
}

export const timelineProvider: pulumi.dynamic.ResourceProvider<TimelineInputs, TimelineOutputs> = {
    async check(_olds, news) {
        return { inputs: news, failures: checkFailures(news) };
    },

    async diff(_id, olds, news) {
        // Unknown facts (a preview before the deploy or the incident ran) may change: an update. Readiness alone is no
        // change, so a no-op `up` leaves the Timeline as it is.
        return { changes: hasUnknown(news.facts) || changes(olds.facts, news.facts) !== undefined };
    },

    async create(inputs) {
        return {
            id: "timeline",
            outs: plain({ ...inputs, ...recordUp(undefined, undefined, inputs.facts, new Date()) }),
        };
    },

    async update(_id, olds, news) {
        return { outs: plain({ ...news, ...recordUp(olds, olds.facts, news.facts, new Date()) }) };
    },

    async read(id, props) {
        // Nothing outside holds the record: a refresh keeps it as it is, with the inputs it was written from.
        if (!props) throw new Error(`cannot import timeline ${id}: declare it in the program instead`);
        return { id, props, inputs: { facts: props.facts } as TimelineOutputs };
    },
};
