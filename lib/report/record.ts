// What each `pulumi up` leaves for the post-incident report: the stack history keeps every update's config, result and
// times but no outputs, so the Timeline resource carries forward, in the state, what Render ran and what the checks saw
// at each `up`, and the incidents' ledgers (a new incident replaces the Incident resource, and its record with it).
// Pure: the Timeline provider is a thin caller, and the report reads the same shapes back.

/** How many entries the state keeps: the newest ones; older ups keep their history record (config, result, times). */
export const ENTRIES_KEPT = 200;
/** How many incidents' ledgers the state keeps: the newest ones. */
export const INCIDENTS_KEPT = 20;

/** The deploy the stack's Deploy resource last made live. */
export interface DeployFact {
    readonly id: string;
    readonly commit: string;
    readonly status: string;
    /** When it went live (Render's clock, RFC 3339). */
    readonly liveAt: string;
    /** What the Deploy planned to run: "no build: reuses the live build of ...", "builds commit ... again, ...". */
    readonly plan?: string;
    /** Why it ran what it ran, build or no build, as decided when it ran ("variables changed: ...; no build: ..."). */
    readonly decided?: string;
    /** The release pin it ran under, if any. */
    readonly releasePin?: string;
}

/** What the Verification saw after the last deploy it checked (it records nothing when a check fails). */
export interface ChecksFact {
    readonly verifiedAt: string;
    /** One line per check, then the watch's and the metrics' summary lines. */
    readonly results: readonly string[];
}

/** Render's maintenance page, as its last change left it. */
export interface MaintenancePageFact {
    readonly enabled: boolean;
    /** What the check at the service URL saw: "503 with Render's default page ...", "off: nothing changed". */
    readonly seen: string;
}

/** A runbook action the stack's config could not carry out at the time, and what would make it ready. */
export interface NotReadyFact {
    readonly action: string;
    readonly lacks: readonly string[];
    readonly commands: readonly string[];
}

/** What one `up` hands the Timeline: the stack as this `up` leaves it. */
export interface UpFacts {
    /** Absent only when the Deploy has not run yet. */
    readonly deploy?: DeployFact;
    /** Absent while verification is off (verify false, or the maintenance page is up). */
    readonly checks?: ChecksFact;
    readonly maintenancePage?: MaintenancePageFact;
    /** The Incident resource's record, as it holds it (lib/comms/ledger.ts IncidentRecord); absent before any. */
    readonly incident?: IncidentLedger;
    readonly notReady: readonly NotReadyFact[];
}

/**
 * An incident's ledger as the Incident resource records it, kept as found: the report reads it through one function
 * (lib/report/ledger.ts), so a change of the ledger's shape is handled there.
 */
export interface IncidentLedger {
    readonly dedupKey: string;
    readonly openedAt: string;
}

/** What one `up` changed, as the Timeline saw it at the end of that `up`. */
export interface TimelineEntry {
    /** When the Timeline recorded it: inside its `up`'s start and end times in the stack history. */
    readonly at: string;
    /** The first entry: the stack as found when the Timeline began, not what that `up` did. */
    readonly baseline?: true;
    /** A deploy made since the previous entry. */
    readonly deploy?: DeployFact;
    /** Checks run since the previous entry (they passed: a failed check records nothing). */
    readonly checks?: ChecksFact;
    /** The maintenance page, when it changed since the previous entry. */
    readonly maintenancePage?: MaintenancePageFact;
    /** The incident whose ledger changed since the previous entry (its dedup key). */
    readonly incident?: string;
    /** The runbook actions that were not ready at this `up`. */
    readonly notReady: readonly NotReadyFact[];
}

/** What the state carries forward. */
export interface TimelineRecord {
    /** Oldest first, the newest ENTRIES_KEPT. */
    readonly entries: readonly TimelineEntry[];
    /** Each incident's latest ledger, oldest first, the newest INCIDENTS_KEPT. */
    readonly incidents: readonly IncidentLedger[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What changed between the facts the last entry saw and this `up`'s; undefined when nothing worth an entry did. */
export function changes(
    previous: UpFacts | undefined,
    next: UpFacts,
): Omit<TimelineEntry, "at" | "notReady" | "baseline"> | undefined {
    const deploy = next.deploy && next.deploy.id !== previous?.deploy?.id ? next.deploy : undefined;
    const checks = next.checks && next.checks.verifiedAt !== previous?.checks?.verifiedAt ? next.checks : undefined;
    const maintenancePage =
        next.maintenancePage && !same(next.maintenancePage, previous?.maintenancePage)
            ? next.maintenancePage
            : undefined;
    const incident = next.incident && !same(next.incident, previous?.incident) ? next.incident.dedupKey : undefined;
    if (!deploy && !checks && !maintenancePage && !incident) return undefined;
    return {
        ...(deploy && { deploy }),
        ...(checks && { checks }),
        ...(maintenancePage && { maintenancePage }),
        ...(incident && { incident }),
    };
}

/**
 * The record after an `up` whose facts are `next`, at `now`. The first one (no previous facts) is a baseline: the
 * stack as found. Readiness alone never makes an entry (it follows the environment of whoever runs the `up`, and a
 * no-op `up` must change nothing), but every entry carries it.
 */
export function recordUp(
    record: TimelineRecord | undefined,
    previous: UpFacts | undefined,
    next: UpFacts,
    now: Date,
): TimelineRecord {
    const entries = [...(record?.entries ?? [])];
    let incidents = [...(record?.incidents ?? [])];
    const changed = changes(previous, next);
    if (previous === undefined || changed) {
        entries.push({
            at: now.toISOString(),
            ...(previous === undefined && { baseline: true as const }),
            ...changed,
            notReady: next.notReady,
        });
    }
    if (next.incident && (previous === undefined || changed?.incident)) {
        const key = next.incident.dedupKey;
        incidents = [...incidents.filter((i) => i.dedupKey !== key), next.incident];
    }
    return { entries: entries.slice(-ENTRIES_KEPT), incidents: incidents.slice(-INCIDENTS_KEPT) };
}

/** Between the facts' one-line summary and their JSON, in the Timeline's input text. */
const SEPARATOR = " :: ";

/**
 * The facts as the Timeline's one input: a line a person reads, then the JSON. Not JSON as a whole, so that the CLI
 * shows it as one (cut) line in a preview (`~ facts: "deploy dep-... live 03:00:10; ..." => [unknown]`) instead of
 * decoding and printing every check line and message in it.
 */
export function factsText(facts: UpFacts): string {
    const parts = [
        facts.deploy ? `deploy ${facts.deploy.id} ${facts.deploy.status} ${facts.deploy.liveAt}` : "no deploy",
        facts.checks ? `checks passed ${facts.checks.verifiedAt}` : "no checks",
        `maintenance page ${facts.maintenancePage?.enabled ? "on" : "off"}`,
        facts.incident ? `incident ${facts.incident.dedupKey}` : "no incident",
        `${facts.notReady.length} runbook actions not ready`,
    ];
    return `${parts.join("; ")}${SEPARATOR}${JSON.stringify(facts)}`;
}

/** The facts in a Timeline's input text, or undefined when it is not one. */
export function parseFactsText(text: unknown): UpFacts | undefined {
    if (typeof text !== "string") return undefined;
    const at = text.indexOf(`${SEPARATOR}{`);
    if (at < 0) return undefined;
    try {
        const facts = JSON.parse(text.slice(at + SEPARATOR.length)) as UpFacts;
        return typeof facts === "object" && facts !== null && Array.isArray(facts.notReady) ? facts : undefined;
    } catch {
        return undefined;
    }
}

/** The engine's stand-in, during a preview, for a value known only once an earlier resource is applied. */
export { UNKNOWN_VALUE } from "../pulumiWire";
