// The Timeline provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts):
// appends what this `up` changed to the record the state carries forward. It calls nothing outside: state only.
import type * as pulumi from "@pulumi/pulumi";
import { changes, parseFactsText, recordUp, type TimelineRecord, UNKNOWN_VALUE } from "../../lib/report/record";

/** What the program declares: the stack as this `up` leaves it, as one text (record.ts factsText). */
export interface TimelineInputs {
    readonly facts: string;
}

/** The inputs plus the record carried forward. */
export interface TimelineOutputs extends TimelineInputs, TimelineRecord {}

const PROBLEM = "facts must be the text components/report/timeline.ts writes: a summary, then the facts' JSON";

const factsOf = (props: { facts?: unknown } | undefined) => parseFactsText(props?.facts);

export const timelineProvider: pulumi.dynamic.ResourceProvider<TimelineInputs, TimelineOutputs> = {
    async check(_olds, news) {
        const bad = news.facts !== UNKNOWN_VALUE && factsOf(news) === undefined;
        return { inputs: news, failures: bad ? [{ property: "facts", reason: PROBLEM }] : [] };
    },

    async diff(_id, olds, news) {
        // Facts not known yet (a preview before the deploy or the incident ran) may change: an update. Readiness alone
        // is no change, so a no-op `up` leaves the Timeline as it is.
        const next = factsOf(news);
        return { changes: next === undefined || changes(factsOf(olds), next) !== undefined };
    },

    async create(inputs) {
        const record = recordUp(undefined, undefined, factsOf(inputs)!, new Date());
        return { id: "timeline", outs: { ...inputs, ...record } };
    },

    async update(_id, olds, news) {
        return { outs: { ...news, ...recordUp(olds, factsOf(olds), factsOf(news)!, new Date()) } };
    },

    async read(id, props) {
        // Nothing outside holds the record: a refresh keeps it as it is, with the inputs it was written from.
        if (!props) throw new Error(`cannot import timeline ${id}: declare it in the program instead`);
        return { id, props, inputs: { facts: props.facts } as TimelineOutputs };
    },
};
