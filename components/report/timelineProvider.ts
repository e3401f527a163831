// The Timeline provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts):
// appends what this `up` changed to the record the state carries forward. It calls nothing outside: state only.
import type * as pulumi from "@pulumi/pulumi";
import { changes, recordUp, type TimelineRecord, UNKNOWN_VALUE, type UpFacts } from "../../lib/report/record";

/**
 * What the program declares: the stack as this `up` leaves it, as one JSON text. One text, so that a preview before
 * the deploy shows it as one line (`~ facts: "..." => [unknown]`), not every old check line and message.
 */
export interface TimelineInputs {
    readonly facts: string;
}

/** The inputs plus the record carried forward. */
export interface TimelineOutputs extends TimelineInputs, TimelineRecord {}

/** The facts in the text, or why they are not facts. */
function parsed(facts: unknown): { facts?: UpFacts; problem?: string } {
    try {
        const value = typeof facts === "string" ? (JSON.parse(facts) as unknown) : undefined;
        if (typeof value === "object" && value !== null && Array.isArray((value as UpFacts).notReady)) {
            return { facts: value as UpFacts };
        }
    } catch {
        // Described below.
    }
    return { problem: "facts must be the JSON text of an object with a notReady list (components/report/timeline.ts)" };
}

const factsOf = (props: { facts?: unknown } | undefined) => parsed(props?.facts).facts;

/** The host sends outputs as a protobuf Struct, which has no `undefined`: absent fields are left out. */
function plain<T>(value: T): T {
    return JSON.parse(JSON.stringify(value)) as T;
}

export const timelineProvider: pulumi.dynamic.ResourceProvider<TimelineInputs, TimelineOutputs> = {
    async check(_olds, news) {
        const problem = news.facts === UNKNOWN_VALUE ? undefined : parsed(news.facts).problem;
        return { inputs: news, failures: problem ? [{ property: "facts", reason: problem }] : [] };
    },

    async diff(_id, olds, news) {
        // Facts not known yet (a preview before the deploy or the incident ran) may change: an update. Readiness alone
        // is no change, so a no-op `up` leaves the Timeline as it is.
        const next = factsOf(news);
        return { changes: next === undefined || changes(factsOf(olds), next) !== undefined };
    },

    async create(inputs) {
        const record = recordUp(undefined, undefined, factsOf(inputs)!, new Date());
        return { id: "timeline", outs: plain({ ...inputs, ...record }) };
    },

    async update(_id, olds, news) {
        return { outs: plain({ ...news, ...recordUp(olds, factsOf(olds), factsOf(news)!, new Date()) }) };
    },

    async read(id, props) {
        // Nothing outside holds the record: a refresh keeps it as it is, with the inputs it was written from.
        if (!props) throw new Error(`cannot import timeline ${id}: declare it in the program instead`);
        return { id, props, inputs: { facts: props.facts } as TimelineOutputs };
    },
};
