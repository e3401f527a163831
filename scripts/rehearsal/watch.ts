// `npm run watch -- <stack>` as an on-call engineer runs it in a rehearsal: in the project directory with the CLI's
// environment, in its own process group (so a Ctrl-C reaches it as a terminal's would), its output kept in the log.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { signalGroup } from "./cli";
import type { Action, Rehearsal } from "./rehearsal";
import { repoRoot } from "./toolchain";

/** A watch running in the background. */
export interface WatchRun {
    /** Every line it printed so far (stdout and stderr). */
    readonly lines: string[];
    /** Resolves with the first line (printed so far or later) matching `pattern`; rejects after `timeoutMs` or on exit. */
    waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
    /** Its end: exit code, signal, and how long it ran. */
    readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
    /** Ctrl-C, as a terminal sends it: SIGINT to its process group. Returns when it was sent (ms since the epoch). */
    interrupt(): number;
    /** Stops it if it still runs (SIGINT, then SIGKILL after `graceMs`). */
    stop(graceMs?: number): Promise<void>;
}

/** Starts `npm run watch -- <the rehearsal's stack> ...args`. */
export function startWatch(rehearsal: Rehearsal, args: string[] = [], env: Record<string, string> = {}): WatchRun {
    const started = Date.now();
    const command = `npm run watch -- ${[rehearsal.options.stack, ...args].join(" ")}`;
    fs.appendFileSync(rehearsal.logFile, `\n===== ${new Date().toISOString()} $ ${command}\n`);
    const child = spawn("npm", ["run", "--silent", "watch", "--", rehearsal.options.stack, ...args], {
        cwd: repoRoot,
        env: { ...rehearsal.cli.env(), ...env },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
    });
    const lines: string[] = [];
    const waiters = new Set<() => void>();
    let partial = { stdout: "", stderr: "" };
    const take = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
        fs.appendFileSync(rehearsal.logFile, chunk);
        const text = partial[stream] + chunk.toString("utf8");
        const parts = text.split("\n");
        partial = { ...partial, [stream]: parts.pop() ?? "" };
        lines.push(...parts);
        for (const wake of [...waiters]) wake();
    };
    child.stdout!.on("data", take("stdout"));
    child.stderr!.on("data", take("stderr"));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>(
        (resolve, reject) => {
            child.once("error", reject);
            child.once("close", (code, signal) => {
                for (const stream of ["stdout", "stderr"] as const) if (partial[stream]) lines.push(partial[stream]);
                const ms = Date.now() - started;
                fs.appendFileSync(
                    rehearsal.logFile,
                    `===== watch ${signal ? `killed by ${signal}` : `exit ${code}`} after ${(ms / 1000).toFixed(1)} s\n`,
                );
                for (const wake of [...waiters]) wake();
                resolve({ code, signal, ms });
            });
        },
    );
    let done = false;
    const handle = { stop: (graceMs?: number) => stopIt(graceMs) };
    rehearsal.background.add(handle);
    void exited.then(
        () => {
            done = true;
            rehearsal.background.delete(handle);
        },
        () => rehearsal.background.delete(handle),
    );
    const signal = (name: NodeJS.Signals) => signalGroup(child, name);
    return {
        lines,
        exited,
        waitForLine(pattern, timeoutMs = 30_000) {
            return new Promise((resolve, reject) => {
                const check = () => {
                    const found = lines.find((line) => pattern.test(line));
                    if (found !== undefined) {
                        finish();
                        resolve(found);
                    } else if (done) {
                        finish();
                        reject(
                            new Error(`${command} ended without printing ${pattern}; it printed:\n${lines.join("\n")}`),
                        );
                    }
                };
                const timer = setTimeout(() => {
                    finish();
                    reject(
                        new Error(
                            `${command} printed no ${pattern} within ${timeoutMs} ms; it printed:\n${lines.join("\n")}`,
                        ),
                    );
                }, timeoutMs);
                const finish = () => {
                    clearTimeout(timer);
                    waiters.delete(check);
                };
                waiters.add(check);
                check();
            });
        },
        interrupt() {
            signal("SIGINT");
            return Date.now();
        },
        stop: stopIt,
    };

    async function stopIt(graceMs = 3_000): Promise<void> {
        if (done) return;
        signal("SIGINT");
        const timer = setTimeout(() => signal("SIGKILL"), graceMs);
        await exited.catch(() => undefined);
        clearTimeout(timer);
    }
}

/** What the watch reads besides its own /healthz samples, each printed as `<source>: <figure>` in its report. */
const WATCH_SOURCES = ["health", "events", "logs", "metrics"] as const;

/**
 * `npm run watch -- <stack>` to the end of the window, as the README's flow runs it right after `pulumi up`: records
 * what it said at the end (each source's figures and its verdict) on the action, for the scorecard, and checks that it
 * judged every source and found nothing crossed.
 */
export async function watchToEnd(a: Action): Promise<void> {
    const run = startWatch(a.rehearsal);
    a.record.commands.push(`npm run watch -- ${a.rehearsal.options.stack}`);
    const end = await run.exited;
    // The report follows the empty line the watch prints after its progress lines.
    const blank = run.lines.lastIndexOf("");
    const report = run.lines.slice(blank + 1).filter((line) => line.trim() !== "");
    a.record.watch = report;
    const summary = report.at(-1) ?? "(nothing printed)";
    a.check(
        "npm run watch: the rest of the window, nothing crossed (exit 0)",
        end.code === 0,
        `exit ${end.code ?? end.signal}: ${summary}`,
    );
    const unjudged = WATCH_SOURCES.filter((source) => !report.some((line) => line.startsWith(`${source}: `)));
    a.check(
        "the watch judged its four sources: /healthz, Render's service events, its logs and its metrics",
        unjudged.length === 0,
        `no verdict from ${unjudged.join(", ")}`,
    );
    const leaked = a.rehearsal.leakedIn(run.lines.join("\n"));
    a.check("the watch prints no secret", leaked.length === 0, leaked.join(", "));
}
