// `npm run watch -- <stack>`: the rest of the last deploy's window after `pulumi up`, with no lock: /healthz every second,
// the service's events and logs during the window, then Render's metrics for it, each source's verdict printed; a threshold crossed is said at once (and posted to
// the open incident's channels, once); a newer pulumi up's deploy ends the watch (its own watch covers it); Ctrl-C ends
// it within a second or two with what it saw. The verdict is kept with the stack (a stack tag, lib/report/watchTags.ts)
// for the post-incident report.
//
//   npm run watch -- <stack> [--no-notify]
//
// Exit codes: 0 clean (every figure judged, none crossed); 1 a threshold crossed (each failure names the check, the
// figure, the threshold and the time); 2 could not watch (no watch output, no Render key, a bad argument);
// 3 nothing crossed but some figures could not be judged (Render never reported them); 130 Ctrl-C, nothing crossed.
import { spawn } from "node:child_process";
import { eventsSource } from "../components/verification/eventsWatch";
import { logsSource } from "../components/verification/logsWatch";
import { metricsSource } from "../components/verification/metricsWatch";
import type { WatchTarget } from "../components/verification/plan";
import { runWatch } from "../components/verification/watchRunner";
import { WATCH_EXIT, type WatchFigure, watchOutcome } from "../components/verification/watchVerdict";
import { RenderClient } from "../lib/render/client";
import { watchTagName, watchTagValue } from "../lib/report/watchTags";
import { notifyIncident } from "./watchNotify";
import {
    apiUrlProblem,
    CannotWatch,
    pulumiCli,
    readStackConfig,
    readWatchOutput,
    recordWatchVerdict,
    secretsInVariables,
} from "./watchStack";

const USAGE = `usage: npm run watch -- <stack> [--no-notify]
Watches the rest of the stack's last deploy's window (stabilityWindowSeconds, counted from when it went live):
GET /healthz every second, Render's service events and logs (read as it goes), then Render's metrics for the
window; ends early when a newer pulumi up's deploy goes live,
or on Ctrl-C. Needs no lock: run it right after pulumi up, and act again from another terminal meanwhile.

  <stack>       the stack whose last deploy to watch (e.g. prod)
  --no-notify   do not post a crossed threshold to the open incident's channels (another watch of the deploy does)

The Render key: RENDER_API_KEY, else the stack's secret renderApiKey (read with pulumi config --json --show-secrets).
Exit codes: 0 clean; 1 a threshold crossed; 2 could not watch; 3 nothing crossed but some figures could not be
judged; 130 cut short by Ctrl-C with nothing crossed.
`;

function parseArgs(argv: string[]): { stack: string; notify: boolean } | "help" {
    let stack: string | undefined;
    let notify = true;
    for (const arg of argv) {
        if (arg === "--help" || arg === "-h") return "help";
        if (arg === "--no-notify") notify = false;
        else if (arg.startsWith("-")) throw new CannotWatch(`unknown option ${JSON.stringify(arg)}\n${USAGE}`);
        else if (stack === undefined) stack = arg;
        else throw new CannotWatch(`one stack, got ${JSON.stringify(stack)} and ${JSON.stringify(arg)}\n${USAGE}`);
    }
    if (!stack) throw new CannotWatch(`name the stack to watch, e.g. npm run watch -- prod\n${USAGE}`);
    return { stack, notify };
}

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
    const args = parseArgs(process.argv.slice(2));
    if (args === "help") {
        process.stdout.write(USAGE);
        return 0;
    }
    const { stack, notify } = args;
    // Ctrl-C: the watch ends within a second or two, printing what it saw; a second Ctrl-C leaves at once.
    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
        if (stop.signal.aborted) process.exit(WATCH_EXIT.interrupted);
        say(`\nwatch: ${signal}: cutting the watch short`);
        stop.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);

    const pulumi = pulumiCli(process.cwd());
    const found = await readWatchOutput(pulumi, stack);
    if ("off" in found) {
        say(`watch: nothing to watch on stack ${stack}: its verification is ${found.off}`);
        return WATCH_EXIT.clean;
    }
    const target: WatchTarget = found.target;
    const problem = apiUrlProblem(target.apiUrl);
    if (problem) throw new CannotWatch(problem);
    const config = await readStackConfig(pulumi, stack);
    const apiKey = process.env.RENDER_API_KEY || config.value("renderApiKey");
    if (!apiKey) {
        throw new CannotWatch(
            `no Render API key: export RENDER_API_KEY=rnd_... (Render dashboard > Account Settings > API Keys), ` +
                `or set the stack's secret: pulumi config set --secret renderApiKey --stack ${stack}`,
        );
    }
    const client = new RenderClient({ apiKey, baseUrl: target.apiUrl });
    // The looks at the live deploy repeat every few seconds anyway: one that Render does not answer soon is let go.
    const looks = new RenderClient({ apiKey, baseUrl: target.apiUrl, maxRetries: 1, requestTimeoutMs: 10_000 });
    const liveAt = Date.parse(target.liveAt);
    // What the log lines and Render's texts are redacted of: every secret the stack and the service hold, the Render key
    // among them; the service's workspace too (GET /logs asks for it), read once rather than on every read of the logs.
    const [variables, service] = await Promise.all([
        client.listEnvVars(target.serviceId),
        client.getService(target.serviceId),
    ]);
    const secrets = [apiKey, ...config.secrets, ...secretsInVariables(variables)];
    const onCrossing = async (figure: WatchFigure, atSeconds: number) => {
        if (!target.incident) return;
        if (!notify) {
            say(`watch: the open incident's channels are not told (--no-notify)`);
            return;
        }
        await notifyIncident(target, figure, atSeconds, {
            stack,
            secret: async (key) => config.value(key),
            knownSecrets: secrets,
            log: (line) => say(`watch: ${line}`),
        });
    };
    const report = await runWatch({
        target,
        render: looks,
        sources: [
            eventsSource(client, { serviceId: target.serviceId, deployId: target.deployId }, secrets),
            logsSource(
                client,
                { serviceId: target.serviceId, ownerId: service.ownerId },
                {
                    expected5xx: target.metrics.expected5xx,
                    maxErrorRate: target.metrics.thresholds.maxErrorRate,
                    secrets,
                },
            ),
            metricsSource(
                client,
                {
                    serviceId: target.serviceId,
                    databaseId: target.metrics.databaseId,
                    maxConnections: target.metrics.maxConnections,
                    expected5xx: target.metrics.expected5xx,
                },
                liveAt,
                target.metrics.thresholds,
            ),
        ],
        log: (line) => say(`watch: ${line}`),
        signal: stop.signal,
        onCrossing,
    });
    const outcome = watchOutcome(report);
    say("");
    for (const source of report.sources) {
        for (const figure of source.figures)
            say(`${source.source}: ${figure.status === "ok" ? "" : `[${figure.status}] `}${figure.line}`);
    }
    for (const failure of outcome.failures) say(`FAILED ${failure}`);
    say(outcome.summary);
    // Kept with the stack for the post-incident report. Cut short, the watch ends at once: a process of its own (out of
    // the terminal's process group, so the Ctrl-C does not reach it) writes the tag after this one has gone.
    const value = watchTagValue(new Date(), outcome.summary, outcome.failures, secrets);
    if (report.end.reason === "interrupted") {
        const name = watchTagName(target.deployId);
        spawn("pulumi", ["stack", "tag", "set", name, value, "--stack", stack, "--non-interactive"], {
            detached: true,
            stdio: "ignore",
            env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" },
        }).unref();
        say(`watch: the verdict is being kept with the stack as its tag ${name}`);
    } else {
        say(`watch: ${await recordWatchVerdict(pulumi, stack, target.deployId, value)}`);
    }
    return outcome.exitCode;
}

main().then(
    (code) => process.exit(code),
    (error: unknown) => {
        process.stderr.write(`watch: could not watch: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(WATCH_EXIT.couldNotWatch);
    },
);
