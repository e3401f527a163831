// What `npm run watch` reads of a stack, through the Pulumi CLI as anyone may, with no lock: the `watch` output
// (`pulumi stack output --json`, no --show-secrets) and the config, once (`pulumi config --json --show-secrets`), a
// secret's value reaching this process through a pipe, never a terminal, a log or a command line.
import { execFile } from "node:child_process";
import { z } from "zod";
import type { WatchTarget } from "../components/verification/plan";
import { renderApiUrlProblem } from "../lib/render/apiUrl";
import { PROJECT } from "../stacks/config";
import { parseWatchTags, staleWatchTags, watchTagName } from "../lib/report/watchTags";

/** Runs `pulumi <args>` in the project directory; resolves with its stdout, or rejects naming the command and its error. */
export type PulumiRunner = (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

/** The Pulumi CLI on PATH, in `cwd` (the project directory: Pulumi.yaml and the stack files live there). */
export function pulumiCli(cwd: string, env: NodeJS.ProcessEnv = process.env): PulumiRunner {
    return (args) =>
        new Promise((resolve, reject) => {
            execFile(
                "pulumi",
                [...args, "--non-interactive"],
                {
                    cwd,
                    env: { ...env, PULUMI_SKIP_UPDATE_CHECK: "true" },
                    maxBuffer: 16 * 1024 * 1024,
                    timeout: 120_000,
                },
                (error, stdout, stderr) => {
                    const code = (error as { code?: unknown } | null)?.code;
                    if (error && typeof code !== "number") {
                        reject(new Error(`pulumi ${args.slice(0, 2).join(" ")} could not run: ${error.message}`));
                        return;
                    }
                    resolve({ code: typeof code === "number" ? code : 0, stdout, stderr });
                },
            );
        });
}

const watchSchema = z.object({
    window: z.object({
        path: z.string().startsWith("/"),
        seconds: z.number().positive(),
        maxErrorRate: z.number().positive(),
        maxResponseMs: z.number().positive(),
    }),
    metrics: z.object({
        databaseId: z.string().optional(),
        askMaxConnections: z.boolean(),
        expected5xx: z.array(z.object({ path: z.string(), status: z.number().int(), because: z.string() })),
        thresholds: z.object({
            maxP95Ms: z.number(),
            maxErrorRate: z.number(),
            maxMemoryShare: z.number(),
            minDiskFreeShare: z.number(),
            maxConnectionsShare: z.number(),
        }),
        maxConnections: z
            .union([z.number(), z.object({ notApplicable: z.string() }), z.object({ unreadable: z.string() })])
            .optional(),
    }),
    service: z.string().min(1),
    serviceId: z.string().startsWith("srv-"),
    apiUrl: z.string().url(),
    serviceUrl: z.string().url(),
    deployId: z.string().startsWith("dep-"),
    action: z.string().min(1),
    liveAt: z.string().refine((t) => !Number.isNaN(Date.parse(t)), { error: "not a time" }),
    verifiedAt: z.string(),
    verifiedAfterSeconds: z.number(),
    incident: z
        .object({
            severity: z.union([z.literal(1), z.literal(2), z.literal(3)]),
            title: z.string(),
            status: z.enum(["investigating", "mitigating", "resolved"]),
            dedupKey: z.string().min(1),
        })
        .optional(),
});

/** Why the watch cannot go on, said to the on-call with what fixes it (exit 2). */
export class CannotWatch extends Error {
    constructor(message: string) {
        super(message);
        this.name = "CannotWatch";
    }
}

/** What the stack's `watch` output says: the target, or why there is nothing to watch ("off ..."). */
export type StackWatch = { readonly target: WatchTarget } | { readonly off: string };

/** The stack's `watch` output, read with `pulumi stack output --json` (secrets stay "[secret]"; none are needed). */
export async function readWatchOutput(pulumi: PulumiRunner, stack: string): Promise<StackWatch> {
    const result = await pulumi(["stack", "output", "--json", "--stack", stack]);
    if (result.code !== 0) {
        throw new CannotWatch(
            `pulumi stack output --json --stack ${stack} failed (exit ${result.code}): ${lastLine(result.stderr)}; ` +
                "log in to the stack's backend (pulumi login) and name a stack that exists (pulumi stack ls)",
        );
    }
    let outputs: Record<string, unknown>;
    try {
        outputs = JSON.parse(result.stdout) as Record<string, unknown>;
    } catch {
        throw new CannotWatch(
            `pulumi stack output --json --stack ${stack} printed no JSON: ${lastLine(result.stdout)}`,
        );
    }
    const watch = outputs.watch;
    if (watch === undefined) {
        throw new CannotWatch(
            `stack ${stack} has no \`watch\` output: its last pulumi up ran a program from before the watch; ` +
                `run \`pulumi up --stack ${stack}\` (a no-op up records it, and deploys nothing)`,
        );
    }
    if (typeof watch === "string") {
        if (watch === "[secret]") {
            throw new CannotWatch(
                `stack ${stack}'s \`watch\` output is a secret; it must be plain (it holds no secret)`,
            );
        }
        return { off: watch };
    }
    const parsed = watchSchema.safeParse(watch);
    if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(the output)"}: ${i.message}`);
        throw new CannotWatch(`stack ${stack}'s \`watch\` output is not what this watch reads: ${problems.join("; ")}`);
    }
    return { target: parsed.data as WatchTarget };
}

/** The stack's config as the watch reads it, once. */
export interface StackConfigValues {
    /** One of this project's values (`renderApiKey`, `slackWebhookUrl` ...), a secret's decrypted; undefined when unset. */
    value(key: string): string | undefined;
    /**
     * The secret values (the Render key, the channels' secrets, redisUrl, postgresql:password ...): the watch redacts
     * them from every line it shows. Empty when the stack has none.
     */
    readonly secrets: string[];
}

/**
 * The stack's config, decrypted by `pulumi config --json --show-secrets` in one call, whose output reaches only this
 * process through a pipe: the Render key when RENDER_API_KEY is not set, the channels' settings for a notice, and
 * every secret to redact.
 */
export async function readStackConfig(pulumi: PulumiRunner, stack: string): Promise<StackConfigValues> {
    const result = await pulumi(["config", "--json", "--show-secrets", "--stack", stack]);
    if (result.code !== 0) {
        // Only the CLI's own words, which never carry a value.
        throw new CannotWatch(
            `pulumi config --json --stack ${stack} failed (exit ${result.code}): ${lastLine(result.stderr)}`,
        );
    }
    const config = parseConfigJson(result.stdout);
    return {
        value: (key) => {
            const value = config[`${PROJECT}:${key}`]?.value;
            return typeof value === "string" && value !== "" ? value : undefined;
        },
        secrets: secretsInConfig(result.stdout),
    };
}

type ConfigJson = Record<string, { value?: unknown; secret?: unknown }>;

function parseConfigJson(json: string): ConfigJson {
    try {
        return JSON.parse(json) as ConfigJson;
    } catch {
        throw new CannotWatch("pulumi config --json printed no JSON");
    }
}

/** Pure: the values `pulumi config --json --show-secrets` marks secret. */
export function secretsInConfig(json: string): string[] {
    return Object.values(parseConfigJson(json))
        .filter((entry) => entry?.secret === true && typeof entry.value === "string" && entry.value !== "")
        .map((entry) => entry.value as string);
}

/** The service's variables whose values are secrets: the program's own, and any named like a credential. */
const SECRET_VARIABLE = /^(?:SECRET_KEY|DATABASE_URL|REDIS_URL)$|SECRET|PASSWORD|TOKEN|API_KEY|PRIVATE_KEY/i;

/**
 * Pure: what the service's variables hold that must never be shown: SECRET_KEY, DATABASE_URL (and its password, as
 * written and decoded), anything named like a credential. The app may write any of them into its logs.
 */
export function secretsInVariables(variables: ReadonlyArray<{ key: string; value: string }>): string[] {
    const secrets: string[] = [];
    for (const { key, value } of variables) {
        if (!SECRET_VARIABLE.test(key) || value === "") continue;
        secrets.push(value);
        if (URL.canParse(value)) {
            const password = new URL(value).password;
            if (password) secrets.push(password, decoded(password));
        }
    }
    return secrets;
}

/**
 * Why the watch must not send the Render key to `apiUrl`: the one rule the stack config, the providers and the client
 * keep (lib/render/apiUrl.ts): Render's own API, or an emulator on this machine's loopback.
 */
export function apiUrlProblem(apiUrl: string): string | undefined {
    const problem = renderApiUrlProblem(apiUrl);
    return problem && `the stack's watch output's apiUrl ${problem}`;
}

/**
 * Keeps the watch's verdict with the stack, as the tag `ahoy-watch.<deploy id>` (no lock taken: a newer `up` may be
 * running), and drops the oldest watch tags beyond the ones kept. Says what it did, or why it could not, in one line:
 * the verdict is printed either way, so a tag that cannot be set never fails the watch.
 */
export async function recordWatchVerdict(
    pulumi: PulumiRunner,
    stack: string,
    deployId: string,
    value: string,
): Promise<string> {
    const name = watchTagName(deployId);
    const set = await pulumi(["stack", "tag", "set", name, value, "--stack", stack]);
    if (set.code !== 0) {
        return (
            `the verdict is not kept with the stack: pulumi stack tag set ${name} failed (exit ${set.code}): ` +
            `${lastLine(set.stderr)}; the post-incident report will not show this watch`
        );
    }
    const listed = await pulumi(["stack", "tag", "ls", "--json", "--stack", stack]);
    const stale = listed.code === 0 ? staleWatchTags(parseWatchTags(listed.stdout)) : [];
    for (const old of stale) await pulumi(["stack", "tag", "rm", old, "--stack", stack]);
    return (
        `the verdict is kept with the stack as its tag ${name} (pulumi stack tag get ${name} --stack ${stack})` +
        (stale.length > 0 ? `; ${stale.length} older watch tag${stale.length === 1 ? "" : "s"} dropped` : "")
    );
}

/** `text` URL-decoded; as written when it holds a malformed escape (a bare %), which must not end the watch. */
function decoded(text: string): string {
    try {
        return decodeURIComponent(text);
    } catch {
        return text;
    }
}

function lastLine(text: string): string {
    return (
        text
            .trim()
            .split("\n")
            .filter((l) => l.trim() !== "")
            .at(-1) ?? "(nothing printed)"
    );
}
