// The watch's verdict, kept with the stack as a stack tag: `npm run watch` runs outside `pulumi up` and takes no lock,
// and `pulumi stack tag set` needs none (the Pulumi Cloud and the file backends both keep tags beside the stack), so
// the watch records what it saw while a newer `up` runs. One tag per watched deploy, `ahoy-watch.<deploy id>`, its
// value the time the watch ended and its one-line verdict, redacted; the post-incident report reads them back.
import { redactSecrets } from "../redact";

/** Every watch tag's name starts so; the rest is the deploy id. */
export const WATCH_TAG_PREFIX = "ahoy-watch.";
/** Pulumi Cloud's limits on a tag: a name of at most 40 characters, a value of at most 256. */
export const MAX_TAG_NAME = 40;
export const MAX_TAG_VALUE = 256;
/** How many watch tags a stack keeps; the oldest go first. */
export const KEPT_WATCH_TAGS = 50;

/** What one watch of a deploy saw, as the stack keeps it. */
export interface WatchRecord {
    readonly deployId: string;
    readonly endedAt: Date;
    /** The verdict line, and the first failure's line where a threshold was crossed; redacted. */
    readonly text: string;
}

/** The tag that records the watch of `deployId` (a Render deploy id, `dep-` and 20 characters). */
export function watchTagName(deployId: string): string {
    const name = `${WATCH_TAG_PREFIX}${deployId}`;
    if (!/^dep-[a-z0-9]+$/.test(deployId) || name.length > MAX_TAG_NAME) {
        throw new Error(`watch tag: ${JSON.stringify(deployId)} is not a Render deploy id (dep-...)`);
    }
    return name;
}

/** How much of the tag the first failure may take: the rest is the verdict's. */
const MAX_FAILURE_SHOWN = 120;

/**
 * The tag's value: the end time (ISO 8601, to the second), then the summary and the first failure, every secret in
 * `secrets` masked, each cut (the summary's counts first) so that both fit in what a tag holds.
 */
export function watchTagValue(
    endedAt: Date,
    summary: string,
    failures: readonly string[],
    secrets: readonly (string | undefined)[],
): string {
    const said = (text: string) => redactSecrets(text.replace(/\s+/g, " "), secrets);
    const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
    const first = failures.length > 0 ? `; first: ${cut(said(failures[0]), MAX_FAILURE_SHOWN)}` : "";
    const head = `${endedAt.toISOString().replace(/\.\d{3}Z$/, "Z")} `;
    return `${head}${cut(said(summary), MAX_TAG_VALUE - head.length - first.length)}${first}`;
}

/** The watch records in `pulumi stack tag ls --json`'s answer, by deploy id; other tags and unreadable values are passed over. */
export function parseWatchTags(json: string): Map<string, WatchRecord> {
    const records = new Map<string, WatchRecord>();
    let tags: unknown;
    try {
        tags = JSON.parse(json.trim() || "{}");
    } catch {
        return records;
    }
    if (typeof tags !== "object" || tags === null || Array.isArray(tags)) return records;
    for (const [name, value] of Object.entries(tags)) {
        if (!name.startsWith(WATCH_TAG_PREFIX) || typeof value !== "string") continue;
        const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (.+)$/s.exec(value);
        if (!match) continue;
        const deployId = name.slice(WATCH_TAG_PREFIX.length);
        records.set(deployId, { deployId, endedAt: new Date(match[1]), text: match[2] });
    }
    return records;
}

/** The tags to remove so that at most `keep` watch records stay: the ones that ended first. */
export function staleWatchTags(records: ReadonlyMap<string, WatchRecord>, keep = KEPT_WATCH_TAGS): string[] {
    return [...records.values()]
        .sort((a, b) => b.endedAt.getTime() - a.endedAt.getTime() || a.deployId.localeCompare(b.deployId))
        .slice(keep)
        .map((r) => watchTagName(r.deployId));
}
