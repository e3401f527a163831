// `npm run report -- <stack> [--incident <dedup key>|last] [--out FILE]`: the post-incident review's draft for one
// incident of the stack (by default the last), in Markdown, from the stack's own history and state, read through the
// Pulumi CLI and the backend you are logged in to. It needs no Render API key, no database and no passphrase: it
// never decrypts a secret. Exit 0 with a report, or when the stack has no incident (it says so); 1 when the incident
// named is unknown (it names the ones it knows) or the stack cannot be read (it names the command to run).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildReport, type ReportResult } from "../lib/report/build";
import { reportMarkdown } from "../lib/report/markdown";
import { readStack, type RunPulumi, StackReadError } from "../lib/report/read";
import { PROJECT } from "../stacks/config";

const USAGE = `usage: npm run report -- <stack> [--incident <dedup key>|last] [--out FILE]
  <stack>          the stack (default: the selected one)
  --incident KEY   the incident's dedup key (or a unique part of it), or "last" (the default)
  --out FILE       write the Markdown there (default: print it)
`;

export interface ReportArgs {
    readonly stack?: string;
    readonly incident: string;
    readonly out?: string;
}

export function parseArgs(argv: readonly string[]): ReportArgs {
    let stack: string | undefined;
    let incident = "last";
    let out: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const value = () => {
            const next = argv[++i];
            if (next === undefined || next.startsWith("--")) throw new Error(`${arg} needs a value\n${USAGE}`);
            return next;
        };
        if (arg === "--incident") incident = value();
        else if (arg === "--out") out = value();
        else if (arg === "--help" || arg === "-h") throw new HelpRequested();
        else if (arg.startsWith("-")) throw new Error(`unknown option ${JSON.stringify(arg)}\n${USAGE}`);
        else if (stack === undefined) stack = arg;
        else throw new Error(`one stack at a time, got ${JSON.stringify(stack)} and ${JSON.stringify(arg)}\n${USAGE}`);
    }
    return { stack, incident, ...(out !== undefined && { out }) };
}

class HelpRequested extends Error {}

/** The project directory: the CLI resolves a stack name within the project. */
const projectDir = path.join(__dirname, "..");

/** `pulumi` on PATH, in the project directory, with stdin closed (so it never prompts). */
export const spawnPulumi: RunPulumi = (args) =>
    new Promise((resolve) => {
        const child = spawn("pulumi", args, { cwd: projectDir, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
        child.once("error", (error) => resolve({ code: 127, stdout, stderr: `${stderr}${error.message}` }));
        child.once("close", (code) => resolve({ code, stdout, stderr }));
    });

/** The report (or why there is none) of the stack, read through `pulumi`. */
export async function report(args: ReportArgs, pulumi: RunPulumi, now = new Date()): Promise<ReportResult> {
    const { history, state, watches } = await readStack(pulumi, args.stack);
    const stack = args.stack ?? (await selectedStack(pulumi));
    return buildReport({ stack, project: PROJECT, history, state, watches, incident: args.incident, now });
}

async function selectedStack(pulumi: RunPulumi): Promise<string> {
    const answer = await pulumi(["stack", "--show-name"]);
    return answer.code === 0 && answer.stdout.trim() ? answer.stdout.trim() : "<the selected stack>";
}

/** Runs the command: what it prints, where it writes, and its exit code. */
export async function main(argv: readonly string[], pulumi: RunPulumi = spawnPulumi): Promise<number> {
    let args: ReportArgs;
    try {
        args = parseArgs(argv);
    } catch (error) {
        if (error instanceof HelpRequested) {
            process.stdout.write(USAGE);
            return 0;
        }
        process.stderr.write(`report: ${(error as Error).message}\n`);
        return 1;
    }
    let result: ReportResult;
    try {
        result = await report(args, pulumi);
    } catch (error) {
        if (error instanceof StackReadError) {
            process.stderr.write(`report: ${error.message}\n`);
            return 1;
        }
        throw error;
    }
    if (result.kind === "no-incident") {
        process.stdout.write(`report: ${result.message}\n`);
        return 0;
    }
    if (result.kind === "unknown-incident") {
        process.stderr.write(`report: ${result.message}\n`);
        return 1;
    }
    const markdown = reportMarkdown(result.report);
    if (args.out) {
        fs.writeFileSync(args.out, markdown);
        const r = result.report;
        process.stdout.write(
            `report: ${r.open ? "the story so far of" : "the review's draft for"} "${r.title}" (${r.rows.length} rows) ` +
                `written to ${args.out}\n`,
        );
    } else {
        process.stdout.write(markdown);
    }
    return 0;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (error: unknown) => {
            process.stderr.write(
                `report: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
            );
            process.exit(1);
        },
    );
}
