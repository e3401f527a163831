// The Status Update's "Progress" line, written from what the stack does: the switches on, the release pin, the rotation
// generations and the last verification's figures, handed in as plain data; and what the watch after it saw.
import { formatUtc } from "./templates";

/** The last verification the stack ran: its result lines and when it ran. */
export interface LastVerification {
    /** One line per check and one for the watch, e.g. "healthz: GET /healthz answered 200 in 41 ms (the app is up)". */
    readonly results: readonly string[];
    /** ISO 8601, when the checks passed. */
    readonly verifiedAt?: string;
}

/** What the Progress line is written from. */
export interface ProgressFacts {
    /** The switch variables the stack sets on the service, by name ("true", "false", a limit, a list; undefined: absent). */
    readonly switches: Readonly<Record<string, string | undefined>>;
    /** The release pin in force (deploy id, commit SHA or git tag); undefined: none. */
    readonly releasePin?: string;
    /** Rotation generations by what they rotate, e.g. { "SECRET_KEY": 2, "database credentials": 1 }. */
    readonly rotations: Readonly<Record<string, number>>;
    /** The last verification; undefined when there has been none (or verification is off). */
    readonly lastVerification?: LastVerification;
}

/**
 * Settings that qualify a switch rather than being one: shown beside the switch while it is on, never on their own
 * (SIGNED_URL_EXPIRY always has a value, 3600 s by default, whether or not signed URLs are on).
 */
const QUALIFIERS: Readonly<Record<string, string>> = { SIGNED_URL_EXPIRY: "ENABLE_SIGNED_URLS" };

/** The longest Progress line: Slack's section text takes 3000 characters, and the rest of the update needs room. */
export const MAX_PROGRESS_LENGTH = 2000;

/**
 * The switches that are on, in the order given: `true` ones by name, ones holding a value (a rate limit, blocked IPs)
 * as NAME=value; "false", empty and absent ones are off.
 */
export function switchesOn(switches: Readonly<Record<string, string | undefined>>): string[] {
    const on: string[] = [];
    for (const [name, value] of Object.entries(switches)) {
        if (name in QUALIFIERS || value === undefined || value === "" || value === "false") continue;
        const qualifiers = Object.entries(QUALIFIERS)
            .filter(([qualifier, of]) => of === name && switches[qualifier])
            .map(([qualifier]) => `${qualifier}=${switches[qualifier]}`);
        const shown = value === "true" ? name : `${name}=${value}`;
        on.push(qualifiers.length > 0 ? `${shown} (${qualifiers.join(", ")})` : shown);
    }
    return on;
}

/** The Progress line: one clause per fact, in a fixed order, so two updates read alike. */
export function progressLine(facts: ProgressFacts): string {
    const on = switchesOn(facts.switches);
    const clauses = [
        on.length > 0 ? `switches on: ${on.join(", ")}` : "no switches on",
        facts.releasePin ? `release pinned to ${facts.releasePin}` : "no release pin",
    ];
    const rotations = Object.entries(facts.rotations).map(([what, generation]) => `${what} generation ${generation}`);
    if (rotations.length > 0) clauses.push(`rotations: ${rotations.join(", ")}`);
    const verification = facts.lastVerification;
    if (verification && verification.results.length > 0) {
        const when = verification.verifiedAt ? ` (${formatUtc(new Date(verification.verifiedAt))})` : "";
        clauses.push(`last verification${when}: ${verification.results.join("; ")}`);
    } else {
        clauses.push("no verification yet");
    }
    return capped(clauses.join("; "));
}

/**
 * A Progress line with what the watch after the last verification saw (`npm run watch`'s verdict, as the stack keeps
 * it: lib/report/watchTags.ts) as its last clause. Added where an update is written, never on the mitigation's path.
 */
export function withWatch(progress: string, watch: { readonly endedAt: Date; readonly text: string }): string {
    return capped(`${progress}; ${watch.text} (the watch ended ${formatUtc(watch.endedAt)})`);
}

/** `line`, cut to what the channels take. */
export function capped(line: string): string {
    return line.length <= MAX_PROGRESS_LENGTH ? line : `${line.slice(0, MAX_PROGRESS_LENGTH - 1)}…`;
}
