// A rehearsal: a stack of this project on a local file backend, its services, and each runbook action run through the
// real CLI as one recorded action (wall time, Render requests by kind, deploys, the checks, the CLI's summaries).
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RecordedRequest } from "../../emulator";
import { PulumiCli, resourcesSummary, type CliResult } from "./cli";
import { startServices, type ServiceOptions, type Services } from "./services";
import { loadToolchain, repoRoot, type Toolchain } from "./toolchain";

export interface RehearsalOptions extends ServiceOptions {
    /** The stack's name; its file Pulumi.<stack>.yaml lives in the project directory until `close`. */
    readonly stack: string;
    /** Run the up's checks after each deploy (a 30 s window, one drill watching it: npm run watch); false: `verify false`. */
    readonly verify: boolean;
    /** Where the temp directory (state, log) goes; default the system's. */
    readonly tmpRoot?: string;
    /** The toolchain to run; default: checked only (loadToolchain without building). */
    readonly toolchain?: Toolchain;
}

export interface Check {
    readonly name: string;
    readonly ok: boolean;
    readonly detail?: string;
}

export interface ActionRecord {
    readonly name: string;
    /** The commands typed, in order. */
    readonly commands: string[];
    ms: number;
    gets: number;
    /** Render writes by kind: `PUT env-vars/{key}` -> 1. */
    writes: Record<string, number>;
    deploysCreated: number;
    readonly checks: Check[];
    /** Each preview/up/refresh/destroy's `Resources:` summary, with its command. */
    readonly summaries: Array<{ command: string; summary: string }>;
    /** What `npm run watch` said at the end of the action's window: each source's figures, then its verdict. */
    watch?: string[];
    error?: string;
}

/** The kind of a Render request, as the scorecard counts it: `POST deploys`, `PUT env-vars/{key}`, `PATCH services/{id}`. */
export function requestKind(request: RecordedRequest): string {
    const route = (request.route ?? request.path)
        .replace(/^\/services\/\{serviceId\}\/?/, "")
        .replace("{envVarKey}", "{key}")
        .replace("{deployId}", "{id}");
    return `${request.method} ${route === "" ? "services/{id}" : route}`;
}

/** The non-GET requests among `requests`, counted by kind. */
export function writesByKind(requests: readonly RecordedRequest[]): Record<string, number> {
    const writes: Record<string, number> = {};
    for (const request of requests) {
        if (request.method !== "GET") writes[requestKind(request)] = (writes[requestKind(request)] ?? 0) + 1;
    }
    return writes;
}

/** `PUT env-vars/{key} x1, POST deploys x1`, or `none`. */
export function formatWrites(writes: Record<string, number>): string {
    const entries = Object.entries(writes);
    return entries.length === 0 ? "none" : entries.map(([kind, n]) => `${kind} x${n}`).join(", ");
}

/** One resource step a preview or update lists (`~ pulumi-nodejs:dynamic/render:EnvVar: (update)` + its URN). */
export interface PreviewStep {
    readonly op: string;
    readonly type: string;
    readonly name: string;
}

/** The resource steps in `pulumi preview --diff` output, the unchanged ones (`same`) left out. */
export function previewSteps(output: string): PreviewStep[] {
    const lines = output.split("\n");
    const steps: PreviewStep[] = [];
    for (let i = 0; i < lines.length; i++) {
        const head = /^\s*(?:[~+-]{1,2}|\+-|-\+)?\s*([\w.-]+:[\w/.-]*:[\w.-]+): \(([\w-]+)\)\s*$/.exec(lines[i]);
        if (!head) continue;
        const [, type, op] = head;
        let name = "";
        for (let j = i + 1; j < Math.min(i + 4, lines.length); j++) {
            const urn = /\[urn=(\S+)\]/.exec(lines[j]);
            if (urn) {
                name = urn[1].split("::").pop() ?? "";
                break;
            }
        }
        if (op !== "same") steps.push({ op, type, name });
    }
    return steps;
}

/**
 * A stack of this project with its own services and backend. Open it, run actions, `close` it: whatever happens,
 * close leaves no process running and no stack file behind (the log stays, in the temp directory).
 */
export class Rehearsal {
    readonly actions: ActionRecord[] = [];
    /** Values that must never appear in plain text in the state, the stack file or the CLI's output. */
    readonly secrets = new Set<string>();
    /** What one action leaves for the next (the last good deploy, a held session, ...). */
    readonly memo: Record<string, unknown> = {};
    /** Processes running beside the CLI (a watch): stopped by `close`. */
    readonly background = new Set<{ stop(): Promise<void> }>();
    private closed = false;

    private constructor(
        readonly options: RehearsalOptions,
        readonly toolchain: Toolchain,
        readonly services: Services,
        readonly tmp: string,
        readonly cli: PulumiCli,
    ) {}

    get stackFile(): string {
        return path.join(repoRoot, `Pulumi.${this.options.stack}.yaml`);
    }
    get logFile(): string {
        return this.cli.options.logFile;
    }
    get emulator() {
        return this.services.emulator;
    }

    /** Starts the services and a CLI for a new stack (not created yet: the `configure` drill types `stack init`). */
    static async open(options: RehearsalOptions): Promise<Rehearsal> {
        const toolchain = options.toolchain ?? loadToolchain({ build: false });
        if (toolchain.problem)
            throw new Error(`the Pulumi toolchain cannot run the program here: ${toolchain.problem}`);
        const stackFile = path.join(repoRoot, `Pulumi.${options.stack}.yaml`);
        if (fs.existsSync(stackFile)) {
            throw new Error(
                `${stackFile} exists: another rehearsal of stack ${options.stack} is running, or one was killed before it ` +
                    `could clean up; delete the file if none is running`,
            );
        }
        const tmp = fs.mkdtempSync(path.join(options.tmpRoot ?? os.tmpdir(), `ahoy-${options.stack}-`));
        fs.mkdirSync(path.join(tmp, "state"));
        const services = await startServices(options);
        const cli = new PulumiCli({
            toolchain,
            cwd: repoRoot,
            stack: options.stack,
            backendUrl: `file://${path.join(tmp, "state")}`,
            passphrase: `rehearsal-${randomBytes(8).toString("hex")}`,
            logFile: path.join(tmp, "pulumi.log"),
        });
        const r = new Rehearsal(options, toolchain, services, tmp, cli);
        r.secrets.add(services.emulator.apiKey);
        r.secrets.add(services.slack.webhookUrl);
        r.secrets.add(services.slack.token);
        if (services.admin) r.secrets.add(services.admin.password);
        if (services.redis) {
            r.secrets.add(services.redis.url);
            const password = new URL(services.redis.url).password;
            if (password) r.secrets.add(decodeURIComponent(password));
        }
        return r;
    }

    /** Records the secrets the live deploy runs with now: SECRET_KEY, DATABASE_URL and the password inside it. */
    rememberLiveSecrets(): void {
        const env = this.emulator.liveEnv();
        for (const key of ["SECRET_KEY", "DATABASE_URL"]) if (env[key]) this.secrets.add(env[key]);
        if (env.DATABASE_URL) {
            const password = new URL(env.DATABASE_URL).password;
            this.secrets.add(password);
            this.secrets.add(decodeURIComponent(password));
        }
    }

    /** The secrets found in `text` in plain form, each shown by its length only. */
    leakedIn(text: string): string[] {
        return [...this.secrets]
            .filter((s) => s.length >= 8 && text.includes(s))
            .map((s) => `a ${s.length}-character secret`);
    }

    /** Runs one action: its commands and checks, with what it cost at Render measured around it. A failure is recorded. */
    async action(name: string, body: (a: Action) => Promise<void>): Promise<ActionRecord> {
        const record: ActionRecord = {
            name,
            commands: [],
            ms: 0,
            gets: 0,
            writes: {},
            deploysCreated: 0,
            checks: [],
            summaries: [],
        };
        this.actions.push(record);
        const firstRequest = this.emulator.requests().length;
        const deploysBefore = new Set(this.emulator.deploys().map((d) => d.id));
        const started = Date.now();
        try {
            await body(new Action(this, record, firstRequest, deploysBefore));
        } catch (error) {
            record.error = error instanceof Error ? error.message : String(error);
        } finally {
            record.ms = Date.now() - started;
            const requests = this.emulator.requests().slice(firstRequest);
            record.gets = requests.filter((request) => request.method === "GET").length;
            record.writes = writesByKind(requests);
            record.deploysCreated = this.emulator.deploys().filter((d) => !deploysBefore.has(d.id)).length;
            this.rememberLiveSecrets();
        }
        return record;
    }

    /** Whether an action failed: an error, or a check that did not pass. */
    static failed(record: ActionRecord): boolean {
        return record.error !== undefined || record.checks.some((c) => !c.ok);
    }

    /** Stops the CLI and its plugins, removes the stack file and the state, stops the services. Safe to call twice. */
    async close(): Promise<void> {
        if (this.closed) return;
        this.closed = true;
        await Promise.all([...this.background].map((p) => p.stop()));
        await this.cli.stopAll();
        fs.rmSync(this.stackFile, { force: true });
        fs.rmSync(path.join(this.tmp, "state"), { recursive: true, force: true });
        await this.services.stop();
    }
}

/** What an action's body does: type commands and check what they did. */
export class Action {
    constructor(
        readonly rehearsal: Rehearsal,
        readonly record: ActionRecord,
        private readonly firstRequest: number,
        private readonly deploysBefore: ReadonlySet<string>,
    ) {}

    /** Render writes by kind since the action began. */
    writes(): Record<string, number> {
        return writesByKind(this.rehearsal.emulator.requests().slice(this.firstRequest));
    }

    /** Deploys created since the action began (by the program, by a push, from the dashboard). */
    deploysCreated(): number {
        return this.rehearsal.emulator.deploys().filter((d) => !this.deploysBefore.has(d.id)).length;
    }

    /** Types `pulumi <args>`; fails the action if it fails, unless `allowFailure`. */
    async pulumi(args: string[], opts: { allowFailure?: boolean; stdin?: string } = {}): Promise<CliResult> {
        const result = await this.rehearsal.cli.run(args, opts);
        this.record.commands.push(result.command);
        if (["up", "preview", "refresh", "destroy"].includes(args[0])) {
            this.record.summaries.push({ command: result.command, summary: resourcesSummary(result.output) });
        }
        return result;
    }

    /** `pulumi config set KEY VALUE`, or with `secret`, `pulumi config set --secret KEY` with the value on stdin. */
    async configSet(key: string, value: string, opts: { secret?: boolean } = {}): Promise<void> {
        if (opts.secret) {
            this.rehearsal.secrets.add(value);
            await this.pulumi(["config", "set", "--secret", key], { stdin: value });
        } else {
            await this.pulumi(["config", "set", key, value]);
        }
    }

    /** A point in Render's request log, for `writesSince`. */
    mark(): number {
        return this.rehearsal.emulator.requests().length;
    }

    /** Render writes (non-GET requests) since `mark`. */
    writesSince(mark: number): number {
        return this.rehearsal.emulator
            .requests()
            .slice(mark)
            .filter((r) => r.method !== "GET").length;
    }

    /** Records a check; `ok` false fails the action (after the rest of it runs). */
    check(name: string, ok: boolean, detail?: string): boolean {
        this.record.checks.push({ name, ok, detail: ok ? undefined : detail });
        return ok;
    }
}
