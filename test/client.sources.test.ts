// The client's reads of Render's logs and service events: paging by time and by cursor to the end of a range, bounded,
// through Render's rate limits and 5xx; against the emulator, and a tiny server for answers Render should never give.
import { strict as assert } from "node:assert";
import * as http from "node:http";
import { type Emulator, startEmulator } from "../emulator";
import { closeServer, listenLocal } from "../emulator/http";
import { RenderApiError, RenderClient } from "../lib/render/client";
import { waitFor } from "./support/wait";

describe("the Render client's logs and service events", function () {
    let emu: Emulator;
    let client: RenderClient;
    let notes: string[];

    beforeEach(async () => {
        emu = await startEmulator({ stepMs: 20 });
        notes = [];
        client = new RenderClient({
            apiKey: emu.apiKey,
            baseUrl: emu.baseUrl,
            retryBaseMs: 5,
            log: (m) => notes.push(m),
        });
    });
    afterEach(async () => {
        await emu.close();
    });

    const window = () => {
        const start = new Date(Date.now() - 1).toISOString();
        return { start, end: () => new Date(Date.now() + 1).toISOString() };
    };

    it("listLogs pages forward to the end of the range: every line once, in order, one request per 100", async () => {
        const range = window();
        for (let i = 0; i < 230; i++) emu.appLog(`line ${i}`);
        emu.clearRequests();
        const read = await client.listLogs(
            {
                ownerId: emu.ownerId,
                resource: [emu.serviceId],
                type: ["app"],
                direction: "forward",
                startTime: range.start,
                endTime: range.end(),
            },
            { maxPages: 10 },
        );
        assert.equal(read.complete, true);
        assert.equal(read.pages, 3);
        assert.deepEqual(
            read.logs.map((l) => l.message),
            Array.from({ length: 230 }, (_, i) => `line ${i}`),
        );
        const sent = emu.requests().map((r) => r.query);
        assert.equal(sent.length, 3);
        assert.deepEqual(
            { ownerId: sent[0].ownerId, resource: sent[0].resource, type: sent[0].type, limit: sent[0].limit },
            { ownerId: emu.ownerId, resource: emu.serviceId, type: "app", limit: "100" },
        );
        // Each next page asks exactly the range Render named, microseconds and all.
        assert.match(sent[1].startTime, /\.\d{6}Z$/);
    });

    it("listLogs stops at maxPages, saying the read is not complete and where the rest is", async () => {
        const range = window();
        for (let i = 0; i < 50; i++) emu.appLog(`line ${i}`);
        const read = await client.listLogs(
            { ownerId: emu.ownerId, resource: [emu.serviceId], startTime: range.start, endTime: range.end() },
            { pageSize: 10, maxPages: 2 },
        );
        assert.equal(read.complete, false);
        assert.equal(read.pages, 2);
        assert.equal(read.logs.length, 20);
        assert.equal(read.logs[0].message, "line 49", "backward, Render's default: newest first");
        assert.ok(read.next, "says where the rest is");
        const rest = await client.listLogs(
            { ownerId: emu.ownerId, resource: [emu.serviceId], ...read.next },
            { pageSize: 100 },
        );
        assert.equal(rest.logs.length, 30);
    });

    it("listLogs rides out a 503 and a 429 (waiting as Retry-After says) while paging", async () => {
        const range = window();
        for (let i = 0; i < 150; i++) emu.appLog(`line ${i}`);
        // The first request is answered 503, its retry 429 with Retry-After: 1; then both pages come.
        emu.inject({ method: "GET", path: "/logs", status: 503, count: 1 });
        emu.inject({ method: "GET", path: "/logs", status: 429, retryAfterSeconds: 1, count: 1 });
        const started = Date.now();
        const { logs, complete, pages } = await client.listLogs(
            { ownerId: emu.ownerId, resource: [emu.serviceId], startTime: range.start, endTime: range.end() },
            { maxPages: 5 },
        );
        assert.deepEqual({ complete, pages, lines: logs.length }, { complete: true, pages: 2, lines: 150 });
        assert.ok(Date.now() - started >= 900, "waited for the Retry-After second");
        assert.ok(notes.some((n) => /GET \/logs: 503/.test(n)));
        assert.ok(notes.some((n) => /GET \/logs: 429 .*server asked for 1000 ms/.test(n)));
        assert.deepEqual(
            emu.requests().map((r) => r.status),
            [503, 429, 200, 200],
        );
    });

    it("listLogs refuses a query without an owner or a resource, or a page size Render would not take, before sending", async () => {
        const base = { ownerId: emu.ownerId, resource: [emu.serviceId] };
        await assert.rejects(client.listLogs({ ...base, ownerId: "" }), /ownerId is required/);
        await assert.rejects(client.listLogs({ ...base, resource: [] }), /at least one resource/);
        await assert.rejects(client.listLogs(base, { pageSize: 101 }), /pageSize must be a whole number from 1 to 100/);
        await assert.rejects(client.listLogs(base, { maxPages: 0 }), /maxPages must be a whole number of at least 1/);
        assert.equal(emu.requests().length, 0);
    });

    it("listLogValues lists a label's values in the range (the status codes the app answered)", async () => {
        const range = window();
        for (const path of ["/healthz", "/nowhere"]) await (await fetch(`${emu.appUrl}${path}`)).arrayBuffer();
        const values = await client.listLogValues({
            ownerId: emu.ownerId,
            resource: [emu.serviceId],
            type: ["request"],
            label: "statusCode",
            startTime: range.start,
            endTime: range.end(),
        });
        assert.deepEqual(values, ["200", "404"]);
    });

    it("listServiceEvents follows cursors newest first within the range, by type, to the empty page", async () => {
        const range = window();
        for (let i = 0; i < 5; i++) emu.serviceEvent("server_hardware_failure");
        emu.serviceEvent("zero_downtime_redeploy_started", { trigger: "render" });
        emu.clearRequests();
        const read = await client.listServiceEvents(emu.serviceId, {
            types: ["server_hardware_failure", "zero_downtime_redeploy_started"],
            startTime: range.start,
            endTime: range.end(),
            pageSize: 2,
        });
        assert.equal(read.complete, true);
        assert.deepEqual(
            read.events.map((e) => e.type),
            ["zero_downtime_redeploy_started", ...Array(5).fill("server_hardware_failure")],
        );
        assert.equal(read.pages, 4, "three pages of two, then the empty one");
        assert.equal(emu.requests()[0].query.type, "server_hardware_failure,zero_downtime_redeploy_started");
        const bounded = await client.listServiceEvents(emu.serviceId, { pageSize: 2, maxPages: 1 });
        assert.deepEqual({ complete: bounded.complete, pages: bounded.pages }, { complete: false, pages: 1 });
    });

    it("listServiceEvents reads a crash's server_failed with the reason Render gives", async () => {
        const range = window();
        emu.crash({ reason: "oom", restartSeconds: 1 });
        await waitFor("the restart", () => emu.events()[0]?.type === "server_available");
        const { events } = await client.listServiceEvents(emu.serviceId, { startTime: range.start });
        const failed = events.find((e) => e.type === "server_failed");
        assert.deepEqual(failed?.details.reason, { evicted: false, oomKilled: { memoryLimit: "512Mi" } });
    });

    it("getService gives the workspace that owns the service, the ownerId logs need", async () => {
        assert.equal((await client.getService(emu.serviceId)).ownerId, emu.ownerId);
    });
});

describe("the Render client's logs against answers Render should never give", function () {
    let server: http.Server;
    let baseUrl: string;
    let answer: (query: URLSearchParams) => unknown;

    before(async () => {
        server = http.createServer((req, res) => {
            const query = new URL(req.url ?? "/", "http://127.0.0.1").searchParams;
            const body = JSON.stringify(answer(query));
            res.writeHead(200, { "Content-Type": "application/json", "Render-Request-Id": "req-fake" });
            res.end(body);
        });
        baseUrl = `http://127.0.0.1:${await listenLocal(server, 0)}/v1`;
    });
    after(async () => {
        await closeServer(server);
    });

    const client = () => new RenderClient({ apiKey: "rnd_fake", baseUrl, maxRetries: 0 });
    const query = {
        ownerId: "tea-x",
        resource: ["srv-x"],
        startTime: "2025-01-01T00:00:00Z",
        endTime: "2025-01-01T01:00:00Z",
    };

    it("fails, naming the range, when a page says hasMore but asks the same range again", async () => {
        answer = (q) => ({ logs: [], hasMore: true, nextStartTime: q.get("startTime"), nextEndTime: q.get("endTime") });
        const err = await client()
            .listLogs(query)
            .then(
                () => assert.fail("no error"),
                (e: unknown) => e,
            );
        assert.ok(err instanceof RenderApiError);
        assert.match(
            err.message,
            /GET \/logs: 200 the page did not advance .*2025-01-01T00:00:00Z to 2025-01-01T01:00:00Z/,
        );
    });

    it("fails when hasMore comes without the next range, and on a line that is not a log entry", async () => {
        answer = () => ({ logs: [], hasMore: true });
        await assert.rejects(client().listLogs(query), /hasMore is true but nextStartTime\/nextEndTime are missing/);
        answer = () => ({ logs: [{ id: "1", message: "m", timestamp: "yesterday", labels: [] }], hasMore: false });
        await assert.rejects(
            client().listLogs(query),
            /answer is not a page of logs .*logs\.0\.timestamp: not a date-time/,
        );
    });
});
