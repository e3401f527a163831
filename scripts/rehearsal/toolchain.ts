// The Pulumi toolchain scripts/pulumi-toolchain builds (or finds): its environment, and what its status file says of each piece.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const repoRoot = path.join(__dirname, "..", "..");

/** The pieces the program needs through the CLI, in the status file's order. */
export const PIECES = ["cli", "language-host", "dynamic-provider", "command", "random", "postgresql"] as const;
export type Piece = (typeof PIECES)[number];
export const PLUGINS = ["command", "random", "postgresql"] as const;

/** One line of `<cache>/status`: `NAME ok [detail]`, `NAME stand-in: why`, or `NAME missing: reason`. */
export interface PieceStatus {
    readonly state: "ok" | "stand-in" | "missing";
    readonly detail: string;
}

export interface Toolchain {
    /** The variables the CLI runs with: PATH (the CLI first), PULUMI_HOME, and the no-network switches. */
    readonly env: Record<string, string>;
    readonly statusFile: string;
    readonly status: Readonly<Record<Piece, PieceStatus>>;
    /** Why the program cannot run through the CLI here (a piece missing), or undefined when it can. */
    readonly problem?: string;
    /** The plugins that are TEST-ONLY stand-ins, not the real providers. */
    readonly standIns: readonly string[];
    /** How long the toolchain script took. */
    readonly ms: number;
}

/** Parses the status file's text. A piece without a line is missing, "not in the status file". */
export function parseStatus(text: string): Record<Piece, PieceStatus> {
    const seen = new Map<string, PieceStatus>();
    for (const line of text.split("\n")) {
        const match = /^(\S+) (ok|stand-in:|missing:)\s?(.*)$/.exec(line);
        if (!match) continue;
        const state = match[2] === "ok" ? "ok" : match[2] === "stand-in:" ? "stand-in" : "missing";
        seen.set(match[1], { state, detail: match[3] });
    }
    return Object.fromEntries(
        PIECES.map((p) => [p, seen.get(p) ?? { state: "missing", detail: "not in the status file" }]),
    ) as Record<Piece, PieceStatus>;
}

/** The toolchain's cache directory, as scripts/pulumi-toolchain picks it. */
function cacheDir(env: NodeJS.ProcessEnv): string {
    const root = env.AHOY_TOOLCHAIN_CACHE ?? path.join(env.HOME ?? os.homedir(), ".cache", "ahoy-ops");
    return path.join(root, "pulumi-3.248.0");
}

const cached = new Map<boolean, Toolchain>();

/**
 * Runs scripts/pulumi-toolchain once per process and reads its KEY=value lines and status file. With `build` it builds
 * what is missing (warm: about a second; cold: several minutes, its progress on stderr), as the rehearsal does;
 * without, it only checks (AHOY_TOOLCHAIN_NO_BUILD=1, a fraction of a second), as test suites do, so a suite on a
 * machine without the toolchain skips at once. Never throws: a toolchain that cannot run the program says why in
 * `problem`.
 */
export function loadToolchain({ build }: { build: boolean }): Toolchain {
    const known = cached.get(build);
    if (known) return known;
    const started = Date.now();
    const script = path.join(repoRoot, "scripts", "pulumi-toolchain");
    // A build's progress is shown (a cold one takes minutes); a warm run's piece-by-piece report is not.
    const cold = !fs.existsSync(path.join(cacheDir(process.env), "stamps", "cli"));
    const result = spawnSync(script, [], {
        cwd: repoRoot,
        encoding: "utf8",
        env: build ? process.env : { ...process.env, AHOY_TOOLCHAIN_NO_BUILD: "1" },
        stdio: ["ignore", "pipe", build && cold ? "inherit" : "pipe"],
    });
    const env: Record<string, string> = {};
    for (const line of (result.stdout ?? "").split("\n")) {
        const match = /^([A-Z_]+)=(.*)$/.exec(line);
        if (match) env[match[1]] = match[2];
    }
    delete env.PULUMI_BIN_DIR;
    const statusFile = env.PULUMI_TOOLCHAIN_STATUS ?? path.join(cacheDir(process.env), "status");
    const text = fs.existsSync(statusFile) ? fs.readFileSync(statusFile, "utf8") : "";
    const status = parseStatus(text);
    const missing = PIECES.filter((p) => status[p].state === "missing");
    let problem: string | undefined;
    if (result.error) problem = `scripts/pulumi-toolchain could not run: ${result.error.message}`;
    else if (missing.length > 0) {
        // "no CLI" follows from the CLI's own line: say the cause once.
        const causes = missing.filter((p) => status[p].detail !== "no CLI");
        problem = (causes.length > 0 ? causes : missing).map((p) => `${p} missing: ${status[p].detail}`).join("; ");
    } else if (result.status !== 0 || !env.PATH || !env.PULUMI_HOME) {
        const tail = (result.stderr ?? "").trim().split("\n").slice(-3).join(" ");
        problem = `scripts/pulumi-toolchain exited ${result.status}: ${tail}`;
    }
    const toolchain: Toolchain = {
        env,
        statusFile,
        status,
        problem,
        standIns: PLUGINS.filter((p) => status[p].state === "stand-in"),
        ms: Date.now() - started,
    };
    cached.set(build, toolchain);
    return toolchain;
}

/** One line saying which plugins are stand-ins, for a report. */
export function standInLine(toolchain: Toolchain): string {
    if (toolchain.standIns.length === 0) return "provider plugins: the real ones";
    const real = PLUGINS.filter((p) => toolchain.status[p].state === "ok");
    return (
        `provider plugins: TEST-ONLY stand-ins for ${toolchain.standIns.join(", ")} (scripts/toolchain/standins; ` +
        `the real ones could not be built here, see ${toolchain.statusFile})` +
        (real.length > 0 ? `; real: ${real.join(", ")}` : "")
    );
}
