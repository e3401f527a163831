// What the emulator logs and reports as service events: the stand-in app's request and app lines, the deploys' events,
// a crash and an out-of-memory kill with their restart, and /logs paged by time exactly as Render's spec says.
import { strict as assert } from "node:assert";
import { type Emulator, type LogEntry, type ServiceEvent, startEmulator } from "../emulator";
import { api, expectStatus } from "./support/emulatorApi";
import { waitFor } from "./support/wait";

interface LogsPage {
    logs: LogEntry[];
    hasMore: boolean;
    nextStartTime: string;
    nextEndTime: string;
}

function labelsOf(line: LogEntry): Record<string, string> {
    return Object.fromEntries(line.labels.map((l) => [l.name, l.value]));
}

/** GET /logs of the seeded service with `query` added. */
async function logs(emu: Emulator, query: string): Promise<LogsPage> {
    const reply = await api(emu, "GET", `/logs?ownerId=${emu.ownerId}&resource=${emu.serviceId}&${query}`);
    expectStatus(reply, 200, `GET /logs?${query}`);
    return reply.json as LogsPage;
}

/** Every line in [start, end], following nextStartTime/nextEndTime; counts the requests. */
async function allLines(
    emu: Emulator,
    start: string,
    end: string,
    direction: "forward" | "backward",
    extra = "",
): Promise<{ lines: LogEntry[]; requests: number }> {
    const lines: LogEntry[] = [];
    let range = `startTime=${start}&endTime=${end}`;
    for (let requests = 1; ; requests++) {
        const page = await logs(emu, `${range}&direction=${direction}&limit=100${extra}`);
        lines.push(...page.logs);
        if (!page.hasMore) return { lines, requests };
        range = `startTime=${page.nextStartTime}&endTime=${page.nextEndTime}`;
    }
}

async function get(emu: Emulator, path: string, init: RequestInit = {}): Promise<number> {
    const response = await fetch(`${emu.appUrl}${path}`, init);
    await response.arrayBuffer();
    return response.status;
}

function eventTypes(events: readonly ServiceEvent[]): string[] {
    return [...events].reverse().map((e) => e.type);
}

describe("the emulator's logs and service events", function () {
    let emu: Emulator;
    beforeEach(async () => {
        emu = await startEmulator({ stepMs: 20, rateLimits: false });
    });
    afterEach(async () => {
        await emu.close();
    });

    it("logs a request line for every answer of the stand-in app, labelled as Render labels request logs", async () => {
        const since = new Date().toISOString();
        assert.equal(await get(emu, "/healthz"), 200);
        assert.equal(await get(emu, "/api/auth/register", { method: "POST", body: "{}" }), 400);
        assert.equal(await get(emu, "/nowhere", { headers: { "X-Forwarded-For": "203.0.113.9" } }), 404);
        const page = await logs(emu, `startTime=${since}&type=request&direction=forward&limit=100`);
        assert.deepEqual(
            page.logs.map((l) => {
                const { method, path, statusCode, type, resource } = labelsOf(l);
                return { method, path, statusCode, type, resource };
            }),
            [
                { method: "GET", path: "/healthz", statusCode: "200", type: "request", resource: emu.serviceId },
                {
                    method: "POST",
                    path: "/api/auth/register",
                    statusCode: "400",
                    type: "request",
                    resource: emu.serviceId,
                },
                { method: "GET", path: "/nowhere", statusCode: "404", type: "request", resource: emu.serviceId },
            ],
        );
        const [instance] = emu.instances();
        assert.ok(
            page.logs.every((l) => labelsOf(l).instance === instance.id),
            "each names the instance that served it",
        );
        assert.match(
            page.logs[2].message,
            /^\[GET\]404 127\.0\.0\.1:\d+\/nowhere clientIP="203\.0\.113\.9" .*responseTimeMS=\d+/,
        );
    });

    it("logs the app's error lines for each error a misbehaving path answers, at level error", async () => {
        const since = new Date().toISOString();
        emu.misbehave({ pathPrefix: "/media/", status: 500, errorLine: "TypeError: upload is undefined" });
        assert.equal(await get(emu, "/media/a.jpg"), 500);
        assert.equal(await get(emu, "/healthz"), 200);
        const app = await logs(emu, `startTime=${since}&type=app&level=error&direction=forward`);
        assert.deepEqual(
            app.logs.map((l) => l.message),
            [
                "TypeError: upload is undefined (GET /media/a.jpg)",
                "    at handleRequest (/opt/render/project/src/server.js:128:24)",
            ],
        );
        const failed = await logs(emu, `startTime=${since}&type=request&statusCode=5*`);
        assert.deepEqual(
            failed.logs.map((l) => labelsOf(l).path),
            ["/media/a.jpg"],
        );
    });

    it("pages /logs by time: backward newest first and forward oldest first, each line once, to hasMore false", async () => {
        const start = new Date(Date.now() - 1).toISOString();
        for (let i = 0; i < 250; i++) emu.appLog(`line ${i}`);
        const end = new Date(Date.now() + 1).toISOString();
        const forward = await allLines(emu, start, end, "forward", "&type=app");
        assert.deepEqual(
            forward.lines.map((l) => l.message),
            Array.from({ length: 250 }, (_, i) => `line ${i}`),
        );
        assert.equal(forward.requests, 3, "three pages of at most 100");
        const backward = await allLines(emu, start, end, "backward", "&type=app");
        assert.deepEqual(
            backward.lines.map((l) => l.message),
            Array.from({ length: 250 }, (_, i) => `line ${249 - i}`),
        );
        // Lines written within one millisecond keep their order: Render's timestamps carry microseconds.
        const stamps = forward.lines.map((l) => l.timestamp);
        assert.ok(stamps.every((t) => /\.\d{6}Z$/.test(t)));
        assert.equal(new Set(stamps).size, 250);
    });

    it("filters by level, type, instance, method, path, host and text, with wildcards and regular expressions", async () => {
        const since = new Date().toISOString();
        emu.appLog("connected to the database", { level: "info" });
        emu.appLog("slow query: 2.4 s", { level: "warning" });
        emu.appLog("FATAL: password authentication failed", { level: "error" });
        await get(emu, "/healthz");
        const messages = async (filter: string) =>
            (await logs(emu, `startTime=${since}&direction=forward&${filter}`)).logs.map((l) => l.message);
        assert.deepEqual(await messages("level=warning,error"), [
            "slow query: 2.4 s",
            "FATAL: password authentication failed",
        ]);
        assert.deepEqual(
            await messages("text=PASSWORD"),
            ["FATAL: password authentication failed"],
            "text ignores case",
        );
        assert.deepEqual(await messages("type=app&text=/^slow|^conn/"), [
            "connected to the database",
            "slow query: 2.4 s",
        ]);
        assert.deepEqual(await messages("type=app&text=slow*s"), ["slow query: 2.4 s"]);
        assert.equal((await messages("type=request&path=/health*&method=GET&statusCode=/^2\\d\\d$/")).length, 1);
        assert.equal((await messages(`instance=${emu.instances()[0].id}`)).length, 4);
        assert.equal((await messages("host=nowhere.example")).length, 0);
        const values = await api(
            emu,
            "GET",
            `/logs/values?ownerId=${emu.ownerId}&resource=${emu.serviceId}&startTime=${since}&label=level`,
        );
        assert.deepEqual(values.json, ["error", "info", "warning"]);
    });

    it("reports a deploy's events and logs its build, then the new instance's start", async () => {
        const before = emu.events().length;
        const reply = await api(emu, "POST", `/services/${emu.serviceId}/deploys`, {});
        expectStatus(reply, 201, "deploy");
        const deployId = (reply.json as { id: string }).id;
        await waitFor("the deploy to go live", () => emu.liveDeploy()?.id === deployId, { timeoutMs: 10_000 });
        const events = emu.events().slice(0, emu.events().length - before);
        assert.deepEqual(eventTypes(events), ["deploy_started", "build_started", "build_ended", "deploy_ended"]);
        const ended = events[0];
        assert.deepEqual(ended.details.deployId, deployId);
        assert.equal(ended.details.deployStatus, "succeeded");
        const [instance] = emu.instances();
        assert.ok(instance.id.startsWith(`${emu.serviceId}-`), "a new instance runs the new deploy");
        const page = await logs(emu, "type=build,app&direction=forward&limit=100");
        const messages = page.logs.map((l) => l.message);
        assert.ok(messages.includes("==> Build successful"), messages.join("\n"));
        assert.equal(
            page.logs.filter((l) => labelsOf(l).instance === instance.id && l.message.startsWith("Server listening"))
                .length,
            1,
        );
    });

    it("reports a failed build as build_ended failed and deploy_ended failed", async () => {
        const sha = emu.pushCommit({ failBuild: true });
        await waitFor("the build to fail", () => emu.deploys()[0].status === "build_failed", { timeoutMs: 10_000 });
        const [ended, build] = emu.events();
        assert.equal(build.type, "build_ended");
        assert.equal(build.details.buildStatus, "failed");
        assert.equal(ended.type, "deploy_ended");
        assert.equal(ended.details.deployStatus, "failed");
        assert.equal(emu.deploys()[0].commit.id, sha);
    });

    it("a deploy canceled during its build reports build_ended and deploy_ended canceled", async () => {
        const reply = await api(emu, "POST", `/services/${emu.serviceId}/deploys`, {});
        const deployId = (reply.json as { id: string }).id;
        await waitFor("the build", () => emu.deploys()[0].status === "build_in_progress", { timeoutMs: 5_000 });
        expectStatus(await api(emu, "POST", `/services/${emu.serviceId}/deploys/${deployId}/cancel`), 200, "cancel");
        const [ended, build] = emu.events();
        assert.deepEqual(
            [build.type, build.details.buildStatus, ended.type, ended.details.deployStatus],
            ["build_ended", "canceled", "deploy_ended", "canceled"],
        );
    });

    it("a crash: the app's last lines, server_failed with a non-zero exit, 502 while no instance is up, then the restart", async () => {
        const since = new Date().toISOString();
        const instance = emu.crash({
            message: "Cannot read properties of undefined (reading 'user')",
            restartSeconds: 1_500,
        });
        assert.equal(await get(emu, "/healthz"), 502, "Render's edge has no instance to send to");
        await waitFor("the restart", () => emu.events()[0]?.type === "server_available", { timeoutMs: 5_000 });
        assert.equal(await get(emu, "/healthz"), 200);
        const [available, restarted, failed] = emu.events();
        assert.deepEqual(
            [failed.type, restarted.type, available.type],
            ["server_failed", "server_restarted", "server_available"],
        );
        assert.deepEqual(failed.details, { instanceID: instance, reason: { evicted: false, nonZeroExit: 1 } });
        assert.equal(restarted.details.triggeredByUser, null, "Render restarted it, not a user");
        const app = await logs(emu, `startTime=${since}&type=app&direction=forward`);
        const messages = app.logs.map((l) => l.message);
        assert.ok(messages.includes("Uncaught TypeError: Cannot read properties of undefined (reading 'user')"));
        assert.equal(messages.at(-1), "Server listening on port 10000");
    });

    it("an out-of-memory kill: Node's heap message and server_failed naming the plan's memory limit", async () => {
        emu.crash({ reason: "oom", restartSeconds: 1 });
        await waitFor("the restart", () => emu.events()[0]?.type === "server_available");
        const failed = emu.events().find((e) => e.type === "server_failed");
        assert.deepEqual(failed?.details.reason, { evicted: false, oomKilled: { memoryLimit: "512Mi" } });
        const oom = await logs(emu, "type=app&text=heap out of memory");
        assert.equal(oom.logs.length, 1);
    });

    it("a restart through the API names the user who asked; scaling reports instance_count_changed and new instances", async () => {
        expectStatus(await api(emu, "POST", `/services/${emu.serviceId}/restart`), 200, "restart");
        const restarted = emu.events().find((e) => e.type === "server_restarted");
        const user = (await api(emu, "GET", "/owners?limit=1")).json as { owner: { id: string } }[];
        assert.equal(restarted?.details.triggeredByUser, user[0].owner.id);
        expectStatus(await api(emu, "POST", `/services/${emu.serviceId}/scale`, { numInstances: 3 }), 202, "scale");
        assert.deepEqual(emu.events()[0].details, { fromInstances: 1, toInstances: 3 });
        assert.equal(emu.instances().length, 3);
        // Requests are spread over the instances, as Render's load balancer does.
        const since = new Date().toISOString();
        for (let i = 0; i < 6; i++) await get(emu, "/healthz");
        const served = (await logs(emu, `startTime=${since}&type=request`)).logs.map((l) => labelsOf(l).instance);
        assert.equal(new Set(served).size, 3);
    });

    it("refuses to inject an event type Render does not have, and injects those it does", () => {
        assert.throws(() => emu.serviceEvent("server_on_fire"), /server_on_fire.*is not one of/);
        const event = emu.serviceEvent("server_hardware_failure");
        assert.match(event.id, /^evt-[0-9a-z]{20}$/);
        assert.equal(emu.events()[0].id, event.id);
    });
});
