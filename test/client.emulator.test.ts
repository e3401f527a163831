// The Render client against the local Render emulator: variables, paging, deploys, faults, and running in plain node as the provider host loads it.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as http from "node:http";
import * as path from "node:path";
import {
    DeployFailedError,
    RenderClient,
    TriggerFateUnknownError,
    type Deploy,
    type RenderClientOptions,
} from "../lib/render/client";
import { startEmulator, type Emulator } from "../emulator";
import { closeServer, listenLocal } from "../emulator/http";
import { waitFor } from "./support/wait";

const repoRoot = path.join(__dirname, "..");

describe("Render client against the emulator", function () {
    let emu: Emulator;
    let logs: string[];
    const client = (opts: Partial<RenderClientOptions> = {}) =>
        new RenderClient({
            apiKey: emu.apiKey,
            baseUrl: emu.baseUrl,
            retryBaseMs: 5,
            maxRetries: 4,
            log: (m) => logs.push(m),
            ...opts,
        });
    const fast = { firstPollMs: 10, maxPollMs: 40, timeoutMs: 10_000 };

    /** Waits until no deploy of the service is in flight, so one test's deploys cannot queue the next test's. */
    async function settled(): Promise<void> {
        const inFlight = ["created", "queued", "build_in_progress", "pre_deploy_in_progress", "update_in_progress"];
        const flying = () => emu.deploys().filter((d) => inFlight.includes(d.status));
        await waitFor("the previous test's deploys to finish", () => flying().length === 0, {
            timeoutMs: 10_000,
            pollMs: 10,
            state: () =>
                flying()
                    .map((d) => `${d.id} ${d.status}`)
                    .join(", "),
        });
    }

    before(async () => {
        emu = await startEmulator({ port: 0, stepMs: 30 });
        // Pushes in these tests must not start deploys of their own.
        await client().updateAutoDeploy(emu.serviceId, "no");
    });
    after(async () => {
        await emu.close();
    });
    beforeEach(async () => {
        logs = [];
        await settled();
        emu.clearRequests();
    });

    it("creates, reads, updates and deletes one variable, leaving a hand-set variable alone", async () => {
        const c = client();
        const id = emu.serviceId;
        assert.equal(await c.getEnvVar(id, "DISABLE_SIGNUP"), undefined);
        await c.setEnvVar(id, "DISABLE_SIGNUP", "true");
        assert.equal(await c.getEnvVar(id, "DISABLE_SIGNUP"), "true");
        await c.setEnvVar(id, "DISABLE_SIGNUP", "false");
        assert.equal(emu.envVars().DISABLE_SIGNUP, "false");
        assert.equal(await c.deleteEnvVar(id, "DISABLE_SIGNUP"), true);
        assert.equal(await c.deleteEnvVar(id, "DISABLE_SIGNUP"), false);
        assert.equal(await c.getEnvVar(id, "DISABLE_SIGNUP"), undefined);
        assert.equal(emu.envVars().SOME_HAND_SET_VAR, "set-by-hand-in-the-dashboard");
        const wholeSetWrites = emu
            .requests()
            .filter((r) => r.method === "PUT" && r.route === "/services/{serviceId}/env-vars");
        assert.deepEqual(wholeSetWrites, [], "the client replaced the whole variable set");
    });

    it("lists all of more than a page of variables by following cursors", async () => {
        // Its own emulator: 130 variables would otherwise outlive the test, and deleting them costs more writes than Render allows a minute.
        const crowded = await startEmulator({ port: 0, stepMs: 30 });
        try {
            for (let i = 0; i < 130; i++) crowded.setEnvVar(`BULK_${String(i).padStart(3, "0")}`, `v${i}`);
            const listed = await new RenderClient({ apiKey: crowded.apiKey, baseUrl: crowded.baseUrl }).listEnvVars(
                crowded.serviceId,
            );
            assert.deepEqual(Object.fromEntries(listed.map((v) => [v.key, v.value])), crowded.envVars());
            assert.equal(listed.length, Object.keys(crowded.envVars()).length);
            const pages = crowded.requests().filter((r) => r.route === "/services/{serviceId}/env-vars");
            assert.deepEqual(
                pages.map((r) => [r.status, r.query.limit]),
                [
                    [200, "100"],
                    [200, "100"],
                    [200, "100"],
                ],
            );
            assert.equal(pages[0].query.cursor, undefined);
            assert.ok(
                pages[1].query.cursor && pages[2].query.cursor && pages[1].query.cursor !== pages[2].query.cursor,
                `each later page must pass the cursor the page before ended on: ${JSON.stringify(pages.map((r) => r.query))}`,
            );
        } finally {
            await crowded.close();
        }
    });

    it("triggers a deploy of the live commit and waits, reporting each status, until it is live", async () => {
        const c = client();
        const live = await c.liveDeploy(emu.serviceId);
        assert.ok(live?.commit, "the seeded service has no live deploy");
        await c.setEnvVar(emu.serviceId, "MAINTENANCE_MODE", "true");
        const started = await c.triggerDeploy(emu.serviceId, { commitId: live.commit.id });
        assert.equal(started.commit?.id, live.commit.id);
        const seen: string[] = [];
        const done = await c.waitForDeploy(emu.serviceId, started.id, {
            ...fast,
            onStatus: (d) => seen.push(d.status),
        });
        assert.equal(done.status, "live");
        assert.equal(seen[seen.length - 1], "live");
        assert.ok(seen.includes("build_in_progress"), `statuses seen: ${seen.join(", ")}`);
        assert.equal(new Set(seen).size, seen.length, "a status was reported twice");
        assert.equal(emu.liveDeploy()?.id, started.id);
        assert.equal(emu.liveEnv().MAINTENANCE_MODE, "true");
        assert.equal((await c.liveDeploy(emu.serviceId))?.id, started.id);
        await c.deleteEnvVar(emu.serviceId, "MAINTENANCE_MODE");
    });

    it("finds its own deploy when Render answers 202 because another deploy is running", async () => {
        const c = client();
        const first = emu.pushCommit({ message: "first" });
        const second = emu.pushCommit({ message: "second" });
        const running = await c.triggerDeploy(emu.serviceId, { commitId: first });
        const queued = await c.triggerDeploy(emu.serviceId, { commitId: second });
        const posts = emu.requests().filter((r) => r.method === "POST" && r.route === "/services/{serviceId}/deploys");
        assert.deepEqual(
            posts.map((p) => p.status),
            [201, 202],
        );
        assert.notEqual(queued.id, running.id);
        assert.equal(queued.commit?.id, second);
        assert.equal(queued.status, "queued");
        assert.equal(emu.deploys()[0].id, queued.id, "the deploy found is not the newest one Render holds");
        assert.equal((await c.waitForDeploy(emu.serviceId, queued.id, fast)).status, "live");
        assert.equal((await c.getDeploy(emu.serviceId, running.id)).status, "deactivated");
    });

    it("reports a failed build as DeployFailedError naming the status, the deploy and the last request id", async () => {
        const c = client();
        const sha = emu.pushCommit({ message: "broken", failBuild: true });
        const started = await c.triggerDeploy(emu.serviceId, { commitId: sha });
        const err = await c.waitForDeploy(emu.serviceId, started.id, fast).catch((e: unknown) => e);
        assert.ok(err instanceof DeployFailedError, `expected DeployFailedError, got ${String(err)}`);
        assert.equal(err.status, "build_failed");
        assert.equal(err.deployId, started.id);
        const lastPoll = emu
            .requests()
            .filter((r) => r.route === "/services/{serviceId}/deploys/{deployId}")
            .pop();
        assert.equal(err.requestId, lastPoll?.requestId);
        assert.match(
            err.message,
            new RegExp(
                `deploy ${started.id} of ${emu.serviceId} ended build_failed, not live \\(request id ${lastPoll?.requestId}\\)`,
            ),
        );
        assert.notEqual(emu.liveDeploy()?.id, started.id);
    });

    it("rides out injected 429s and 500s on reads and variable writes, and a 429 on the deploy trigger", async () => {
        const c = client();
        emu.inject({ method: "PUT", path: "/services/{serviceId}/env-vars/{envVarKey}", status: 500, count: 2 });
        emu.inject({
            method: "GET",
            path: "/services/{serviceId}/env-vars/{envVarKey}",
            status: 429,
            retryAfterSeconds: 1,
        });
        emu.inject({ method: "POST", path: "/services/{serviceId}/deploys", status: 429, retryAfterSeconds: 0 });
        await c.setEnvVar(emu.serviceId, "RATE_LIMIT_AUTH", "5/minute");
        const started = Date.now();
        assert.equal(await c.getEnvVar(emu.serviceId, "RATE_LIMIT_AUTH"), "5/minute");
        assert.ok(Date.now() - started >= 1000, "the 429's Retry-After of 1 s was not honoured");
        const before = emu.deploys().length;
        const deploy = await c.triggerDeploy(emu.serviceId, { commitId: emu.liveDeploy()?.commit.id });
        assert.equal(emu.deploys().length, before + 1, "riding out the faults started more than one deploy");
        await c.waitForDeploy(emu.serviceId, deploy.id, fast);

        const statuses = (route: string, method: string) =>
            emu
                .requests()
                .filter((r) => r.route === route && r.method === method)
                .map((r) => r.status);
        assert.deepEqual(statuses("/services/{serviceId}/env-vars/{envVarKey}", "PUT"), [500, 500, 200]);
        assert.deepEqual(statuses("/services/{serviceId}/env-vars/{envVarKey}", "GET"), [429, 200]);
        assert.deepEqual(statuses("/services/{serviceId}/deploys", "POST"), [429, 201]);
        assert.equal(logs.filter((l) => /; retry \d of 4 in \d+ ms/.test(l)).length, 4);
        await c.deleteEnvVar(emu.serviceId, "RATE_LIMIT_AUTH");
    });

    it("never resends a deploy trigger answered 503 (Render may have acted): none found, its fate is unknown", async () => {
        const c = client({ triggerLookupMs: 500 });
        emu.clearRequests();
        emu.inject({ method: "POST", path: "/services/{serviceId}/deploys", status: 503 });
        const before = emu.deploys().length;
        const err = await c
            .triggerDeploy(emu.serviceId, { commitId: emu.liveDeploy()?.commit.id })
            .catch((e: unknown) => e);
        assert.ok(err instanceof TriggerFateUnknownError, `expected TriggerFateUnknownError, got ${String(err)}`);
        assert.equal(
            emu.requests().filter((r) => r.route === "/services/{serviceId}/deploys" && r.method === "POST").length,
            1,
            "the trigger was sent again",
        );
        assert.equal(emu.deploys().length, before);
    });

    it("retries a read that timed out", async () => {
        const c = client({ requestTimeoutMs: 150 });
        emu.inject({ method: "GET", path: "/services/{serviceId}", delayMs: 400 });
        assert.equal((await c.getService(emu.serviceId)).id, emu.serviceId);
        assert.match(logs.join("\n"), /GET \/services\/srv-\w+: no response \(TIMEOUT\); retry 1 of 4/);
    });

    it("does not trigger a second deploy when the answer to the first trigger is lost", async () => {
        // A proxy that relays everything, except that it hangs up instead of relaying Render's answer to the first deploy trigger.
        let dropped = 0;
        const proxy = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", (chunk: Buffer) => chunks.push(chunk));
            req.on("end", async () => {
                const upstream = await fetch(`${emu.baseUrl.replace(/\/v1$/, "")}${req.url}`, {
                    method: req.method,
                    headers: { authorization: req.headers.authorization ?? "", "content-type": "application/json" },
                    body: chunks.length ? Buffer.concat(chunks) : undefined,
                });
                const text = await upstream.text();
                if (req.method === "POST" && /\/deploys$/.test(req.url ?? "") && dropped++ === 0) {
                    req.socket.destroy();
                    return;
                }
                res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
                res.end(text);
            });
        });
        const port = await listenLocal(proxy, 0);
        try {
            const c = client({ baseUrl: `http://127.0.0.1:${port}/v1` });
            const before = emu.deploys().length;
            const deploy: Deploy = await c.triggerDeploy(emu.serviceId, { commitId: emu.liveDeploy()?.commit.id });
            assert.equal(dropped, 1, "the proxy did not drop the answer");
            assert.equal(emu.deploys().length, before + 1, "a second deploy was triggered");
            assert.equal(emu.deploys()[0].id, deploy.id);
            assert.match(
                logs.join("\n"),
                /no response \((ECONNRESET|UND_ERR_SOCKET)\), but Render created deploy dep-\w+; using it/,
            );
            assert.equal((await c.waitForDeploy(emu.serviceId, deploy.id, fast)).status, "live");
        } finally {
            await closeServer(proxy);
        }
    });

    it("resolves the service id from its name, and fails clearly for an unknown name", async () => {
        assert.equal(await client().resolveServiceId("ahoy-indie-media"), emu.serviceId);
        await assert.rejects(
            client().resolveServiceId("ahoy-no-such-service"),
            /Render service "ahoy-no-such-service": no service with that name/,
        );
    });

    it("rides out Render's own deploy-bucket rate limit (10 per window) using Ratelimit-Reset/Retry-After", async () => {
        const limited = await startEmulator({ port: 0, stepMs: 30, rateLimitWindowMs: 1000 });
        try {
            const c = new RenderClient({
                apiKey: limited.apiKey,
                baseUrl: limited.baseUrl,
                retryBaseMs: 5,
                log: (m) => logs.push(m),
            });
            for (let i = 0; i < 12; i++) await c.updateAutoDeploy(limited.serviceId, i % 2 ? "yes" : "no");
            const patches = limited.requests().filter((r) => r.method === "PATCH");
            assert.ok(
                patches.some((r) => r.status === 429),
                "the emulator never rate-limited the PATCHes",
            );
            assert.equal(patches.filter((r) => r.status === 200).length, 12);
            assert.equal(limited.service().autoDeploy, "yes");
        } finally {
            await limited.close();
        }
    });

    describe("in a plain node process, loaded as the dynamic-provider host loads it", () => {
        // The host runs plain node in the project directory and requires the TypeScript through tsx's require hook
        // (see components/dynamicProvider.ts); the key is read there at run time, here from the environment.
        const runner = `
const plain = !require.extensions[".ts"];
if (plain) require("tsx/cjs/api").register();
const { RenderApiError, RenderClient } = require(${JSON.stringify(path.join(repoRoot, "lib/render/client.ts"))});
const [baseUrl, serviceId] = process.argv.slice(2);
new RenderClient({ apiKey: process.env.AHOY_TEST_RENDER_KEY, baseUrl }).listEnvVars(serviceId).then(
  (vars) => console.log(JSON.stringify({ plain, ok: vars })),
  (e) => console.log(JSON.stringify({ plain, error: { isError: e instanceof Error, isApiError: e instanceof RenderApiError, name: e.name, message: e.message, status: e.status } })),
);`;

        /** Lists the service's variables in a child `node` with `key`, reporting the variables or the error. */
        async function listInChild(key: string) {
            // Asynchronously: the emulator answering the child runs on this process's event loop.
            const child = spawn(process.execPath, ["-", emu.baseUrl, emu.serviceId], {
                cwd: repoRoot,
                env: { PATH: process.env.PATH, AHOY_TEST_RENDER_KEY: key },
            });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
            child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
            const code = await new Promise<number | null>((resolve) => {
                child.on("close", resolve);
                child.stdin.end(runner);
            });
            assert.equal(code, 0, stderr);
            return JSON.parse(stdout.trim().split("\n").pop() ?? "") as {
                plain: boolean;
                ok?: Array<{ key: string; value: string }>;
                error?: { isError: boolean; isApiError: boolean; name: string; message: string; status: number };
            };
        }

        it("lists variables, and a failure there is a RenderApiError with its name, status and message", async function () {
            this.timeout(60_000);
            const good = await listInChild(emu.apiKey);
            assert.equal(good.plain, true, "the child had a TypeScript loader before registering tsx");
            assert.deepEqual(Object.fromEntries((good.ok ?? []).map((v) => [v.key, v.value])), emu.envVars());
            const bad = await listInChild("rnd_wrong_key");
            assert.ok(bad.error, `a wrong key did not fail: ${JSON.stringify(bad)}`);
            assert.equal(bad.error.isError, true, "the error is not an Error");
            assert.equal(bad.error.isApiError, true, "the error is not a RenderApiError");
            assert.equal(bad.error.name, "RenderApiError");
            assert.equal(bad.error.status, 401);
            assert.match(
                bad.error.message,
                new RegExp(`^GET /services/${emu.serviceId}/env-vars: 401 Unauthorized \\(request id [\\w-]+\\)$`),
            );
        });
    });
});
