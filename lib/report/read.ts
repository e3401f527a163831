// Reading a stack for the report through the Pulumi CLI the user is logged in with: `pulumi stack history --json`,
// page by page, `pulumi stack export` and `pulumi stack tag ls --json` (the watches' verdicts), none with --show-secrets (so no passphrase or key is needed, and no
// secret is ever decrypted). What the CLI says when it cannot is turned into the command that fixes it.
import { parseHistory, type UpdateRecord } from "./history";
import { parseExport, type StateFacts } from "./state";
import { parseWatchTags, type WatchRecord } from "./watchTags";

/** What a run of the CLI printed. */
export interface CliAnswer {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs `pulumi <args>` in the project directory. */
export type RunPulumi = (args: string[]) => Promise<CliAnswer>;

/** The stack could not be read: `message` says why and which command to run. */
export class StackReadError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackReadError";
    }
}

/** How many updates each `stack history` page asks for (the CLI's default is 10). */
export const HISTORY_PAGE_SIZE = 100;

/** The command that fixes what the CLI said, or undefined when it said something else. */
export function advice(stderr: string, stack: string | undefined): string | undefined {
    const named = stack ? ` ${stack}` : " <stack>";
    if (
        /PULUMI_ACCESS_TOKEN must be set|not logged in|getting user info|401|unauthorized|invalid access token/i.test(
            stderr,
        )
    ) {
        return "the Pulumi backend cannot be read: run `pulumi login` (the team's backend, or `pulumi login file://...` for a local one) and try again";
    }
    if (/no stack named '([^']*)' found/.test(stderr)) {
        return (
            `there is no stack${named} on the backend you are logged in to (\`pulumi whoami -v\` shows which): ` +
            "run `pulumi stack ls` to list its stacks, then `pulumi stack select <name>` or name one here"
        );
    }
    if (/no stack selected/.test(stderr)) {
        return "no stack named and none selected: run `pulumi stack select <name>`, or `npm run report -- <stack>`";
    }
    if (/no Pulumi\.yaml project file found/i.test(stderr)) {
        return "not in the ahoy-ops project directory: run `npm run report` from the repository";
    }
    if (/ENOENT|command not found|not found: pulumi/i.test(stderr)) {
        return "the pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/), or run `scripts/pulumi-toolchain`";
    }
    return undefined;
}

async function run(pulumi: RunPulumi, args: string[], stack: string | undefined): Promise<string> {
    const answer = await pulumi(args);
    if (answer.code === 0) return answer.stdout;
    const said = answer.stderr.trim().split("\n").slice(-3).join(" ").trim();
    const fix = advice(answer.stderr, stack);
    throw new StackReadError(
        `\`pulumi ${args.join(" ")}\` failed${said ? `: ${said}` : ` (exit ${answer.code})`}` + (fix ? `\n${fix}` : ""),
    );
}

/** The stack's whole history (oldest first) and what its state holds for the report. */
export async function readStack(
    pulumi: RunPulumi,
    stack: string | undefined,
): Promise<{ history: UpdateRecord[]; state: StateFacts; watches: Map<string, WatchRecord> }> {
    const target = stack ? ["--stack", stack] : [];
    const pages: string[] = [];
    for (let page = 1; ; page++) {
        const text = await run(
            pulumi,
            ["stack", "history", "--json", "--page-size", String(HISTORY_PAGE_SIZE), "--page", String(page), ...target],
            stack,
        );
        pages.push(text);
        const count = (JSON.parse(text.trim() || "[]") as unknown[]).length;
        if (count < HISTORY_PAGE_SIZE) break;
    }
    const exported = await run(pulumi, ["stack", "export", ...target], stack);
    // The watches' verdicts (`npm run watch` keeps them as stack tags); a backend or CLI without tags has none.
    const tags = await pulumi(["stack", "tag", "ls", "--json", ...target]);
    const watches = tags.code === 0 ? parseWatchTags(tags.stdout) : new Map<string, WatchRecord>();
    return { history: parseHistory(pages), state: parseExport(exported), watches };
}
