// The post-incident review's facts for one incident, from the stack history (each update's times, result, who and
// config) and what the state holds (the Timeline's entries, the incidents' ledgers, the current deploy and checks):
// the header's times, one row per `up` and per message in order, what was not ready, the runbook's deadlines. Pure:
// the clock is handed in. Each row is one kind with its own fields, so a further source (the watch's verdict) is one
// more kind.
import { postIncidentDeadlines, responseDeadline, type Severity } from "../comms/templates";
import {
    type ConfigChange,
    configChanges,
    formatResourceChanges,
    type UpdateRecord,
    updateMessage,
    whoRan,
} from "./history";
import { type DeliveryView, type IncidentView, incidentView } from "./ledger";
import type { ChecksFact, DeployFact, MaintenancePageFact, NotReadyFact } from "./record";
import type { StateFacts } from "./state";
import type { WatchRecord } from "./watchTags";

/** How far apart two clocks may be (Render's, the CLI machine's) when a fact's own time places it in an update. */
export const CLOCK_SLOP_MS = 2000;

/** One `up` (or refresh, destroy) of the stack during the incident, from its history record. */
export interface UpRow {
    readonly kind: "up";
    readonly at: Date;
    readonly end?: Date;
    /** `update`, `refresh`, `destroy`. */
    readonly operation: string;
    /** `succeeded`, `failed`, `in-progress`. */
    readonly result: string;
    readonly who: string;
    readonly message?: string;
    readonly config: readonly ConfigChange[];
    readonly resources: string;
    readonly deploy?: DeployFact;
    readonly checks?: ChecksFact;
    /** What `npm run watch` saw of the deploy after the `up`, as it kept it with the stack. */
    readonly watch?: WatchRecord;
    readonly maintenancePage?: MaintenancePageFact;
}

/** One message of the incident, with what each channel did with it. */
export interface MessageRow {
    readonly kind: "message";
    readonly at: Date;
    /** "the alert", "update 1", "resolution 1". */
    readonly name: string;
    readonly status: string;
    /** Its first line, as the channels' headlines show it. */
    readonly headline: string;
    readonly text: string;
    readonly deliveries: readonly DeliveryView[];
}

/** Something the state recorded at a time no history record covers: an `up` killed before it could record itself. */
export interface UnrecordedRow {
    readonly kind: "unrecorded";
    readonly at: Date;
    readonly deploy?: DeployFact;
    readonly checks?: ChecksFact;
    readonly watch?: WatchRecord;
    readonly maintenancePage?: MaintenancePageFact;
}

export type Row = UpRow | MessageRow | UnrecordedRow;

/** An incident the stack knows, as named when the one asked for is not among them. */
export interface KnownIncident {
    readonly dedupKey: string;
    readonly title: string;
    readonly openedAt: Date;
    readonly state: string;
}

/** A runbook action that was not ready during the incident. */
export interface NotReadyRow extends NotReadyFact {
    /** The first `up` of the incident that recorded it. */
    readonly since: Date;
}

export interface IncidentReport {
    readonly stack: string;
    readonly dedupKey: string;
    readonly title: string;
    readonly severity: Severity;
    /** The last message's status ("resolved" once resolved). */
    readonly status: string;
    readonly openedAt: Date;
    /** The first check that passed after the alert, and the row of the `up` that ran it (when the history has it). */
    readonly mitigated?: { readonly at: Date; readonly how: string };
    readonly resolvedAt?: Date;
    /** Still open: the report is "so far", as of `asOf`. */
    readonly open: boolean;
    readonly asOf: Date;
    readonly rows: readonly Row[];
    readonly notReady: readonly NotReadyRow[];
    readonly deadlines: {
        readonly respondBy?: Date;
        readonly review?: Date;
        readonly rootCauseDocument?: Date;
        readonly actionItems?: Date;
        readonly processImprovements?: Date;
    };
    /** What the sources could not tell, in words (a killed `up`, history that starts late, an unreadable ledger). */
    readonly notes: readonly string[];
}

export type ReportResult =
    | { readonly kind: "no-incident"; readonly message: string }
    | { readonly kind: "unknown-incident"; readonly message: string; readonly known: readonly KnownIncident[] }
    | { readonly kind: "report"; readonly report: IncidentReport };

export interface ReportInput {
    readonly stack: string;
    /** The project's name: its config keys are shown without it (`DISABLE_SIGNUP`, not `ahoy-ops:DISABLE_SIGNUP`). */
    readonly project: string;
    /** Oldest first (history.ts parseHistory). */
    readonly history: readonly UpdateRecord[];
    readonly state: StateFacts;
    /** The watches' verdicts by deploy id (watchTags.ts); none when the stack has no watch tags. */
    readonly watches?: ReadonlyMap<string, WatchRecord>;
    /** A dedup key (or a unique part of one), or "last". */
    readonly incident: string;
    readonly now: Date;
}

/** Every incident the state knows, newest ledger winning, oldest first; and the ledgers it could not read. */
export function knownIncidents(state: StateFacts): { incidents: IncidentView[]; problems: string[] } {
    const byKey = new Map<string, IncidentView>();
    const problems: string[] = [];
    // The Incident resource's own record last: it is at least as fresh as the Timeline's copy.
    for (const raw of [...(state.timeline?.incidents ?? []), ...(state.incident ? [state.incident] : [])]) {
        const { incident, problem } = incidentView(raw);
        if (incident) byKey.set(incident.dedupKey, incident);
        else if (problem) problems.push(problem);
    }
    const incidents = [...byKey.values()]
        .filter((i) => i.messages.length > 0)
        .sort((a, b) => a.openedAt.getTime() - b.openedAt.getTime());
    return { incidents, problems };
}

function describe(incident: IncidentView): KnownIncident {
    const last = incident.messages[incident.messages.length - 1];
    const state = incident.resolvedAt ? `resolved` : `open (${last.status})`;
    return { dedupKey: incident.dedupKey, title: last.title, openedAt: incident.openedAt, state };
}

/** The incident `selector` names: "last", an exact dedup key, or a part of exactly one. */
function select(incidents: readonly IncidentView[], selector: string): IncidentView | undefined {
    if (selector === "last") return incidents[incidents.length - 1];
    const exact = incidents.find((i) => i.dedupKey === selector);
    if (exact) return exact;
    const partial = incidents.filter((i) => i.dedupKey.includes(selector));
    return partial.length === 1 ? partial[0] : undefined;
}

/** The update whose span holds `at` (within `slop` either side), or undefined. */
function updateAt(history: readonly UpdateRecord[], at: Date, slop = 0): UpdateRecord | undefined {
    const t = at.getTime();
    let best: { update: UpdateRecord; distance: number } | undefined;
    history.forEach((update, i) => {
        const start = update.start.getTime();
        // The history keeps whole seconds, cut down: an update ends before its recorded end plus one second. One still
        // in progress runs until the next one starts.
        const end = update.end ? update.end.getTime() + 1000 : (history[i + 1]?.start.getTime() ?? Infinity);
        const distance = t < start ? start - t : t >= end ? t - end + 1 : 0;
        if (distance <= slop && (!best || distance < best.distance)) best = { update, distance };
    });
    return best?.update;
}

/** A fact the state recorded, placed in time. */
interface PlacedFact {
    readonly at: Date;
    readonly update?: UpdateRecord;
    readonly deploy?: DeployFact;
    readonly checks?: ChecksFact;
    readonly maintenancePage?: MaintenancePageFact;
}

/**
 * Every deploy, check and page change the state recorded, each in the update that made it. A Timeline entry is
 * written at the end of its `up`, so its time places it; a deploy that went live before that `up` began was made by
 * an `up` that never recorded itself (killed after its deploy), and its own time places it. The current Deploy and
 * Verification add what no entry has (the last `up` failed or was killed after them).
 */
function placedFacts(history: readonly UpdateRecord[], state: StateFacts): PlacedFact[] {
    const facts: PlacedFact[] = [];
    const ownTime = (at: string) => {
        const when = new Date(at);
        return { at: when, update: updateAt(history, when, CLOCK_SLOP_MS) };
    };
    for (const entry of state.timeline?.entries ?? []) {
        const at = new Date(entry.at);
        const update = updateAt(history, at);
        const inUpdate = (time: string) =>
            !entry.baseline &&
            update !== undefined &&
            new Date(time).getTime() >= update.start.getTime() - CLOCK_SLOP_MS;
        if (entry.deploy) {
            facts.push({
                ...(inUpdate(entry.deploy.liveAt)
                    ? { at: new Date(entry.deploy.liveAt), update }
                    : ownTime(entry.deploy.liveAt)),
                deploy: entry.deploy,
            });
        }
        if (entry.checks) {
            facts.push({
                ...(inUpdate(entry.checks.verifiedAt)
                    ? { at: new Date(entry.checks.verifiedAt), update }
                    : ownTime(entry.checks.verifiedAt)),
                checks: entry.checks,
            });
        }
        if (entry.maintenancePage && !entry.baseline)
            facts.push({ at, update, maintenancePage: entry.maintenancePage });
    }
    const deploys = new Set(facts.map((f) => f.deploy?.id).filter(Boolean));
    const checks = new Set(facts.map((f) => f.checks?.verifiedAt).filter(Boolean));
    if (state.deploy && !deploys.has(state.deploy.id)) {
        facts.push({ ...ownTime(state.deploy.liveAt), deploy: state.deploy });
    }
    if (state.checks && !checks.has(state.checks.verifiedAt)) {
        facts.push({ ...ownTime(state.checks.verifiedAt), checks: state.checks });
    }
    return facts.sort((a, b) => a.at.getTime() - b.at.getTime());
}

const messageName = (m: { id: string; kind: string }) => (m.kind === "alert" ? "the alert" : m.id.replace("-", " "));

/** The report of the incident `input.incident` names, or why there is none. */
export function buildReport(input: ReportInput): ReportResult {
    const { state, now } = input;
    const { incidents, problems } = knownIncidents(state);
    if (incidents.length === 0) {
        return {
            kind: "no-incident",
            message:
                `stack ${input.stack} has no incident on record: no Incident ledger in its state` +
                (state.timeline
                    ? ""
                    : " and no Timeline yet (it is recorded from the first `pulumi up` that declares it)") +
                `. An incident starts with \`pulumi config set incidentSeverity 1\` (and its title, impact and on-call), then \`pulumi up\`.` +
                (problems.length > 0 ? ` Not read: ${problems.join("; ")}.` : ""),
        };
    }
    const incident = select(incidents, input.incident);
    if (!incident) {
        const known = incidents.map(describe);
        return {
            kind: "unknown-incident",
            known,
            message:
                `stack ${input.stack} has no incident ${JSON.stringify(input.incident)}; it knows ${known.length}: ` +
                known
                    .map((k) => `${k.dedupKey} (${k.title}, opened ${k.openedAt.toISOString()}, ${k.state})`)
                    .join("; ") +
                `. Name one with --incident <dedup key>, or --incident last.`,
        };
    }
    return { kind: "report", report: reportOf(input, incident, problems, now) };
}

/** A row's facts, each present only when recorded: the deploy, its checks, the watch the stack kept of it, the page. */
function factsOfRow(
    input: ReportInput,
    fact: { deploy?: DeployFact; checks?: ChecksFact; maintenancePage?: MaintenancePageFact },
): Pick<UnrecordedRow, "deploy" | "checks" | "watch" | "maintenancePage"> {
    const { deploy, checks, maintenancePage } = fact;
    const watch = deploy && input.watches?.get(deploy.id);
    return {
        ...(deploy && { deploy }),
        ...(checks && { checks }),
        ...(watch && { watch }),
        ...(maintenancePage && { maintenancePage }),
    };
}

function reportOf(input: ReportInput, incident: IncidentView, problems: string[], now: Date): IncidentReport {
    const { history, state } = input;
    const notes = [...problems];
    const messages = incident.messages;
    const alert = messages.find((m) => m.kind === "alert") ?? messages[0];
    const last = messages[messages.length - 1];
    const resolvedAt = incident.resolvedAt;
    const open = resolvedAt === undefined;
    const end = resolvedAt ?? now;
    const opened = incident.openedAt;

    // The updates of the incident: from the one that opened it to the one that resolved it (or the last).
    const openingUpdate = updateAt(history, opened);
    const from = openingUpdate?.start ?? opened;
    const updates = history.filter(
        (u) => u.kind !== "preview" && u.start.getTime() >= from.getTime() && u.start.getTime() <= end.getTime(),
    );
    if (!openingUpdate) {
        notes.push(
            history.length === 0
                ? "The stack history has no updates: the rows come from the state alone."
                : `No update in the stack history covers the incident's opening at ${opened.toISOString()}: the history ` +
                      "read may start later, or the `up` that opened it was killed before it could record itself.",
        );
    }
    const facts = placedFacts(history, state);
    const rows: Row[] = [];
    for (const update of updates) {
        const mine = facts.filter((f) => f.update === update);
        const previous = history
            .slice(0, history.indexOf(update))
            .filter((u) => u.kind === "update")
            .pop();
        rows.push({
            kind: "up",
            at: update.start,
            ...(update.end && { end: update.end }),
            operation: update.kind,
            result: update.result,
            who: whoRan(update.environment),
            ...(updateMessage(update) && { message: updateMessage(update) }),
            config: update.kind === "update" ? configChanges(previous?.config, update.config, input.project) : [],
            resources: formatResourceChanges(update.resourceChanges),
            ...factsOfRow(input, {
                deploy: mine.find((f) => f.deploy)?.deploy,
                checks: mine.find((f) => f.checks)?.checks,
                maintenancePage: mine.find((f) => f.maintenancePage)?.maintenancePage,
            }),
        });
    }
    for (const fact of facts) {
        if (fact.update || fact.at < opened || fact.at > end) continue;
        rows.push({
            kind: "unrecorded",
            at: fact.at,
            ...factsOfRow(input, fact),
        });
    }
    for (const message of messages) {
        rows.push({
            kind: "message",
            at: message.at,
            name: messageName(message),
            status: message.status,
            headline: message.text.split("\n")[0],
            text: message.text,
            deliveries: message.deliveries,
        });
    }
    // In time order; at the same second an `up` comes before what it did.
    const rank = { up: 0, unrecorded: 1, message: 2 } as const;
    rows.sort((a, b) => a.at.getTime() - b.at.getTime() || rank[a.kind] - rank[b.kind]);

    if (state.pending.length > 0) {
        notes.push(
            `The state still lists operations an \`up\` began and never finished (${state.pending.join(", ")}): that ` +
                "`up` was killed; the next `pulumi up` finishes or redoes them.",
        );
    }
    if (state.encrypted.length > 0) {
        notes.push(`Encrypted in the state, so not read: ${state.encrypted.join(", ")}.`);
    }
    if (!state.timeline) {
        notes.push(
            "The state has no Timeline yet: what Render ran and what the checks saw at each `up` are recorded from the " +
                "first `pulumi up` that declares it; earlier rows show the history's config and result only.",
        );
    }
    const failed = updates.filter((u) => u.result === "failed");
    if (failed.length > 0) {
        notes.push(
            `${failed.length} \`up\`${failed.length === 1 ? "" : "s"} failed: the history keeps no reason and the state no ` +
                "output of a failed step; the reason is in that `up`'s own output (the terminal, or the CI log).",
        );
    }

    return {
        stack: input.stack,
        dedupKey: incident.dedupKey,
        title: last.title,
        severity: last.severity,
        status: last.status,
        openedAt: opened,
        ...mitigation(facts, opened, end),
        ...(resolvedAt && { resolvedAt }),
        open,
        asOf: now,
        rows,
        notReady: notReadyDuring(state, history, from, end),
        deadlines: {
            respondBy: responseDeadline(alert.severity, alert.at),
            ...(resolvedAt &&
                (({ review, rootCauseDocument, actionItems, processImprovements }) => ({
                    review,
                    rootCauseDocument,
                    actionItems,
                    processImprovements,
                }))(postIncidentDeadlines(resolvedAt))),
        },
        notes,
    };
}

/**
 * Mitigated: the first `up` after the alert whose verification passed (a failed check records nothing, so every
 * recorded check passed), or whose maintenance page was seen served.
 */
function mitigation(
    facts: readonly PlacedFact[],
    opened: Date,
    end: Date,
): { mitigated?: IncidentReport["mitigated"] } {
    for (const fact of facts) {
        if (fact.at < opened || fact.at > end) continue;
        const by = fact.update ? `the \`up\` of ${clockOf(fact.update.start)}` : "an `up` the history does not record";
        if (fact.checks) return { mitigated: { at: fact.at, how: `the checks of ${by} passed` } };
        if (fact.maintenancePage?.enabled && !fact.maintenancePage.seen.startsWith("not checked")) {
            return { mitigated: { at: fact.at, how: `the maintenance page of ${by} was seen served` } };
        }
    }
    return {};
}

const clockOf = (at: Date) => at.toISOString().slice(11, 19);

/** The runbook actions not ready at any `up` during the incident (as of the last entry before it, if none during). */
function notReadyDuring(state: StateFacts, history: readonly UpdateRecord[], from: Date, end: Date): NotReadyRow[] {
    const entries = state.timeline?.entries ?? [];
    const during = entries.filter((e) => new Date(e.at) >= from && new Date(e.at) <= end);
    const before = entries.filter((e) => new Date(e.at) < from).slice(-1);
    const rows = new Map<string, NotReadyRow>();
    for (const entry of during.length > 0 ? during : before) {
        for (const fact of entry.notReady) {
            const since =
                rows.get(fact.action)?.since ?? updateAt(history, new Date(entry.at))?.start ?? new Date(entry.at);
            rows.set(fact.action, { ...fact, since });
        }
    }
    return [...rows.values()];
}
