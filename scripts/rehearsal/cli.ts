// The Pulumi CLI as an on-call engineer types it: one command at a time in the project directory, each one's whole output
// kept in a log file, on a local file backend, with the toolchain's PULUMI_HOME and nothing from ~/.pulumi.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Toolchain } from "./toolchain";

export interface CliResult {
    /** The command as typed, e.g. `pulumi config set DISABLE_SIGNUP true` (without the --stack every call carries). */
    readonly command: string;
    readonly code: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stdout: string;
    readonly stderr: string;
    /** stdout then stderr, ANSI escapes removed: what a reader of the terminal saw, for assertions. */
    readonly output: string;
    readonly ms: number;
    /** Its stdout shows secrets: never put it in a message. */
    readonly quiet?: boolean;
}

export class CliError extends Error {
    constructor(readonly result: CliResult) {
        const tail = (result.quiet ? result.stderr : result.output).trim().split("\n").slice(-25).join("\n");
        super(
            `\`${result.command}\` ${result.signal ? `was killed by ${result.signal}` : `exited ${result.code}`}; its output ended:\n${tail}`,
        );
        this.name = "CliError";
    }
}

export interface CliOptions {
    readonly toolchain: Toolchain;
    /** The project directory: the program and its dynamic providers load from it. */
    readonly cwd: string;
    /** The stack every command names with --stack, so runs sharing PULUMI_HOME never depend on a selected stack. */
    readonly stack: string;
    /** `file://<dir>`: the state lives there. */
    readonly backendUrl: string;
    readonly passphrase: string;
    /** Where each command's whole output is appended. */
    readonly logFile: string;
    /** Variables beside the toolchain's (e.g. RENDER_API_KEY for a test that does not set the secret config). */
    readonly extraEnv?: Record<string, string>;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

/** Commands that take --stack (every one this driver types but `pulumi version`, `plugin`, `login`). */
const STACKLESS = new Set(["version", "plugin", "about"]);

export class PulumiCli {
    private readonly running = new Set<ChildProcess>();

    constructor(readonly options: CliOptions) {
        fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
    }

    /** The environment every command gets: the caller's, minus anything that would reach a real Pulumi account. */
    env(): NodeJS.ProcessEnv {
        const env: NodeJS.ProcessEnv = { ...process.env };
        const tsconfig = path.join(this.options.cwd, "tsconfig.json");
        for (const key of Object.keys(env)) {
            if (key === "PULUMI_ACCESS_TOKEN" || key === "PULUMI_STACK" || key.startsWith("PULUMI_CONFIG"))
                delete env[key];
        }
        return {
            ...env,
            ...this.options.toolchain.env,
            PULUMI_BACKEND_URL: this.options.backendUrl,
            PULUMI_CONFIG_PASSPHRASE: this.options.passphrase,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
            // The sdk/v3@v3.68 language host ignores Pulumi.yaml's runtime options; these it reads from the environment.
            ...(fs.existsSync(tsconfig)
                ? { PULUMI_NODEJS_TRANSPILE_ONLY: "true", PULUMI_NODEJS_TSCONFIG_PATH: tsconfig }
                : {}),
            NO_COLOR: "1",
            ...this.options.extraEnv,
        };
    }

    /**
     * Runs `pulumi <args>` (with --stack appended where it applies); resolves with what it printed, or rejects with a
     * CliError naming the command and its output's end when it fails (unless `allowFailure`). `quiet` keeps stdout out
     * of the log (for a command that prints secrets, such as `stack output --show-secrets`).
     */
    async run(
        args: string[],
        opts: { allowFailure?: boolean; stdin?: string; quiet?: boolean } = {},
    ): Promise<CliResult> {
        const command = ["pulumi", ...args].map(quoteArg).join(" ");
        const full = [...args];
        if (!STACKLESS.has(args[0]) && !namesItsStack(args)) full.push("--stack", this.options.stack);
        const started = Date.now();
        fs.appendFileSync(this.options.logFile, `\n===== ${new Date().toISOString()} $ ${command}\n`);
        const child = spawn("pulumi", full, {
            cwd: this.options.cwd,
            env: this.env(),
            stdio: ["pipe", "pipe", "pipe"],
            // Its own process group, so a Ctrl-C of the driver stops the CLI and every plugin it started, and nothing else.
            detached: true,
        });
        this.running.add(child);
        let stdout = "";
        let stderr = "";
        if (opts.quiet) fs.appendFileSync(this.options.logFile, "(stdout not logged: it shows secrets)\n");
        child.stdout!.on("data", (chunk: Buffer) => {
            stdout += chunk.toString("utf8");
            if (!opts.quiet) fs.appendFileSync(this.options.logFile, chunk);
        });
        child.stderr!.on("data", (chunk: Buffer) => {
            stderr += chunk.toString("utf8");
            fs.appendFileSync(this.options.logFile, chunk);
        });
        child.stdin!.on("error", () => undefined);
        child.stdin!.end(opts.stdin ?? "");
        const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
            (resolve, reject) => {
                child.once("error", reject);
                child.once("close", (c, s) => resolve({ code: c, signal: s }));
            },
        ).finally(() => this.running.delete(child));
        const ms = Date.now() - started;
        fs.appendFileSync(
            this.options.logFile,
            `===== ${signal ? `killed by ${signal}` : `exit ${code}`} after ${(ms / 1000).toFixed(1)} s\n`,
        );
        const result: CliResult = {
            command,
            code,
            signal,
            stdout: stdout.replace(ANSI, ""),
            stderr: stderr.replace(ANSI, ""),
            output: `${stdout}\n${stderr}`.replace(ANSI, ""),
            ms,
            quiet: opts.quiet,
        };
        if (code !== 0 && !opts.allowFailure) throw new CliError(result);
        return result;
    }

    /**
     * `kill -9` of every command still running and its plugins (its process group), as a CI runner's timeout or a
     * closed laptop leaves an `up`: no chance to cancel, release the lock or record what was in flight.
     */
    killAll(): void {
        for (const child of this.running) signalGroup(child, "SIGKILL");
    }

    /**
     * Stops every command still running, with its plugins: SIGINT (the CLI cancels cleanly), then SIGKILL of the
     * process group after `graceMs`.
     */
    async stopAll(graceMs = 5000): Promise<void> {
        await Promise.all(
            [...this.running].map(async (child) => {
                const exited = new Promise<void>((resolve) => {
                    if (child.exitCode !== null || child.signalCode !== null) resolve();
                    else child.once("close", () => resolve());
                });
                signalGroup(child, "SIGINT");
                const timer = setTimeout(() => signalGroup(child, "SIGKILL"), graceMs);
                await exited;
                clearTimeout(timer);
                // Plugins the CLI left behind in its group.
                signalGroup(child, "SIGKILL");
            }),
        );
    }
}

/** Sends `signal` to `child`'s process group (it was spawned detached), as a terminal's Ctrl-C reaches every process in it. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    if (child.pid === undefined) return;
    try {
        process.kill(-child.pid, signal);
    } catch {
        // The group is gone.
    }
}

/** `stack init NAME`, `stack rm NAME`, `stack select NAME` and `stack ls` take no --stack. */
function namesItsStack(args: string[]): boolean {
    if (args[0] !== "stack") return false;
    if (args[1] === "ls") return true;
    return ["init", "rm", "select"].includes(args[1]) && args[2] !== undefined && !args[2].startsWith("-");
}

function quoteArg(arg: string): string {
    return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The last `Resources:` block of an up/preview/refresh/destroy output (an up prints its preview's, then its own), as one
 * line: `~ 2 updated, 23 unchanged`.
 */
export function resourcesSummary(output: string): string {
    const lines = output.split("\n");
    let start = -1;
    lines.forEach((l, i) => {
        if (/^Resources:\s*$/.test(l.trim())) start = i;
    });
    if (start < 0) return "(no Resources: summary)";
    const items: string[] = [];
    for (const line of lines.slice(start + 1)) {
        const text = line.trim();
        if (text === "" || /^Duration:/.test(text)) break;
        items.push(text);
    }
    return items.join(", ");
}
