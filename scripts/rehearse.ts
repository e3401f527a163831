// `npm run rehearse`: a game day on the embedded default. The runbook's actions typed into the real Pulumi CLI against the
// Render emulator and its stand-in app, a throwaway PostgreSQL and Redis, then a scorecard. Exit 1 if any action failed.
//
//   npm run rehearse [-- --step-ms MS] [--keep-going]
//
// The stack (`rehearsal`) lives on a file backend in a temp directory; its file Pulumi.rehearsal.yaml is created in the
// project directory (the CLI and the dynamic providers run there) and removed at the end, and on Ctrl-C, which also
// stops every process the rehearsal started. The CLI's whole output is kept in <temp>/pulumi.log.
import { formatWrites, Rehearsal, type ActionRecord } from "./rehearsal/rehearsal";
import { RUNBOOK } from "./rehearsal/drills";
import { loadToolchain, standInLine } from "./rehearsal/toolchain";

const USAGE = `usage: npm run rehearse [-- --step-ms MS] [--keep-going]
  --step-ms MS   how long each in-flight deploy status lasts in the emulator (default 300)
  --keep-going   run every action even after one failed (default: stop at the first failure, then destroy)
`;

function parseArgs(argv: string[]): { stepMs: number; keepGoing: boolean } {
    let stepMs = 300;
    let keepGoing = false;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--step-ms") {
            stepMs = Number(argv[++i]);
            if (!Number.isInteger(stepMs) || stepMs < 1)
                throw new Error(`--step-ms needs a whole number of ms, got ${argv[i]}`);
        } else if (argv[i] === "--keep-going") keepGoing = true;
        else if (argv[i] === "--help" || argv[i] === "-h") {
            process.stdout.write(USAGE);
            process.exit(0);
        } else throw new Error(`unknown argument ${JSON.stringify(argv[i])}\n${USAGE}`);
    }
    return { stepMs, keepGoing };
}

/** Set by SIGINT/SIGTERM: whatever fails after it failed because of it. */
let stopping = false;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function scorecard(actions: readonly ActionRecord[]): string {
    const rows = actions.map((a, i) => {
        const passed = a.checks.filter((c) => c.ok).length;
        return {
            n: String(i + 1),
            name: a.name,
            wall: seconds(a.ms),
            gets: String(a.gets),
            writes: formatWrites(a.writes),
            deploys: String(a.deploysCreated),
            checks: `${passed}/${a.checks.length}`,
            verdict: Rehearsal.failed(a) ? "FAIL" : "ok",
        };
    });
    const head = {
        n: "#",
        name: "action",
        wall: "wall",
        gets: "GET",
        writes: "Render writes",
        deploys: "deploys",
        checks: "checks",
        verdict: "",
    };
    const width = (k: keyof typeof head) => Math.max(head[k].length, ...rows.map((r) => r[k].length));
    const line = (r: typeof head) =>
        [
            r.n.padStart(width("n")),
            r.name.padEnd(width("name")),
            r.wall.padStart(width("wall")),
            r.gets.padStart(width("gets")),
            r.writes.padEnd(width("writes")),
            r.deploys.padStart(width("deploys")),
            r.checks.padStart(width("checks")),
            r.verdict,
        ].join("  ");
    const out = [line(head), "-".repeat(line(head).length)];
    rows.forEach((r, i) => {
        out.push(line(r));
        const a = actions[i];
        for (const s of a.summaries) out.push(`${" ".repeat(width("n") + 2)}  ${s.command}: Resources: ${s.summary}`);
        if (a.watch) {
            out.push(`${" ".repeat(width("n") + 2)}  npm run watch, the window's sources:`);
            for (const line of a.watch) out.push(`${" ".repeat(width("n") + 6)}${line}`);
        }
        for (const c of a.checks.filter((c) => !c.ok))
            out.push(`${" ".repeat(width("n") + 2)}  FAILED check: ${c.name}: ${c.detail}`);
        if (a.error)
            out.push(
                `${" ".repeat(width("n") + 2)}  FAILED: ${a.error.split("\n").join(`\n${" ".repeat(width("n") + 12)}`)}`,
            );
    });
    return out.join("\n");
}

async function main(): Promise<number> {
    const { stepMs, keepGoing } = parseArgs(process.argv.slice(2));
    const toolchain = loadToolchain({ build: true });
    if (toolchain.problem) {
        console.error(`rehearse: the Pulumi toolchain cannot run the program here: ${toolchain.problem}`);
        return 1;
    }
    console.log(`rehearse: toolchain ready in ${seconds(toolchain.ms)}; ${standInLine(toolchain)}`);
    // Handled from the start: a Ctrl-C while PostgreSQL starts must still stop it.
    const running: { rehearsal?: Rehearsal } = {};
    const stopNow = (r: Rehearsal) => {
        console.error(`rehearse: stopping the CLI and the services, removing ${r.stackFile}`);
        r.close().then(
            () => {
                console.error(`rehearse: stopped; the CLI's output so far is in ${r.logFile}`);
                process.exit(130);
            },
            (error: unknown) => {
                console.error(`rehearse: cleaning up failed: ${String(error)}`);
                process.exit(130);
            },
        );
    };
    const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        console.error(`\nrehearse: ${signal}`);
        if (running.rehearsal) stopNow(running.rehearsal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const rehearsal = await Rehearsal.open({
        stack: "rehearsal",
        verify: true,
        stepMs,
        postgres: true,
        redis: true,
        toolchain,
    });
    running.rehearsal = rehearsal;
    if (stopping) {
        stopNow(rehearsal);
        return new Promise<number>(() => undefined);
    }
    console.log(
        `rehearse: emulator ${rehearsal.emulator.baseUrl}, app ${rehearsal.emulator.appUrl}, ` +
            `PostgreSQL 127.0.0.1:${rehearsal.services.postgres?.port}, Redis 127.0.0.1:${rehearsal.services.redis?.port}`,
    );
    console.log(`rehearse: CLI output in ${rehearsal.logFile}`);

    const destroy = RUNBOOK[RUNBOOK.length - 1];
    let failed = false;
    try {
        for (const drill of RUNBOOK) {
            if (stopping) break;
            if (failed && !keepGoing && drill !== destroy) continue;
            process.stdout.write(`rehearse: ${drill.name} ... `);
            const record = await rehearsal.action(drill.name, (a) => drill.run(a));
            if (stopping) break;
            const bad = Rehearsal.failed(record);
            failed ||= bad;
            console.log(`${bad ? "FAILED" : "ok"} (${seconds(record.ms)})`);
        }
    } finally {
        if (!stopping) await rehearsal.close();
    }
    // A signal's handler exits once it has cleaned up.
    if (stopping) return new Promise<number>(() => undefined);
    console.log(`\nScorecard: stack ${rehearsal.options.stack}, ${standInLine(toolchain)}\n`);
    console.log(scorecard(rehearsal.actions));
    const total = rehearsal.actions.reduce((n, a) => n + a.ms, 0);
    const bad = rehearsal.actions.filter(Rehearsal.failed).length;
    console.log(
        `\n${rehearsal.actions.length} actions in ${seconds(total)}; ${bad === 0 ? "all passed" : `${bad} FAILED`}`,
    );
    console.log(`The CLI's full output: ${rehearsal.logFile}`);
    if (typeof rehearsal.memo.reportFile === "string") {
        console.log(`The post-incident review of the rehearsal's incident: ${rehearsal.memo.reportFile}`);
    }
    return bad === 0 ? 0 : 1;
}

main().then(
    (code) => process.exit(code),
    (error: unknown) => {
        // Interrupted while the services started: what started was stopped again on the way out.
        if (stopping) {
            console.error("rehearse: interrupted while starting; everything it had started is stopped");
            process.exit(130);
        }
        console.error(`rehearse: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
    },
);
