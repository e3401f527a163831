// `npm run readiness -- <stack>`: which runbook actions the stack can carry out, read from Pulumi.<stack>.yaml and
// Pulumi.yaml's defaults without the Pulumi engine (a `secure:` value cannot be decrypted here, so it counts as set).
// Exit 0: every action ready; 1: some action is not ready; 2: no such stack file, or the config does not parse.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { PROJECT, StackConfigError, parseStackConfig, stackConfigSchema, type StackConfig } from "../stacks/config";
import { formatReadiness, readiness, type ReadinessEnvironment, type ReadinessRow } from "../stacks/readiness";

/** What a secure value stands for here: set, but unreadable. */
const SECRET_PLACEHOLDER = "[secret]";

/** The stack's config as stored: this project's keys bare, other namespaces' keys full, and which were `secure:`. */
export interface StoredConfig {
    readonly values: Record<string, string>;
    readonly providerConfig: Record<string, string>;
    readonly secretKeys: ReadonlySet<string>;
}

/** A stack the project has no file for. */
export class MissingStackError extends Error {}

/** The nearest directory at or above `start` holding a Pulumi.yaml, as the CLI finds its project. */
export function findProjectDir(start: string): string {
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
        if (path.dirname(dir) === dir) throw new MissingStackError(`no Pulumi.yaml in ${start} or above it`);
    }
}

function text(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

function readYaml(file: string): Record<string, unknown> {
    const parsed = parseYaml(fs.readFileSync(file, "utf8")) as unknown;
    return parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
}

/** Reads Pulumi.<stack>.yaml over Pulumi.yaml's `config:` defaults (and project-wide values), as the CLI merges them. */
export function readStoredConfig(projectDir: string, stack: string): StoredConfig {
    // `org/prod` and `prod` share the file Pulumi.prod.yaml.
    const name = stack.split("/").pop() as string;
    const stackFile = path.join(projectDir, `Pulumi.${name}.yaml`);
    if (!fs.existsSync(stackFile)) {
        const stacks = fs
            .readdirSync(projectDir)
            .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
            .filter((found): found is string => found !== undefined);
        throw new MissingStackError(
            `no stack file ${path.basename(stackFile)} in ${projectDir}` +
                (stacks.length > 0 ? ` (stack files here: ${stacks.join(", ")})` : ""),
        );
    }
    const values: Record<string, string> = {};
    const providerConfig: Record<string, string> = {};
    const secretKeys = new Set<string>();
    const store = (fullKey: string, value: unknown): void => {
        const ours = fullKey.startsWith(`${PROJECT}:`) || !fullKey.includes(":");
        const key = fullKey.startsWith(`${PROJECT}:`) ? fullKey.slice(PROJECT.length + 1) : fullKey;
        const secure = value !== null && typeof value === "object" && "secure" in value;
        if (secure) secretKeys.add(key);
        else secretKeys.delete(key);
        (ours ? values : providerConfig)[key] = secure ? SECRET_PLACEHOLDER : text(value);
    };
    const project = (readYaml(path.join(projectDir, "Pulumi.yaml")).config ?? {}) as Record<string, unknown>;
    for (const [key, declared] of Object.entries(project)) {
        // A declaration (`type`, `default`, `description`) gives its default; `value:` or a bare value sets the key.
        const entry = declared !== null && typeof declared === "object" ? (declared as Record<string, unknown>) : {};
        if ("value" in entry) store(key, entry.value);
        else if ("default" in entry) store(key, entry.default);
        else if (!("type" in entry)) store(key, declared);
    }
    const stackConfig = (readYaml(stackFile).config ?? {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(stackConfig)) store(key, value);
    return { values, providerConfig, secretKeys };
}

/**
 * Values of the forms the secret settings take (a Redis, Slack-webhook or SMTP URL, a 32-character key, any text): a
 * secure value is parsed as the first of these its setting accepts, so the rules between keys still see it as set.
 */
const STAND_INS = [
    "redis://stand-in.invalid:6379",
    "https://hooks.slack.com/services/T0STANDIN/B0STANDIN/standinstandinstandin",
    "smtps://stand-in:stand-in@stand-in.invalid:465",
    "StandInStandInStandInStandIn0000",
    "stand-in",
];

/**
 * The stack's parsed config, judged without the secrets' plain text (which needs the engine): each secure key the schema
 * knows parses as a stand-in of a form its setting accepts, so the parsed config holds that stand-in, not the secret.
 * A secure key no stand-in fits is left out, and the problems naming it are not reported. Throws a StackConfigError
 * listing every other problem.
 */
export function parseWithoutSecrets(stored: StoredConfig, environment: ReadinessEnvironment): StackConfig {
    const shape = stackConfigSchema.shape as Record<string, z.ZodType>;
    const values: Record<string, string> = { ...stored.values };
    const unjudged = new Set<string>();
    for (const key of stored.secretKeys) {
        if (!(key in shape)) continue;
        const standIn = STAND_INS.find((candidate) => shape[key].safeParse(candidate).success);
        if (standIn === undefined) {
            delete values[key];
            unjudged.add(key);
        } else {
            values[key] = standIn;
        }
    }
    try {
        return parseStackConfig(values, stored.secretKeys, stored.providerConfig, environment);
    } catch (error) {
        if (!(error instanceof StackConfigError)) throw error;
        const problems = error.problems.filter((problem) => !unjudged.has(problem.key));
        if (problems.length > 0) throw new StackConfigError(problems);
        const data = stackConfigSchema.parse(values);
        return Object.fromEntries(
            Object.keys(shape).map((key) => [key, data[key as keyof StackConfig]]),
        ) as StackConfig;
    }
}

/** The readiness rows of `stack`, read from the project's files. */
export function stackReadiness(projectDir: string, stack: string, environment: ReadinessEnvironment): ReadinessRow[] {
    const stored = readStoredConfig(projectDir, stack);
    const config = parseWithoutSecrets(stored, environment);
    return readiness(config, { ...stored.providerConfig, ...stored.values }, environment, stack);
}

const USAGE = `usage: npm run readiness -- <stack>
Lists every runbook action with "ready" or what it lacks and the pulumi config command that
supplies it, from Pulumi.<stack>.yaml and Pulumi.yaml (secure values count as set).
Exit 0: all ready; 1: an action is not ready; 2: no such stack file, or a config error.
`;

/** Runs the command; returns the exit code. */
export function main(argv: readonly string[], environment: NodeJS.ProcessEnv, cwd = process.cwd()): number {
    if (argv.includes("--help") || argv.includes("-h")) {
        process.stdout.write(USAGE);
        return 0;
    }
    if (argv.length !== 1 || argv[0].startsWith("-")) {
        process.stderr.write(`readiness: expected one stack name, got ${JSON.stringify(argv)}\n${USAGE}`);
        return 2;
    }
    const stack = argv[0];
    let rows: ReadinessRow[];
    try {
        rows = stackReadiness(findProjectDir(cwd), stack, environment);
    } catch (error) {
        // A missing stack file, a StackConfigError (which never quotes a secret), or a stack file that is not YAML.
        process.stderr.write(`readiness: ${stack}: ${error instanceof Error ? error.message : String(error)}\n`);
        return 2;
    }
    const report = `Runbook readiness of stack ${stack} (secure values count as set):\n\n${formatReadiness(rows)}`;
    process.stdout.write(report);
    // In GitHub Actions the report also goes on the job's summary page, where a pull request's reviewer sees it.
    if (environment.GITHUB_STEP_SUMMARY) {
        fs.appendFileSync(
            environment.GITHUB_STEP_SUMMARY,
            `### Runbook readiness: ${stack}\n\n\`\`\`\n${report}\`\`\`\n`,
        );
    }
    return rows.some((row) => row.status === "not ready") ? 1 : 0;
}

if (require.main === module) {
    // Piped into `head`, the report may be cut short: that is the reader's choice, not an error.
    process.stdout.on("error", (error: NodeJS.ErrnoException) => {
        if (error.code !== "EPIPE") throw error;
    });
    process.exitCode = main(process.argv.slice(2), process.env);
}
