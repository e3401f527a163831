// Bench: the watch's read of a busy window's logs and events. 2,000 log lines in the window (real requests to the
// stand-in app, a path erring in a burst with the app's error lines, and a crash), read through the client with
// Render's page size and rate limits, then judged: prints the wall time of the read and the judgement, and the Render
// requests they cost. `npx tsx bench/logsWatch.ts [lines]` (default 2000).
import { performance } from "node:perf_hooks";
import { startEmulator } from "../emulator";
import { judgeEvents } from "../components/verification/eventsVerdict";
import { readEvents } from "../components/verification/eventsWatch";
import { judgeLogs } from "../components/verification/logsVerdict";
import { LOG_PAGES, readLogs } from "../components/verification/logsWatch";
import { RenderClient } from "../lib/render/client";

async function main(): Promise<void> {
    const lines = Number(process.argv[2] ?? 2_000);
    if (!Number.isInteger(lines) || lines < 100)
        throw new Error(`lines must be a whole number of at least 100, got ${process.argv[2]}`);
    // Render's rate limits are kept: the read must fit in them.
    const emulator = await startEmulator({ stepMs: 20 });
    try {
        const client = new RenderClient({ apiKey: emulator.apiKey, baseUrl: emulator.baseUrl });
        const start = new Date();
        // A twentieth of the requests err on one path, each with the app's two error lines; the rest are /healthz.
        const burst = Math.floor(lines / 22);
        emulator.misbehave({ pathPrefix: "/media/", status: 500, errorLine: "TypeError: upload is undefined" });
        const requests = lines - 2 * burst - 7;
        let sent = 0;
        await Promise.all(
            Array.from({ length: 16 }, async () => {
                while (sent < requests) {
                    const path = sent++ < burst ? "/media/cover.jpg" : "/healthz";
                    await (await fetch(`${emulator.appUrl}${path}`)).arrayBuffer();
                }
            }),
        );
        emulator.misbehave(undefined);
        // Four lines of last words, the restart's start line, then two more requests: the window's `lines`.
        emulator.crash({ reason: "exit", restartSeconds: 1 });
        await new Promise((resolve) => setTimeout(resolve, 50));
        for (let i = 0; i < 2; i++) await (await fetch(`${emulator.appUrl}/healthz`)).arrayBuffer();
        const window = { start, end: new Date(Date.now() + 1) };

        emulator.clearRequests();
        const began = performance.now();
        const [logReadings, eventReadings] = await Promise.all([
            readLogs(client, { serviceId: emulator.serviceId }, window),
            readEvents(client, { serviceId: emulator.serviceId }, window),
        ]);
        const read = performance.now() - began;
        const logs = judgeLogs(logReadings, { secrets: [emulator.apiKey] });
        const events = judgeEvents(eventReadings, { secrets: [emulator.apiKey] });
        const judged = performance.now() - began - read;
        const byRoute = new Map<string, number>();
        for (const r of emulator.requests()) byRoute.set(r.route ?? r.path, (byRoute.get(r.route ?? r.path) ?? 0) + 1);

        console.log(
            `window: ${logReadings.logs.length} log lines (of ${emulator.logLines()} the service wrote), ${eventReadings.events.length} events`,
        );
        console.log(
            `read: ${Math.round(read)} ms, ${emulator.requests().length} Render requests ` +
                `(${[...byRoute].map(([route, n]) => `${route} x ${n}`).join(", ")}); ` +
                `${logReadings.pages} pages of logs (bound ${LOG_PAGES}), complete: ${logReadings.complete}`,
        );
        console.log(`judged: ${judged.toFixed(1)} ms`);
        console.log(`logs verdict (${logs.ok ? "pass" : "fail"}): ${logs.summary}`);
        console.log(`events verdict (${events.ok ? "pass" : "fail"}): ${events.summary}`);
    } finally {
        await emulator.close();
    }
}

main().catch((error: unknown) => {
    console.error(`bench/logsWatch: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
});
