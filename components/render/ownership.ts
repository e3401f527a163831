// Who owns a Render service, what the first `up` found on it and what letting go leaves: pure decisions over what was
// read at Render and what the stack wants. The ServiceOwner and EnvVar providers read and write; these decide.
import { STACK_NAME_EXPECTED, STACK_NAME_PATTERN } from "../../stacks/settings/ownership";

export { STACK_NAME_EXPECTED };

/** The variable Render keeps with the service, naming the stack that manages it (the API has no other place for it). */
export const OWNER_MARKER_KEY = "AHOY_OPS_STACK";

/** The rotation generations a service has been through. `databaseCredential` is absent while the database is not managed. */
export interface Generations {
    readonly secretKey: number;
    readonly databaseCredential?: number;
}

/** What the marker records, as JSON in the variable's value. */
export interface OwnerMarker {
    /** The managing stack, `<organization>/<project>/<stack>`. */
    readonly stack: string;
    /** Which ServiceOwner resource wrote it: a renamed resource's old self, or a released stack, does not hold it. */
    readonly claim: string;
    /** When the stack claimed the service (RFC 3339). */
    readonly since: string;
    /** The highest generations an `up` of any stack started on this service: a lower one is refused. */
    readonly generations: Generations;
    /** Each switch as the first `up` found it, before it wrote anything: its value, or null when it was absent. */
    readonly found: Readonly<Record<string, string | null>>;
}

/** What reading the marker gave. */
export type MarkerReading =
    | { readonly state: "absent" }
    | { readonly state: "present"; readonly marker: OwnerMarker }
    | { readonly state: "unreadable"; readonly why: string };

/** True for `<organization>/<project>/<stack>`. */
export function isStackName(value: unknown): value is string {
    return typeof value === "string" && STACK_NAME_PATTERN.test(value);
}

/** A rotation generation: a whole number >= 1 (stacks/rotation.ts checkGeneration says why one is not). */
export function isGeneration(value: unknown): value is number {
    return typeof value === "number" && Number.isSafeInteger(value) && value >= 1;
}

/** Reads the marker's value; anything this program did not write reads as unreadable, saying why. */
export function parseMarker(raw: string | undefined): MarkerReading {
    if (raw === undefined) return { state: "absent" };
    let value: unknown;
    try {
        value = JSON.parse(raw);
    } catch {
        return { state: "unreadable", why: "it is not JSON" };
    }
    const m = value as Partial<OwnerMarker> | null;
    if (typeof m !== "object" || m === null || Array.isArray(m))
        return { state: "unreadable", why: "it is not an object" };
    if (!isStackName(m.stack)) return { state: "unreadable", why: "its stack is not <organization>/<project>/<stack>" };
    if (typeof m.claim !== "string" || m.claim === "") return { state: "unreadable", why: "it has no claim" };
    if (typeof m.since !== "string") return { state: "unreadable", why: "it has no since" };
    const g = m.generations as Partial<Generations> | undefined;
    if (
        typeof g !== "object" ||
        g === null ||
        !isGeneration(g.secretKey) ||
        (g.databaseCredential !== undefined && !isGeneration(g.databaseCredential))
    ) {
        return { state: "unreadable", why: "its generations are not whole numbers >= 1" };
    }
    const found = m.found as Record<string, unknown> | undefined;
    if (
        typeof found !== "object" ||
        found === null ||
        Array.isArray(found) ||
        Object.values(found).some((v) => v !== null && typeof v !== "string")
    ) {
        return { state: "unreadable", why: "its found values are not strings or null" };
    }
    return {
        state: "present",
        marker: {
            stack: m.stack,
            claim: m.claim,
            since: m.since,
            generations: generationsOf(g.secretKey, g.databaseCredential),
            found: found as Record<string, string | null>,
        },
    };
}

function generationsOf(secretKey: number, databaseCredential?: number): Generations {
    return databaseCredential === undefined ? { secretKey } : { secretKey, databaseCredential };
}

/** The marker's value: JSON, keys in a fixed order so an unchanged marker is the same text. */
export function formatMarker(marker: OwnerMarker): string {
    const found = Object.fromEntries(
        Object.keys(marker.found)
            .sort()
            .map((key) => [key, marker.found[key]]),
    );
    return JSON.stringify({
        stack: marker.stack,
        claim: marker.claim,
        since: marker.since,
        generations: generationsOf(marker.generations.secretKey, marker.generations.databaseCredential),
        found,
    });
}

/** What a stack asks of the service on an `up` or a preview. */
export interface OwnershipRequest {
    /** This stack, `<organization>/<project>/<stack>`. */
    readonly stack: string;
    /** `takeOverFrom`: the stack this one takes the service over from, named in a reviewed config change. */
    readonly takeOverFrom?: string;
    /** The generations this `up` runs at. */
    readonly generations: Generations;
    /** What this stack's own state recorded at its last `up` (undefined before its first). */
    readonly recorded?: { readonly generations?: Generations };
}

/** A reason the stack must not write to the service, against the property that causes it. */
export interface OwnershipProblem {
    readonly property: string;
    readonly reason: string;
}

/** How the stack comes to hold the service. */
export type OwnershipAction =
    /** Nobody holds it: this `up` claims it (an adoption). */
    | "claim"
    /** This stack holds it already. */
    | "hold"
    /** This stack held it, and the marker is gone (deleted by hand): claimed again, from what the state recorded. */
    | "reclaim"
    /** Another stack held it, and this one names it in `takeOverFrom`: its adoption record is taken over with it. */
    | "take-over";

export type OwnershipVerdict =
    | {
          readonly ok: true;
          readonly action: OwnershipAction;
          /** The marker found, when there was one: its adoption record and generations carry over. */
          readonly basis?: OwnerMarker;
          /** One line for the log, saying what the `up` does about ownership. */
          readonly note: string;
      }
    | { readonly ok: false; readonly problems: readonly OwnershipProblem[] };

const GENERATION_KEYS: ReadonlyArray<[keyof Generations, string]> = [
    ["secretKey", "secretKeyGeneration"],
    ["databaseCredential", "databaseCredentialGeneration"],
];

/**
 * Generations this `up` asks for that are lower than one already started (by this stack's state, or any stack's
 * marker on the service): rotation only goes forward, since a lower generation would bring back a retired secret.
 */
export function generationProblems(
    wanted: Generations,
    recorded: ReadonlyArray<{ readonly generations?: Generations; readonly by: string }>,
): OwnershipProblem[] {
    const problems: OwnershipProblem[] = [];
    for (const [key, setting] of GENERATION_KEYS) {
        const asked = wanted[key];
        if (asked === undefined) continue;
        const highest = recorded
            .filter((r) => r.generations?.[key] !== undefined)
            .sort((a, b) => (b.generations![key] as number) - (a.generations![key] as number))[0];
        if (!highest) continue;
        const started = highest.generations![key] as number;
        if (asked < started) {
            problems.push({ property: "generations", reason: lowerGeneration(setting, asked, started, highest.by) });
        }
    }
    return problems;
}

/** Why generation `asked` of `setting` is refused when `started` already started (recorded by `by`). */
export function lowerGeneration(setting: string, asked: number, started: number, by: string): string {
    return (
        `${setting}: got ${asked}, but generation ${started} already started (recorded by ${by}); ` +
        `rotation only goes forward, so a lower generation never brings back a retired secret: ` +
        `\`pulumi config set ${setting} ${started + 1}\` rotates again, ${started} keeps what is live now`
    );
}

/**
 * Whether this stack may write to the service, and how it comes to hold it, from the marker found there and what the
 * stack's own state recorded. Another stack's service is refused unless `takeOverFrom` names that stack; a
 * generation lower than one already started is refused whoever started it.
 */
export function ownershipVerdict(reading: MarkerReading, request: OwnershipRequest, service: string): OwnershipVerdict {
    const problems: OwnershipProblem[] = [];
    if (request.takeOverFrom !== undefined && request.takeOverFrom === request.stack) {
        problems.push({
            property: "takeOverFrom",
            reason: `takeOverFrom names this stack itself (${request.stack}); remove it: \`pulumi config rm takeOverFrom\``,
        });
    }
    if (reading.state === "unreadable") {
        return {
            ok: false,
            problems: [
                ...problems,
                {
                    property: "stack",
                    reason:
                        `${service}'s ${OWNER_MARKER_KEY} variable cannot be read as an ahoy-ops owner marker (${reading.why}), ` +
                        `so which stack manages the service is unknown and nothing is written; if no stack manages it, ` +
                        `delete ${OWNER_MARKER_KEY} in the Render dashboard, then run pulumi up again`,
                },
            ],
        };
    }
    const marker = reading.state === "present" ? reading.marker : undefined;
    let action: OwnershipAction;
    let note: string;
    if (!marker) {
        action = request.recorded ? "reclaim" : "claim";
        note = request.recorded
            ? `${service}: its ${OWNER_MARKER_KEY} marker is gone (deleted by hand?); ${request.stack} claims it again`
            : `${service}: no stack manages it; ${request.stack} adopts it (reads every variable before writing one)`;
        if (request.takeOverFrom !== undefined) {
            problems.push({
                property: "takeOverFrom",
                reason:
                    `takeOverFrom names ${request.takeOverFrom}, but no stack manages ${service}; remove it ` +
                    "(`pulumi config rm takeOverFrom`): the service is adopted as found",
            });
        }
    } else if (marker.stack === request.stack) {
        action = "hold";
        note =
            `${service}: managed by this stack (${request.stack}) since ${marker.since}` +
            (request.takeOverFrom === undefined ? "" : "; takeOverFrom is done with: `pulumi config rm takeOverFrom`");
    } else if (request.takeOverFrom === marker.stack) {
        action = "take-over";
        note = `${service}: ${request.stack} takes it over from ${marker.stack} (takeOverFrom), with its adoption record`;
    } else {
        const named =
            request.takeOverFrom === undefined ? "" : `takeOverFrom names ${request.takeOverFrom}, not the owner. `;
        problems.push({
            property: "stack",
            reason:
                `${service} is managed by stack ${marker.stack} (since ${marker.since}); ${named}This stack ` +
                `(${request.stack}) writes nothing to it. To hand it over, in a reviewed change: ` +
                `\`pulumi config set takeOverFrom ${marker.stack}\` for this stack; or let it go from ${marker.stack} ` +
                `first (\`pulumi destroy --stack ${marker.stack}\` keeps the secrets and the login, and puts the ` +
                "switches back as found)",
        });
        return { ok: false, problems };
    }
    problems.push(
        ...generationProblems(request.generations, [
            ...(request.recorded ? [{ generations: request.recorded.generations, by: "this stack's state" }] : []),
            ...(marker ? [{ generations: marker.generations, by: `${marker.stack}'s marker on ${service}` }] : []),
        ]),
    );
    if (problems.length > 0) return { ok: false, problems };
    return { ok: true, action, basis: marker, note };
}

/** Each generation, the higher of the two (what the marker keeps: the highest ever started). */
export function highestGenerations(wanted: Generations, before?: Generations): Generations {
    const max = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));
    return generationsOf(
        max(wanted.secretKey, before?.secretKey) as number,
        max(wanted.databaseCredential, before?.databaseCredential),
    );
}

/**
 * The adoption record for `switches`: each switch as it was before any stack wrote it. The marker's record is the
 * oldest and wins; then what this stack's state recorded; a switch neither knows is recorded as it is now (`current`),
 * which is before this stack writes it, since every write waits for the ServiceOwner.
 */
export function adoptionRecord(
    switches: readonly string[],
    current: Readonly<Record<string, string | undefined>>,
    marker?: Readonly<Record<string, string | null>>,
    recorded?: Readonly<Record<string, string | null>>,
): Record<string, string | null> {
    const record: Record<string, string | null> = {};
    for (const key of [...switches].sort()) {
        if (marker && key in marker) record[key] = marker[key];
        else if (recorded && key in recorded) record[key] = recorded[key];
        else record[key] = current[key] ?? null;
    }
    return record;
}

/**
 * What letting go does to each key, in words for the preview: the secrets stay, the switches go back as found, and
 * whatever else the stack keeps (`kept`: the database's login roles, say) stays too.
 */
export function letGoPlan(
    found: Readonly<Record<string, string | null>>,
    secrets: readonly string[],
    kept: Readonly<Record<string, string>> = {},
): Record<string, string> {
    const plan: Record<string, string> = { ...kept };
    for (const key of [...secrets].sort()) plan[key] = "kept as it is (the app runs on it)";
    for (const key of Object.keys(found).sort()) {
        const value = found[key];
        plan[key] =
            value === null
                ? "removed (absent when this stack adopted the service)"
                : `put back to ${JSON.stringify(value)} (as found)`;
    }
    plan[OWNER_MARKER_KEY] = "removed (the service is let go)";
    return plan;
}

/**
 * What this stack stops managing between two `up`s (a capability removed from the config): each stays as it is, and
 * the preview says so, since the engine shows only a delete.
 */
export function noLongerManaged(
    before: { readonly switches?: readonly string[]; readonly secrets?: readonly string[]; readonly kept?: object },
    now: { readonly switches: readonly string[]; readonly secrets: readonly string[]; readonly kept?: object },
): string[] {
    const gone = (was: readonly string[] = [], is: readonly string[]) => was.filter((key) => !is.includes(key));
    return [
        ...gone(before.secrets, now.secrets),
        ...gone(before.switches, now.switches),
        ...gone(Object.keys(before.kept ?? {}), Object.keys(now.kept ?? {})),
    ];
}

/** One write that letting go makes. */
export type RestoreStep =
    | { readonly kind: "delete"; readonly key: string }
    | { readonly kind: "put"; readonly key: string; readonly value: string };

/** The writes that put every switch back as found, given what Render holds now; none where it already is. */
export function restoreSteps(
    found: Readonly<Record<string, string | null>>,
    current: Readonly<Record<string, string | undefined>>,
): RestoreStep[] {
    const steps: RestoreStep[] = [];
    for (const key of Object.keys(found).sort()) {
        const was = found[key];
        const now = current[key];
        if (was === null && now !== undefined) steps.push({ kind: "delete", key });
        if (was !== null && now !== was) steps.push({ kind: "put", key, value: was });
    }
    return steps;
}

/**
 * Whether a ServiceOwner that recorded `claim` for `stack` may let the service go: only while the marker is still its
 * own. A marker of another stack (a hand-over) or of another resource of this stack (a rename) is left alone.
 */
export function mayLetGo(reading: MarkerReading, stack: string, claim: string): { ok: boolean; why: string } {
    if (reading.state === "absent")
        return { ok: false, why: "no marker on the service: nothing of it is this stack's" };
    if (reading.state === "unreadable")
        return { ok: false, why: `its ${OWNER_MARKER_KEY} cannot be read (${reading.why})` };
    if (reading.marker.stack !== stack) return { ok: false, why: `it is managed by ${reading.marker.stack} now` };
    if (reading.marker.claim !== claim) {
        return { ok: false, why: "another resource of this stack holds it now (a renamed ServiceOwner)" };
    }
    return { ok: true, why: "this stack holds it" };
}

/**
 * What the EnvVar's preview shows on its first `up`: what the service had, and what it becomes. A secret's value is
 * never shown, only whether one is there.
 */
export function adoptionNote(found: string | undefined, wanted: string | undefined, secret: boolean): string {
    if (secret) return found === undefined ? "absent" : "present (a secret, not shown)";
    if (found === undefined) return wanted === undefined ? "absent (stays absent)" : "absent";
    if (found === wanted) return `${JSON.stringify(found)} (already so)`;
    return `${JSON.stringify(found)} (set by hand) => ${wanted === undefined ? "absent" : JSON.stringify(wanted)}`;
}
