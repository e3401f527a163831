// Captures the report's test fixtures from the real Pulumi CLI (test/report/fixtures/): an incident played on a
// rehearsal stack (opened, a switch, a failed `up`, a release pin, mitigating, a killed `up`, resolved), and a stack
// whose config keys were renamed between updates (an older program's key names, then today's). What is kept is
// `pulumi stack history --json` as printed, and `pulumi stack export` cut down to the resources the report reads; no
// secret of the rehearsal is in any of it (checked before anything is written).
//
//   node --import tsx scripts/report-fixtures.ts
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PulumiCli } from "./rehearsal/cli";
import { configure, converge } from "./rehearsal/drills";
import { configureIncident } from "./rehearsal/reportDrills";
import { Rehearsal, type Action } from "./rehearsal/rehearsal";
import { loadToolchain, repoRoot } from "./rehearsal/toolchain";
import { TYPES } from "../lib/report/state";
import { startSlackStandIn } from "../test/support/slackStandIn";
import { waitFor } from "../test/support/wait";

const OUT = path.join(repoRoot, "test", "report", "fixtures");

/** The export cut down to what the report reads: those resources' outputs (no provider text), and pending operations. */
function cutExport(text: string): unknown {
    const exported = JSON.parse(text) as {
        deployment?: { resources?: Array<Record<string, unknown>>; pending_operations?: unknown[] };
    };
    const keep = new Set<string>(Object.values(TYPES));
    const resources = (exported.deployment?.resources ?? [])
        .filter((r) => keep.has(String(r.type)))
        .map((r) => {
            const outputs = { ...(r.outputs as Record<string, unknown>) };
            delete outputs.__provider;
            return { urn: r.urn, type: r.type, outputs };
        });
    // A pending operation as the report reads it: what it was doing to which resource (not the resource's inputs).
    const pending = exported.deployment?.pending_operations?.map((op) => {
        const { resource, type } = op as { resource?: { urn?: string; type?: string }; type?: string };
        return { resource: { urn: resource?.urn, type: resource?.type }, type };
    });
    return { deployment: { resources, ...(pending && { pending_operations: pending }) } };
}

async function capture(a: Action, name: string): Promise<void> {
    const history = await a.pulumi(["stack", "history", "--json", "--page-size", "100"]);
    const exported = await a.pulumi(["stack", "export"]);
    const state = JSON.stringify(cutExport(exported.stdout), null, 2);
    for (const [what, text] of [
        ["history", history.stdout],
        ["state", state],
    ]) {
        const leaks = a.rehearsal.leakedIn(text);
        if (leaks.length > 0) throw new Error(`${name}.${what}.json would hold ${leaks.join(", ")}: not written`);
    }
    fs.writeFileSync(path.join(OUT, `${name}.history.json`), history.stdout.trim() + "\n");
    fs.writeFileSync(path.join(OUT, `${name}.state.json`), state + "\n");
    console.log(`report-fixtures: wrote ${name}.history.json and ${name}.state.json`);
}

async function incident(): Promise<void> {
    const slack = await startSlackStandIn();
    const r = await Rehearsal.open({ stack: `report-fixtures-${process.pid}`, verify: true, stepMs: 100 });
    r.secrets.add(slack.webhookUrl);
    r.secrets.add(slack.token);
    try {
        for (const drill of [configure, converge]) await must(r, drill.name, (a) => drill.run(a));
        await must(r, "the incident", async (a) => {
            const emulator = r.emulator;
            await configureIncident(a, slack.webhookUrl);
            await a.pulumi(["up", "--yes"]);
            await a.configSet("DISABLE_SIGNUP", "true");
            await a.pulumi(["up", "--yes"]);
            // A bad commit goes live by autodeploy; the next flag flip reuses its build, and its checks fail the up.
            const good = emulator.liveDeploy()!;
            const bad = emulator.pushCommit({ bad: true, message: "a bad commit" });
            await waitFor("the bad commit live", () => emulator.liveDeploy()?.commit.id === bad, {
                timeoutMs: 30_000,
                pollMs: 50,
            });
            await a.configSet("BLOCKED_IPS", "192.168.1.100,10.0.0.50");
            const failed = await a.pulumi(["up", "--yes"], { allowFailure: true });
            if (failed.code === 0) throw new Error("the up with the bad commit live was meant to fail its checks");
            await a.configSet("releasePin", good.id);
            await a.pulumi(["up", "--yes"]);
            await a.configSet("incidentStatus", "mitigating");
            await a.pulumi(["up", "--yes"]);
            // An up killed once its deploy is live, during its checks: no history record, the deploy in the state.
            await a.configSet("RATE_LIMIT_AUTH", "3 per minute");
            const before = emulator.liveDeploy()!.id;
            const killed = a.pulumi(["up", "--yes"], { allowFailure: true });
            await waitFor("the killed up's deploy live", () => emulator.liveDeploy()?.id !== before, {
                timeoutMs: 60_000,
                pollMs: 50,
            });
            await new Promise((resolve) => setTimeout(resolve, 1500));
            await r.cli.stopAll(0);
            await killed;
            await capture(a, "killed");
            await a.pulumi(["cancel", "--yes"]);
            await a.pulumi(["up", "--yes"]);
            await a.configSet("incidentStatus", "resolved");
            await a.pulumi(["up", "--yes"]);
            await capture(a, "incident");
            const posts = slack.posts.map((p) => p.text.split("\n")[0]);
            console.log(`report-fixtures: Slack got ${posts.length} posts: ${posts.join(" | ")}`);
        });
    } finally {
        await r.close();
        await slack.close();
    }
}

/** A program with no resources whose config keys are renamed between two updates, as a program's new version would. */
async function renamed(): Promise<void> {
    const toolchain = loadToolchain({ build: false });
    if (toolchain.problem) throw new Error(toolchain.problem);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ahoy-renamed-"));
    try {
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: ahoy-ops\nruntime: nodejs\nmain: index.js\n");
        fs.writeFileSync(path.join(dir, "index.js"), "// No resources: only the config the history records.\n");
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"));
        fs.mkdirSync(path.join(dir, "state"));
        const webhook = `https://hooks.slack.invalid/services/T0/B0/${Date.now().toString(36)}secret`;
        const cli = new PulumiCli({
            toolchain,
            cwd: dir,
            stack: "renamed",
            backendUrl: `file://${path.join(dir, "state")}`,
            passphrase: "renamed-fixture",
            logFile: path.join(dir, "pulumi.log"),
        });
        await cli.run(["stack", "init", "renamed"]);
        // The older program's names.
        await cli.run(["config", "set", "--secret", "slackWebhook"], { stdin: webhook });
        await cli.run(["config", "set", "incidentOncall", "primary"]);
        await cli.run(["config", "set", "rateLimitAuth", "3 per minute"]);
        await cli.run(["config", "set", "DISABLE_SIGNUP", "true"]);
        await cli.run(["up", "--yes"]);
        // Today's names for the same values, and one real change beside them.
        await cli.run(["config", "rm", "slackWebhook"]);
        await cli.run(["config", "set", "--secret", "slackWebhookUrl"], { stdin: webhook });
        await cli.run(["config", "rm", "incidentOncall"]);
        await cli.run(["config", "set", "incidentOnCall", "primary"]);
        await cli.run(["config", "rm", "rateLimitAuth"]);
        await cli.run(["config", "set", "RATE_LIMIT_AUTH", "3 per minute"]);
        await cli.run(["config", "set", "DISABLE_SIGNUP", "false"]);
        await cli.run(["up", "--yes"]);
        const history = await cli.run(["stack", "history", "--json", "--page-size", "100"]);
        if (history.stdout.includes(webhook))
            throw new Error("renamed.history.json would hold the webhook: not written");
        fs.writeFileSync(path.join(OUT, "renamed.history.json"), history.stdout.trim() + "\n");
        console.log("report-fixtures: wrote renamed.history.json");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

async function must(r: Rehearsal, name: string, body: (a: Action) => Promise<void>): Promise<void> {
    const record = await r.action(name, body);
    if (Rehearsal.failed(record)) throw new Error(`${name}: ${record.error ?? JSON.stringify(record.checks)}`);
}

async function main(): Promise<void> {
    fs.mkdirSync(OUT, { recursive: true });
    await renamed();
    await incident();
}

main().then(
    () => process.exit(0),
    (error: unknown) => {
        console.error(`report-fixtures: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
    },
);
