// The watch's two new sources through the emulator: readEvents and readLogs over the window from a deploy going live,
// judged by judgeEvents and judgeLogs. The runbook's drills: a crash, an error burst, DISABLE_SIGNUP's 503s, a secret
// in a log line, and 2,000 lines paged in bounded requests.
import { strict as assert } from "node:assert";
import { type Emulator, startEmulator } from "../emulator";
import { judgeEvents } from "../components/verification/eventsVerdict";
import { readEvents } from "../components/verification/eventsWatch";
import { judgeLogs } from "../components/verification/logsVerdict";
import { readLogs } from "../components/verification/logsWatch";
import { verificationPlan } from "../components/verification/plan";
import { RenderClient } from "../lib/render/client";
import { waitFor } from "./support/wait";

/** `count` requests to the stand-in app, `concurrency` at a time; returns the statuses answered. */
async function traffic(emu: Emulator, path: string, count: number, init: RequestInit = {}, concurrency = 8) {
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
        Array.from({ length: concurrency }, async () => {
            while (next < count) {
                next++;
                const response = await fetch(`${emu.appUrl}${path}`, init);
                await response.arrayBuffer();
                statuses.push(response.status);
            }
        }),
    );
    return statuses;
}

describe("the watch's events and logs, read from the emulator and judged", function () {
    this.timeout(30_000);
    let emu: Emulator;
    let client: RenderClient;
    /** The deploy just made live, and when it went live: the window's start. */
    let deployId: string;
    let liveAt: Date;

    /** Sets `vars`, deploys through the API and waits until that deploy is live. */
    async function deploy(vars: Record<string, string> = {}): Promise<void> {
        for (const [key, value] of Object.entries(vars)) await client.setEnvVar(emu.serviceId, key, value);
        const started = await client.triggerDeploy(emu.serviceId, { deployMode: "deploy_only" });
        const live = await client.waitForDeploy(emu.serviceId, started.id, { firstPollMs: 10, maxPollMs: 20 });
        deployId = live.id;
        liveAt = new Date(live.finishedAt ?? live.updatedAt ?? Date.now());
    }

    const windowNow = () => ({ start: liveAt, end: new Date(Date.now() + 1) });
    const events = async () =>
        judgeEvents(await readEvents(client, { serviceId: emu.serviceId, deployId }, windowNow()), {
            secrets: [emu.apiKey],
        });
    const logs = async (expected5xx = verificationPlan(SETTINGS).renderMetrics.expected5xx, secrets: string[] = []) =>
        judgeLogs(await readLogs(client, { serviceId: emu.serviceId }, windowNow()), {
            expected5xx,
            secrets: [emu.apiKey, ...secrets],
        });
    const SETTINGS = { disableSignup: false, blockDirectMedia: false, stabilityWindowSeconds: 300 };

    beforeEach(async () => {
        emu = await startEmulator({ stepMs: 20 });
        client = new RenderClient({ apiKey: emu.apiKey, baseUrl: emu.baseUrl, retryBaseMs: 5 });
        await deploy();
    });
    afterEach(async () => {
        await emu.close();
    });

    it("a clean window passes both, with the log summary and the deploy's own end reported", async () => {
        await traffic(emu, "/healthz", 30);
        const [seenEvents, seenLogs] = await Promise.all([events(), logs()]);
        assert.equal(seenEvents.ok, true, seenEvents.summary);
        assert.equal(seenEvents.status, "ok");
        assert.match(seenEvents.summary, /none that fails the watch; reported: deploy_ended/);
        assert.ok(seenEvents.events.some((e) => e.line.includes(`${deployId} (the deploy watched) ended succeeded`)));
        assert.equal(seenLogs.ok, true, seenLogs.summary);
        assert.match(
            seenLogs.summary,
            /^logs: \d+ lines \(30 requests, \d app lines?\) in the \d+ s since the deploy went live, 1 page: request errors: 0\.0% 5xx \(0 of 30 requests\), within 5%; app errors: none; crash signatures: none$/,
        );
    });

    it("an instance that crashes once in the window fails the events, naming server_failed and its reason", async () => {
        await traffic(emu, "/healthz", 10);
        const instance = emu.crash({ reason: "oom", restartSeconds: 30 });
        await waitFor("the restart", () => emu.events()[0]?.type === "server_available");
        await traffic(emu, "/healthz", 10);
        const [seenEvents, seenLogs] = await Promise.all([events(), logs()]);
        assert.equal(seenEvents.ok, false);
        assert.match(
            seenEvents.failures[0],
            new RegExp(
                `^server_failed at \\S+Z \\(\\+\\d+ s\\): instance ${instance} was killed out of memory \\(limit 512Mi\\)$`,
            ),
        );
        assert.match(seenEvents.failures[1], /^server_restarted at .*: the service was restarted by Render$/);
        assert.equal(seenEvents.failures.length, 2);
        // The app's own last words fail the logs too, whatever the error rate.
        assert.equal(seenLogs.ok, false);
        assert.match(
            seenLogs.failures.join("\n"),
            /crash signatures: .*out of memory at .*JavaScript heap out of memory/,
        );
    });

    it("an error burst on one path fails the logs, naming the path and the app's error line, redacted", async () => {
        const password = new URL(emu.liveEnv().DATABASE_URL).password;
        emu.misbehave({
            pathPrefix: "/media/",
            status: 500,
            errorLine: `Error: could not reach ${emu.liveEnv().DATABASE_URL}`,
        });
        await Promise.all([traffic(emu, "/healthz", 40), traffic(emu, "/media/cover.jpg", 10)]);
        emu.misbehave(undefined);
        const seen = await logs(undefined, [password]);
        assert.equal(seen.ok, false);
        const failure = seen.failures.join("\n");
        assert.match(
            failure,
            /request errors: 20\.0% 5xx \(10 of 50 requests\), over 5%: GET \/media\/cover\.jpg 500 x 10/,
        );
        assert.match(
            failure,
            /the app logged: "Error: could not reach postgres:\/\/ahoy_app_a:\[redacted\]@dpg-ahoy-a/,
        );
        assert.ok(!JSON.stringify(seen).includes(password), "the database password is never shown");
    });

    it("DISABLE_SIGNUP's 503s never count against the window", async () => {
        await deploy({ DISABLE_SIGNUP: "true" });
        const refused = await traffic(emu, "/api/auth/register", 60, { method: "POST", body: "{}" });
        assert.ok(refused.every((s) => s === 503));
        await traffic(emu, "/healthz", 20);
        const expected = verificationPlan({ ...SETTINGS, disableSignup: true }).renderMetrics.expected5xx;
        const seen = await logs(expected);
        assert.equal(seen.ok, true, seen.summary);
        assert.match(
            seen.summary,
            /request errors: 0\.0% 5xx \(0 of 80 requests; 60 x 503 from \/api\/auth\/register left out: DISABLE_SIGNUP=true refuses signups with 503\), within 5%/,
        );
    });

    it("a log line with the Render API key or the database password is shown redacted", async () => {
        const password = new URL(emu.liveEnv().DATABASE_URL).password;
        emu.appLog(`Error: Render answered 401 to Bearer ${emu.apiKey}`, { level: "error" });
        emu.appLog(`Error: password authentication failed: ${password}`, { level: "error" });
        await traffic(emu, "/healthz", 5);
        const seen = await logs(undefined, [password]);
        const shown = JSON.stringify(seen);
        assert.ok(!shown.includes(emu.apiKey) && !shown.includes(password), shown);
        assert.match(shown, /Bearer \[redacted\]/);
        assert.match(shown, /password authentication failed: \[redacted\]/);
    });

    it("2,000 log lines in the window are paged, counted and summarised in 20 requests", async () => {
        const start = new Date();
        // Real requests beside the app's lines (the bench, bench/logsWatch.ts, drives 2,000 real requests).
        await traffic(emu, "/healthz", 400, {}, 16);
        for (let i = 0; i < 1_600; i++) emu.appLog(`processed job ${i}`);
        emu.clearRequests();
        const window = { start, end: new Date(Date.now() + 1) };
        const readings = await readLogs(client, { serviceId: emu.serviceId, ownerId: emu.ownerId }, window);
        const verdict = judgeLogs(readings);
        assert.deepEqual(
            { lines: readings.logs.length, pages: readings.pages, complete: readings.complete },
            { lines: 2_000, pages: 20, complete: true },
        );
        assert.equal(emu.requests().filter((r) => r.path === "/logs").length, 20, "one request per page of 100");
        assert.match(verdict.summary, /^logs: 2000 lines \(400 requests, 1600 app lines\)/);
        assert.equal(verdict.ok, true);
    });

    it("a window with more lines than the read's bound is judged as far as it went, and says so", async () => {
        await traffic(emu, "/healthz", 250);
        const readings = await readLogs(client, { serviceId: emu.serviceId }, windowNow(), { maxPages: 2 });
        assert.equal(readings.complete, false);
        const verdict = judgeLogs(readings);
        assert.equal(verdict.ok, true, "reported, not a failure");
        assert.match(
            verdict.figures[0].line,
            /could not be judged past what was read: .*\(the read stopped after 2 pages\)/,
        );
    });

    it("a rate-limited read waits as Render says, then judges", async () => {
        await traffic(emu, "/healthz", 10);
        emu.inject({ method: "GET", path: "/logs", status: 429, retryAfterSeconds: 1 });
        emu.inject({ method: "GET", path: "/services/{serviceId}/events", status: 429, retryAfterSeconds: 1 });
        const [seenEvents, seenLogs] = await Promise.all([events(), logs()]);
        assert.equal(seenEvents.ok && seenLogs.ok, true);
        assert.deepEqual(
            emu
                .requests()
                .filter((r) => r.status === 429)
                .map((r) => r.route)
                .sort(),
            ["/logs", "/services/{serviceId}/events"],
        );
    });
});
