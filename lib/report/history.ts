// `pulumi stack history --json` read into updates, oldest first: each one's kind, times, result, config (secrets as
// the CLI shows them without --show-secrets: the key and `secret: true`, never a value), who ran it as far as the
// backend records, and the config changes between updates. Pure.
//
// What the CLI (v3.248.0, pkg/cmd/pulumi/stack/stack_history.go and pkg/backend) records per update, seen on the
// file backend and read for Pulumi Cloud:
// - `version`: Pulumi Cloud's update number; the file backend records none (0 for every update).
// - `startTime`, `endTime`: whole seconds (the file backend keeps Unix seconds), printed with `.000Z`. The file
//   backend writes the record only when the update ends, so an `up` killed outright leaves no record (and a lock,
//   which `pulumi cancel` removes); Pulumi Cloud keeps it, `result: "in-progress"` with no `endTime`.
// - `message`: `-m`, else the git HEAD commit's title (so a local `up` of uncommitted config carries an unrelated one).
// - `environment`: git.head, git.headName, git.author(.email), git.committer(.email), git.dirty, vcs.* for a known
//   remote, ci.* in CI, exec.kind, pulumi.version/os/arch, pulumi.env.PULUMI_* (set or not, never the value),
//   pulumi.flag.* (names only), runtime.*. Neither backend's JSON names the person who ran it.
// - `config`: every key, Pulumi.yaml's defaults included; a secret (or an object with a secret inside) as
//   `{secret: true}` with no value; an object as its JSON text and `objectValue`.
// - `result`: succeeded or failed (no reason); `resourceChanges`: counts by operation.
// - No outputs, and `pulumi stack export --version` (a past state) works on Pulumi Cloud only: hence the Timeline.
// `--page-size` defaults to 10, so the reader asks page by page.
import { z } from "zod";

/** One element of `pulumi stack history --json`, as the CLI prints it (pkg/cmd/pulumi/stack/stack_history.go). */
const UpdateJson = z.object({
    version: z.number().int(),
    kind: z.string(),
    startTime: z.string(),
    message: z.string().nullish(),
    environment: z.record(z.string(), z.string()).nullish(),
    config: z
        .record(
            z.string(),
            z.object({ value: z.string().optional(), objectValue: z.unknown().optional(), secret: z.boolean() }),
        )
        .nullish(),
    result: z.string().optional(),
    // Only once the update has finished: a Pulumi Cloud update still running (or killed) has neither.
    endTime: z.string().optional(),
    resourceChanges: z.record(z.string(), z.number()).optional(),
});

/** A config value as the history shows it: a secret has no value. */
export type ConfigValue = { readonly secret: true } | { readonly secret: false; readonly value: string };

/** One update in the history. */
export interface UpdateRecord {
    /** Its place in the history, 1 the oldest of those read. */
    readonly seq: number;
    /** The backend's version number; the file backend records none (0). */
    readonly version: number;
    /** `update`, `refresh`, `destroy`, `import`, ... */
    readonly kind: string;
    readonly start: Date;
    /** Absent while the backend shows it in progress (a Pulumi Cloud update that was killed stays so). */
    readonly end?: Date;
    /** `succeeded`, `failed`, `in-progress`. */
    readonly result: string;
    readonly message: string;
    readonly environment: Readonly<Record<string, string>>;
    /** Keys in full (`ahoy-ops:DISABLE_SIGNUP`, `postgresql:host`). */
    readonly config: ReadonlyMap<string, ConfigValue>;
    readonly resourceChanges?: Readonly<Record<string, number>>;
}

/**
 * Reads one or more pages of `pulumi stack history --json` (each newest first) into updates, oldest first. Throws
 * naming the element and the field when the text is not what the CLI prints.
 */
export function parseHistory(pages: readonly string[]): UpdateRecord[] {
    const all: Array<z.infer<typeof UpdateJson>> = [];
    for (const text of pages) {
        const parsed = z.array(UpdateJson).safeParse(JSON.parse(text === "" ? "[]" : text));
        if (!parsed.success) {
            const issue = parsed.error.issues[0];
            throw new Error(
                `pulumi stack history --json printed something unexpected at ${issue.path.join(".")}: ${issue.message}`,
            );
        }
        all.push(...parsed.data);
    }
    return all.reverse().map((u, i) => ({
        seq: i + 1,
        version: u.version,
        kind: u.kind,
        start: new Date(u.startTime),
        ...(u.endTime !== undefined && { end: new Date(u.endTime) }),
        result: u.result || (u.endTime === undefined ? "in-progress" : "unknown"),
        message: u.message ?? "",
        environment: u.environment ?? {},
        config: new Map(
            Object.entries(u.config ?? {}).map(([key, v]): [string, ConfigValue] => [
                key,
                v.secret ? { secret: true } : { secret: false, value: v.value ?? "" },
            ]),
        ),
        ...(u.resourceChanges && { resourceChanges: u.resourceChanges }),
    }));
}

/** One config change between two updates, keys as a person types them (this project's without its namespace). */
export type ConfigChange =
    | { readonly kind: "set"; readonly key: string; readonly to: ConfigValue }
    | { readonly kind: "changed"; readonly key: string; readonly from: ConfigValue; readonly to: ConfigValue }
    | { readonly kind: "removed"; readonly key: string; readonly from: ConfigValue }
    | { readonly kind: "renamed"; readonly from: string; readonly to: string; readonly value: ConfigValue };

/** `ahoy-ops:DISABLE_SIGNUP` -> `DISABLE_SIGNUP`; another namespace's key stays whole (`postgresql:host`). */
export function displayKey(key: string, project: string): string {
    return key.startsWith(`${project}:`) ? key.slice(project.length + 1) : key;
}

/** The bare name of a key, whatever its namespace: how a project rename is recognised. */
function bareName(key: string): string {
    const colon = key.indexOf(":");
    return colon < 0 ? key : key.slice(colon + 1);
}

/** An empty value (the default of an optional key in Pulumi.yaml) is no value: set means non-empty or secret. */
function isSet(value: ConfigValue | undefined): value is ConfigValue {
    return value !== undefined && (value.secret || value.value !== "");
}

/**
 * What changed from `before` to `after`, in key order. A secret's value is never in the history, so a secret that
 * stays set shows no change (the history cannot tell), and one that appears or goes is "set" or "removed". A key that
 * went while another came with the same value is a rename: the same value under a new key (or the same key under a
 * renamed project).
 */
export function configChanges(
    before: ReadonlyMap<string, ConfigValue> | undefined,
    after: ReadonlyMap<string, ConfigValue>,
    project: string,
): ConfigChange[] {
    const keys = [...new Set([...(before?.keys() ?? []), ...after.keys()])].sort((a, b) =>
        displayKey(a, project).localeCompare(displayKey(b, project)),
    );
    const removed: string[] = [];
    const added: string[] = [];
    const changes: ConfigChange[] = [];
    for (const key of keys) {
        const from = before?.get(key);
        const to = after.get(key);
        if (isSet(from) && !isSet(to)) removed.push(key);
        else if (!isSet(from) && isSet(to)) added.push(key);
        else if (isSet(from) && isSet(to) && !sameValue(from, to)) {
            changes.push({ kind: "changed", key: displayKey(key, project), from, to });
        }
    }
    const renamedFrom = new Set<string>();
    const renamedTo = new Set<string>();
    for (const oldKey of removed) {
        const from = before!.get(oldKey)!;
        const match =
            added.find((k) => !renamedTo.has(k) && bareName(k) === bareName(oldKey)) ??
            added.find((k) => !renamedTo.has(k) && !from.secret && sameValue(from, after.get(k)!));
        if (match === undefined) continue;
        renamedFrom.add(oldKey);
        renamedTo.add(match);
        changes.push({
            kind: "renamed",
            from: displayKey(oldKey, project),
            to: displayKey(match, project),
            value: after.get(match)!,
        });
    }
    for (const key of removed.filter((k) => !renamedFrom.has(k))) {
        changes.push({ kind: "removed", key: displayKey(key, project), from: before!.get(key)! });
    }
    for (const key of added.filter((k) => !renamedTo.has(k))) {
        changes.push({ kind: "set", key: displayKey(key, project), to: after.get(key)! });
    }
    const order = (c: ConfigChange) => (c.kind === "renamed" ? c.to : c.key);
    return changes.sort((a, b) => order(a).localeCompare(order(b)));
}

/** Two values are the same when both are plain and equal; two secrets cannot be compared (the history has neither). */
function sameValue(a: ConfigValue, b: ConfigValue): boolean {
    if (a.secret || b.secret) return a.secret && b.secret;
    return a.value === b.value;
}

/** A value as the report shows it: `[secret]`, or the value quoted where it has spaces or is JSON. */
export function showValue(value: ConfigValue | undefined): string {
    if (!isSet(value)) return "(unset)";
    if (value.secret) return "[secret]";
    if (/^[\w.:/@+,-]+$/.test(value.value)) return value.value;
    // An object key (`contacts`) as its JSON, not a string of it.
    return /^[[{]/.test(value.value) && isJson(value.value) ? value.value : JSON.stringify(value.value);
}

function isJson(text: string): boolean {
    try {
        JSON.parse(text);
        return true;
    } catch {
        return false;
    }
}

/** One change as a line: `DISABLE_SIGNUP false => true`, `releasePin (unset) => dep-...`, `slackWebhookUrl set [secret]`. */
export function formatChange(change: ConfigChange): string {
    switch (change.kind) {
        case "set":
            return change.to.secret ? `${change.key} set [secret]` : `${change.key} (unset) => ${showValue(change.to)}`;
        case "changed":
            return `${change.key} ${showValue(change.from)} => ${showValue(change.to)}`;
        case "removed":
            return change.from.secret
                ? `${change.key} removed (was [secret])`
                : `${change.key} ${showValue(change.from)} => (unset)`;
        case "renamed":
            return `${change.from} renamed ${change.to} (${showValue(change.value)})`;
    }
}

/**
 * Who ran an update, as far as the backend records it: the CI system and build when there was one, and the git author
 * of the commit the program ran from (with "uncommitted changes" when the working tree was dirty, as a local `up`
 * after `pulumi config set` is). Neither backend records the person who typed the command.
 */
export function whoRan(environment: Readonly<Record<string, string>>): string {
    const parts: string[] = [];
    const ci = environment["ci.system"];
    if (ci) {
        const build = environment["ci.build.number"] || environment["ci.build.id"];
        const pr = environment["ci.pr.number"];
        parts.push(`${ci}${build ? ` build ${build}` : ""}${pr ? ` (PR #${pr})` : ""}`);
    }
    const author = environment["git.author"];
    const head = environment["git.head"]?.slice(0, 7);
    if (author) {
        const dirty = environment["git.dirty"] === "true" ? ", uncommitted changes" : "";
        parts.push(`${author}${head ? ` (git author of ${head}${dirty})` : ""}`);
    }
    return parts.length > 0 ? parts.join(", ") : "not recorded";
}

/**
 * The update's message, when it says something about this update: one given with `-m`, or a clean tree's commit
 * title (the commit that was applied). A dirty tree's default message is only HEAD's title, which says nothing of
 * what was applied: left out.
 */
export function updateMessage(update: UpdateRecord): string | undefined {
    const env = update.environment;
    const given = env["pulumi.flag.message"] !== undefined;
    if (!update.message || (!given && env["git.dirty"] === "true")) return undefined;
    return update.message.length > 120 ? `${update.message.slice(0, 117)}...` : update.message;
}

/** `~ 3 updated, 18 unchanged`: the resource changes as the CLI counts them. */
export function formatResourceChanges(changes: Readonly<Record<string, number>> | undefined): string {
    if (!changes) return "not recorded";
    const words: Record<string, string> = {
        create: "created",
        update: "updated",
        delete: "deleted",
        replace: "replaced",
        "create-replacement": "created for replacement",
        "delete-replaced": "deleted after replacement",
        import: "imported",
        refresh: "refreshed",
        read: "read",
        same: "unchanged",
    };
    // In the CLI's order of importance: what changed first, what was only read or left alone last.
    const order = Object.keys(words);
    const rank = (op: string) => (order.includes(op) ? order.indexOf(op) : order.length);
    const parts = Object.entries(changes)
        .filter(([, n]) => n > 0)
        .sort(([a], [b]) => rank(a) - rank(b))
        .map(([op, n]) => `${n} ${words[op] ?? op}`);
    return parts.length > 0 ? parts.join(", ") : "nothing";
}
