// The incident's write-ahead record (see ./intent.ts), loaded in the dynamic-provider host at run time: its identity
// and a token per write, which the messages' resource checks before it sends anything.
import { randomBytes } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import type { DeclaredIncident } from "../../lib/comms/ledger";

/** What the program declares. */
export interface IncidentIntentInputs {
    /** `<project>/<stack>`. */
    readonly stack: string;
    /** The incident the config declares; absent when the incident keys are not set. */
    readonly incident?: DeclaredIncident;
}

/** The record: the inputs, the incident's identity ("" before the first incident), and this write's token. */
export interface IncidentIntentOutputs extends IncidentIntentInputs {
    readonly openedAt: string;
    readonly dedupKey: string;
    readonly token: string;
}

/** The tokens this provider process wrote: one host serves one `up`, so a token not among them is an earlier up's. */
function written(): Set<string> {
    const key = Symbol.for("ahoy-ops/incident-intent-tokens");
    const holder = globalThis as unknown as Record<symbol, Set<string>>;
    holder[key] ??= new Set();
    return holder[key];
}

/** Whether `token` was written by this `up` (this provider process), rather than by an earlier one. */
export function writtenByThisUp(token: string | undefined): boolean {
    return token !== undefined && written().has(token);
}

/**
 * Whether the config now calls for a message the last record did not: an incident opened, a new status or impact
 * (an update or a resolution), or the keys removed from an incident (its resolution and close). A new title, severity
 * or on-call alone writes nothing (the next message carries it), as the messages' own ledger decides. Pure.
 */
export function callsForMessage(
    recorded: DeclaredIncident | undefined,
    declared: DeclaredIncident | undefined,
): boolean {
    if (!recorded || !declared) return recorded !== declared;
    return recorded.status !== declared.status || recorded.impact !== declared.impact;
}

/** The incident's dedup_key: the stack and the incident's opening, the same for every `up` that speaks of it. */
export function dedupKeyOf(stack: string, openedAt: string): string {
    return `${stack}/${openedAt}`;
}

function write(inputs: IncidentIntentInputs, olds?: IncidentIntentOutputs): IncidentIntentOutputs {
    const token = randomBytes(8).toString("hex");
    written().add(token);
    // A new incident opens now; an open one (or the one being closed) keeps its identity.
    const opens = inputs.incident !== undefined && olds?.incident === undefined;
    const openedAt = opens ? new Date().toISOString() : (olds?.openedAt ?? "");
    // Always present, "" before the first incident: a preview reads an absent output as unknown, and would show the
    // messages' resource changing on every flag flip.
    return {
        stack: inputs.stack,
        ...(inputs.incident && { incident: inputs.incident }),
        openedAt,
        dedupKey: openedAt ? dedupKeyOf(inputs.stack, openedAt) : "",
        token,
    };
}

export const intentProvider: pulumi.dynamic.ResourceProvider<IncidentIntentInputs, IncidentIntentOutputs> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (typeof news.stack !== "string" || !/^[^/\s]+\/[^/\s]+$/.test(news.stack)) {
            failures.push({
                property: "stack",
                reason: `stack must be <project>/<stack>, got ${JSON.stringify(news.stack)}`,
            });
        }
        return { inputs: news, failures };
    },

    async diff(_id, olds, news) {
        // Written again exactly when a message is called for, so a no-op `up` writes nothing.
        return { changes: news.stack !== olds.stack || callsForMessage(olds.incident, news.incident) };
    },

    async create(inputs) {
        return { id: `incident-intent-${inputs.stack}`, outs: write(inputs) };
    },

    async update(_id, olds, news) {
        return { outs: write(news, news.stack === olds.stack ? olds : undefined) };
    },

    async read(id, props) {
        if (!props) throw new Error(`cannot import ${id}: declare the incident's comms in the program instead`);
        const { stack, incident } = props;
        return { id, props, inputs: { stack, ...(incident && { incident }) } as IncidentIntentOutputs };
    },

    // Deleting the record sends nothing and undoes nothing.
    async delete() {},
};
