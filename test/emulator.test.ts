// How the Render emulator behaves: deploy lifecycle and queueing, rollbacks, variables, paging, rate limits, faults, CLI.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";
import fc from "fast-check";
import { Deploy, DeployStatus, Emulator, RETAINED_BUILDS, startEmulator } from "../emulator";
import { api, expectStatus } from "./support/emulatorApi";
import { waitFor } from "./support/wait";

// Long enough that a deploy is still in flight across the few requests a test makes meanwhile, even on a busy machine.
const STEP_MS = 60;

/** Samples a deploy's status until it finishes; returns each distinct status seen, in order. */
async function statusesOf(emu: Emulator, deployId: string, first?: DeployStatus): Promise<DeployStatus[]> {
    const seen: DeployStatus[] = first ? [first] : [];
    const terminal = new Set<DeployStatus>([
        "live",
        "deactivated",
        "build_failed",
        "update_failed",
        "pre_deploy_failed",
        "canceled",
    ]);
    // Each step's timer is set when the previous step runs, so a poll falls between any two steps: no status goes unseen.
    await waitFor(
        `deploy ${deployId} to finish`,
        () => {
            const status = emu.deploys().find((d) => d.id === deployId)?.status;
            if (status && seen[seen.length - 1] !== status) seen.push(status);
            return status !== undefined && terminal.has(status);
        },
        { pollMs: 2, state: () => seen.join(" -> ") },
    );
    return seen;
}

/** Whether any process of the group led by `pid` is still running. */
function groupAlive(pid: number): boolean {
    try {
        process.kill(-pid, 0);
        return true;
    } catch {
        return false;
    }
}

function deployOf(emu: Emulator, id: string): Deploy {
    const found = emu.deploys().find((d) => d.id === id);
    assert.ok(found, `no deploy ${id}`);
    return found;
}

describe("the Render emulator", function () {
    let emu: Emulator;
    beforeEach(async () => {
        emu = await startEmulator({ stepMs: STEP_MS, rateLimits: false });
    });
    afterEach(async () => {
        await emu.close();
    });

    describe("seed", () => {
        it("starts with ahoy-indie-media live on its first commit, with stored variables including hand-set ones", async () => {
            assert.match(emu.serviceId, /^srv-[0-9a-v]{20}$/);
            const service = emu.service();
            assert.equal(service.name, "ahoy-indie-media");
            assert.equal(service.autoDeploy, "yes");
            assert.equal(service.serviceDetails.url, "https://ahoy-indie-media.onrender.com");
            assert.match(service.ownerId, /^tea-[0-9a-v]{20}$/);
            const live = emu.liveDeploy();
            assert.ok(live);
            assert.match(live.id, /^dep-[0-9a-v]{20}$/);
            assert.equal(live.commit.id, emu.branchHead());
            assert.match(live.commit.id, /^[0-9a-f]{40}$/);
            assert.deepEqual(Object.keys(emu.envVars()).sort(), [
                "BLOCKED_IPS",
                "DATABASE_URL",
                "SECRET_KEY",
                "SOME_HAND_SET_VAR",
            ]);
            assert.deepEqual(emu.liveEnv(), emu.envVars());
            const reply = await api(emu, "GET", `/services/${emu.serviceId}`);
            assert.deepEqual(reply.json, service, "service() is what GET /services/{id} returns");
        });
    });

    describe("auth and headers", () => {
        it("answers 401 with Render's body without the bearer token, and every answer carries request id and rate-limit headers", async () => {
            const response = await fetch(`${emu.baseUrl}/services`);
            assert.equal(response.status, 401);
            assert.deepEqual(await response.json(), { id: "unauthorized", message: "Unauthorized" });
            const ok = await api(emu, "GET", "/services");
            for (const reply of [response, ok]) {
                assert.match(reply.headers.get("render-request-id") ?? "", /\S/);
                assert.match(reply.headers.get("ratelimit-reset") ?? "", /^\d+$/);
            }
            const ids = new Set(emu.requests().map((r) => r.requestId));
            assert.equal(ids.size, 2, "each request gets its own Render-Request-Id");
        });

        it("answers 404 with not_found naming the missing service", async () => {
            const reply = await api(emu, "GET", "/services/srv-00000000000000000000/env-vars");
            expectStatus(reply, 404, "unknown service");
            assert.deepEqual(reply.json, { id: "not_found", message: "not found: srv-00000000000000000000" });
        });
    });

    describe("deploys", () => {
        it("runs created -> build_in_progress -> update_in_progress -> live, a step each, and deactivates the previous live deploy", async () => {
            const previous = emu.liveDeploy();
            assert.ok(previous);
            const t0 = Date.now();
            const reply = await api(emu, "POST", `/services/${emu.serviceId}/deploys`, {});
            expectStatus(reply, 201, "trigger");
            const created = reply.json as Deploy;
            assert.equal(created.status, "created");
            assert.equal(created.trigger, "api");
            assert.equal(created.finishedAt, null, "the creating answer carries finishedAt: null");
            assert.deepEqual(await statusesOf(emu, created.id, "created"), [
                "created",
                "build_in_progress",
                "update_in_progress",
                "live",
            ]);
            const elapsed = Date.now() - t0;
            assert.ok(
                elapsed >= 3 * STEP_MS - 5,
                `went live after ${elapsed} ms, sooner than three steps of ${STEP_MS} ms`,
            );
            const live = deployOf(emu, created.id);
            assert.ok(live.startedAt && live.finishedAt, "a finished deploy has startedAt and finishedAt");
            assert.equal(deployOf(emu, previous.id).status, "deactivated");
            assert.equal(emu.liveDeploy()?.id, created.id);
        });

        it("answers 202 with an empty body while a deploy is in flight, queues the deploy and starts it after", async () => {
            const first = await api(emu, "POST", `/services/${emu.serviceId}/deploys`, {});
            expectStatus(first, 201, "first");
            const second = await api(emu, "POST", `/services/${emu.serviceId}/deploys`, {});
            expectStatus(second, 202, "second");
            assert.equal(second.text, "");
            const [queued] = emu.deploys();
            assert.equal(queued.status, "queued");
            assert.equal(queued.startedAt, undefined, "a queued deploy has not started");

            let overlapped = false;
            await waitFor(
                "both deploys to finish",
                () => {
                    const inFlight = emu
                        .deploys()
                        .filter((d) => ["created", "build_in_progress", "update_in_progress"].includes(d.status));
                    if (inFlight.length > 1) overlapped = true;
                    return deployOf(emu, queued.id).status === "live";
                },
                { pollMs: 2 },
            );
            assert.equal(overlapped, false, "two deploys ran at once");
            const firstDeploy = deployOf(emu, (first.json as Deploy).id);
            assert.equal(firstDeploy.status, "deactivated");
            assert.ok(
                Date.parse(deployOf(emu, queued.id).startedAt ?? "") >= Date.parse(firstDeploy.finishedAt ?? ""),
                "the queued deploy started after the first finished",
            );
        });

        it("captures the stored variables when triggered: a change after the trigger waits for the next deploy", async () => {
            const reply = await api(emu, "POST", `/services/${emu.serviceId}/deploys`, {});
            expectStatus(
                await api(emu, "PUT", `/services/${emu.serviceId}/env-vars/DISABLE_SIGNUP`, { value: "true" }),
                200,
                "set after the trigger",
            );
            await statusesOf(emu, (reply.json as Deploy).id);
            assert.equal(emu.liveEnv().DISABLE_SIGNUP, undefined);
            assert.equal(emu.envVars().DISABLE_SIGNUP, "true");
        });

        it("deploys the branch head by default and the given commit when commitId is sent", async () => {
            expectStatus(
                await api(emu, "PATCH", `/services/${emu.serviceId}`, { autoDeploy: "no" }),
                200,
                "autodeploy off",
            );
            const initial = emu.branchHead();
            const pushed = emu.pushCommit({ message: "new feature" });
            assert.equal(emu.deploys().length, 1, "no autodeploy while autoDeploy is no");
            const pinned = (await api(emu, "POST", `/services/${emu.serviceId}/deploys`, { commitId: initial }))
                .json as Deploy;
            assert.equal(pinned.commit.id, initial);
            await statusesOf(emu, pinned.id);
            const head = (await api(emu, "POST", `/services/${emu.serviceId}/deploys`, {})).json as Deploy;
            assert.equal(head.commit.id, pushed);
            assert.equal(head.commit.message, "new feature");
        });

        it("autodeploys a pushed commit with trigger new_commit while autoDeploy is yes", async () => {
            const sha = emu.pushCommit();
            assert.equal(emu.branchHead(), sha);
            const [deploy] = emu.deploys();
            assert.equal(deploy.trigger, "new_commit");
            assert.equal(deploy.commit.id, sha);
            await statusesOf(emu, deploy.id);
            assert.equal(emu.liveDeploy()?.commit.id, sha);
        });

        it("fails the build of a commit marked failBuild and keeps the previous deploy live", async () => {
            const live = emu.liveDeploy();
            const sha = emu.pushCommit({ failBuild: true });
            const [deploy] = emu.deploys();
            assert.equal(deploy.commit.id, sha);
            assert.deepEqual(await statusesOf(emu, deploy.id), ["created", "build_in_progress", "build_failed"]);
            assert.equal(emu.liveDeploy()?.id, live?.id);

            emu.failBuild(live?.commit.id ?? "");
            const again = (await api(emu, "POST", `/services/${emu.serviceId}/deploys`, { commitId: live?.commit.id }))
                .json as Deploy;
            assert.equal(
                (await statusesOf(emu, again.id)).pop(),
                "build_failed",
                "failBuild(sha) fails later builds of that commit",
            );
        });

        it("cancels the deploy in flight and starts the queued one", async () => {
            const first = (await api(emu, "POST", `/services/${emu.serviceId}/deploys`, {})).json as Deploy;
            expectStatus(await api(emu, "POST", `/services/${emu.serviceId}/deploys`, {}), 202, "queued");
            const canceled = await api(emu, "POST", `/services/${emu.serviceId}/deploys/${first.id}/cancel`);
            expectStatus(canceled, 200, "cancel");
            assert.equal((canceled.json as Deploy).status, "canceled");
            const [next] = emu.deploys();
            assert.notEqual(next.status, "queued", "the queued deploy started once the first was canceled");
            await statusesOf(emu, next.id);
            assert.equal(emu.liveDeploy()?.id, next.id);
            const again = await api(emu, "POST", `/services/${emu.serviceId}/deploys/${first.id}/cancel`);
            expectStatus(again, 400, "cancel a canceled deploy");
            assert.match((again.json as { message: string }).message, /canceled/);
        });

        it("deployMode deploy_only reuses the last build with the stored variables and skips the build", async () => {
            emu.setEnvVar("MAINTENANCE_MODE", "true");
            const reply = await api(emu, "POST", `/services/${emu.serviceId}/deploys`, { deployMode: "deploy_only" });
            expectStatus(reply, 201, "deploy_only");
            const deploy = reply.json as Deploy;
            assert.deepEqual(await statusesOf(emu, deploy.id, deploy.status), ["update_in_progress", "live"]);
            assert.equal(emu.liveEnv().MAINTENANCE_MODE, "true");
        });

        it("lists deploys newest first with status and time filters and cursor paging", async () => {
            const a = (await api(emu, "POST", `/services/${emu.serviceId}/deploys`, {})).json as Deploy;
            await statusesOf(emu, a.id);
            emu.pushCommit({ failBuild: true });
            await statusesOf(emu, emu.deploys()[0].id);
            const all = (await api(emu, "GET", `/services/${emu.serviceId}/deploys`)).json as {
                deploy: Deploy;
                cursor: string;
            }[];
            assert.deepEqual(
                all.map((d) => d.deploy.status),
                ["build_failed", "live", "deactivated"],
            );
            const failed = (
                await api(emu, "GET", `/services/${emu.serviceId}/deploys?status=build_failed&status=deactivated`)
            ).json as { deploy: Deploy }[];
            assert.deepEqual(
                failed.map((d) => d.deploy.status),
                ["build_failed", "deactivated"],
            );
            const after = encodeURIComponent(a.createdAt);
            const since = (await api(emu, "GET", `/services/${emu.serviceId}/deploys?createdAfter=${after}`)).json as {
                deploy: Deploy;
            }[];
            assert.deepEqual(
                since.map((d) => d.deploy.status),
                ["build_failed"],
            );
            const first = (await api(emu, "GET", `/services/${emu.serviceId}/deploys?limit=2`)).json as {
                deploy: Deploy;
                cursor: string;
            }[];
            const rest = (await api(emu, "GET", `/services/${emu.serviceId}/deploys?limit=2&cursor=${first[1].cursor}`))
                .json as { deploy: Deploy; cursor: string }[];
            assert.deepEqual(
                [...first, ...rest].map((d) => d.deploy.id),
                all.map((d) => d.deploy.id),
            );
            assert.deepEqual(
                (await api(emu, "GET", `/services/${emu.serviceId}/deploys?cursor=${rest[0].cursor}`)).json,
                [],
            );
        });
    });

    describe("rollback", () => {
        it("creates a rollback deploy that skips the build and runs the target's commit and variables, leaving stored settings alone", async () => {
            const target = emu.liveDeploy();
            assert.ok(target);
            const targetEnv = emu.liveEnv();
            emu.setEnvVar("SECRET_KEY", "rotated");
            const newer = emu.pushCommit();
            await statusesOf(emu, emu.deploys()[0].id);
            assert.equal(emu.liveEnv().SECRET_KEY, "rotated");

            const reply = await api(emu, "POST", `/services/${emu.serviceId}/rollback`, { deployId: target.id });
            expectStatus(reply, 201, "rollback");
            const rollback = reply.json as Deploy;
            assert.equal(rollback.trigger, "rollback");
            assert.notEqual(rollback.id, target.id, "a rollback is a new deploy");
            assert.deepEqual(
                await statusesOf(emu, rollback.id, rollback.status),
                ["update_in_progress", "live"],
                "no build step",
            );
            assert.equal(emu.liveDeploy()?.commit.id, target.commit.id);
            assert.deepEqual(emu.liveEnv(), targetEnv, "the target deploy's variables");
            assert.equal(emu.envVars().SECRET_KEY, "rotated", "stored variables unchanged");
            assert.equal(emu.service().autoDeploy, "yes", "an API rollback leaves autodeploy on");
            assert.equal(emu.branchHead(), newer);

            const next = (await api(emu, "POST", `/services/${emu.serviceId}/deploys`, {})).json as Deploy;
            await statusesOf(emu, next.id);
            assert.equal(
                emu.liveEnv().SECRET_KEY,
                "rotated",
                "the next standard deploy uses the stored variables again",
            );
        });

        it(`refuses a rollback to a deploy whose build artifact is gone (only the last ${RETAINED_BUILDS} builds are kept)`, async () => {
            const oldest = emu.liveDeploy();
            assert.ok(oldest);
            for (let i = 0; i < RETAINED_BUILDS - 1; i++) {
                emu.pushCommit();
                await statusesOf(emu, emu.deploys()[0].id);
            }
            expectStatus(
                await api(emu, "POST", `/services/${emu.serviceId}/rollback`, { deployId: oldest.id }),
                201,
                `rollback within ${RETAINED_BUILDS} builds`,
            );
            await statusesOf(emu, emu.deploys()[0].id);

            emu.pushCommit();
            await statusesOf(emu, emu.deploys()[0].id);
            const refused = await api(emu, "POST", `/services/${emu.serviceId}/rollback`, { deployId: oldest.id });
            expectStatus(refused, 400, "rollback past retention");
            assert.match((refused.json as { message: string }).message, /no longer retained/);
            assert.match(
                (refused.json as { message: string }).message,
                new RegExp(oldest.commit.id),
                "the error names the commit to deploy instead",
            );
        });
    });

    describe("restart", () => {
        it("restarts without a deploy and keeps the running variables", async () => {
            const live = emu.liveDeploy();
            const before = emu.liveEnv();
            expectStatus(
                await api(emu, "PUT", `/services/${emu.serviceId}/env-vars/SECRET_KEY`, { value: "changed" }),
                200,
                "change a variable",
            );
            const reply = await api(emu, "POST", `/services/${emu.serviceId}/restart`);
            expectStatus(reply, 200, "restart");
            assert.equal(reply.text, "");
            assert.equal(emu.restarts(), 1);
            assert.equal(emu.deploys().length, 1, "no deploy");
            assert.equal(emu.liveDeploy()?.id, live?.id);
            assert.deepEqual(emu.liveEnv(), before);
        });
    });

    describe("service settings", () => {
        it("mirrors autoDeploy and autoDeployTrigger and refuses both at once", async () => {
            const off = await api(emu, "PATCH", `/services/${emu.serviceId}`, { autoDeploy: "no" });
            assert.deepEqual(
                [
                    (off.json as { autoDeploy: string }).autoDeploy,
                    (off.json as { autoDeployTrigger: string }).autoDeployTrigger,
                ],
                ["no", "off"],
            );
            const on = await api(emu, "PATCH", `/services/${emu.serviceId}`, { autoDeployTrigger: "commit" });
            assert.equal((on.json as { autoDeploy: string }).autoDeploy, "yes");
            const both = await api(emu, "PATCH", `/services/${emu.serviceId}`, {
                autoDeploy: "no",
                autoDeployTrigger: "off",
            });
            expectStatus(both, 400, "both");
            assert.match((both.json as { message: string }).message, /not both/);
            assert.equal(emu.service().autoDeploy, "yes", "a refused PATCH changes nothing");
        });

        it("lists services with the name filter and pages to an empty array", async () => {
            const named = (await api(emu, "GET", "/services?name=ahoy-indie-media,other")).json as {
                service: { id: string };
                cursor: string;
            }[];
            assert.deepEqual(
                named.map((s) => s.service.id),
                [emu.serviceId],
            );
            assert.deepEqual((await api(emu, "GET", "/services?name=other")).json, []);
            assert.deepEqual((await api(emu, "GET", `/services?cursor=${named[0].cursor}`)).json, []);
        });
    });

    describe("environment variables", () => {
        it("keeps a hand-set variable through single-key writes and deletes, but PUT /env-vars replaces the whole set", async () => {
            const id = emu.serviceId;
            expectStatus(
                await api(emu, "PUT", `/services/${id}/env-vars/DISABLE_SIGNUP`, { value: "true" }),
                200,
                "put one",
            );
            expectStatus(
                await api(emu, "PUT", `/services/${id}/env-vars/DISABLE_SIGNUP`, { value: "false" }),
                200,
                "update one",
            );
            expectStatus(await api(emu, "DELETE", `/services/${id}/env-vars/DISABLE_SIGNUP`), 204, "delete one");
            assert.equal(emu.envVars().SOME_HAND_SET_VAR, "set-by-hand-in-the-dashboard");

            const replaced = await api(emu, "PUT", `/services/${id}/env-vars`, [
                { key: "DISABLE_SIGNUP", value: "true" },
            ]);
            expectStatus(replaced, 200, "replace");
            assert.deepEqual(emu.envVars(), { DISABLE_SIGNUP: "true" }, "the hand-set variable is gone");
        });

        it("answers single-key reads and writes with a bare {key, value}, and generates a value on request", async () => {
            const id = emu.serviceId;
            const put = await api(emu, "PUT", `/services/${id}/env-vars/MAINTENANCE_MODE`, { value: "true" });
            assert.deepEqual(put.json, { key: "MAINTENANCE_MODE", value: "true" });
            assert.deepEqual((await api(emu, "GET", `/services/${id}/env-vars/MAINTENANCE_MODE`)).json, {
                key: "MAINTENANCE_MODE",
                value: "true",
            });
            const generated = (await api(emu, "PUT", `/services/${id}/env-vars/TOKEN`, { generateValue: true }))
                .json as { value: string };
            assert.ok(
                generated.value.length >= 32,
                `generateValue gave a ${generated.value.length}-character value; expected at least 32`,
            );
            assert.equal(emu.envVars().TOKEN, generated.value);
            expectStatus(await api(emu, "GET", `/services/${id}/env-vars/NOPE`), 404, "missing key");
        });

        it("refuses bad bodies with a message that says what was expected, never quoting a value", async () => {
            const id = emu.serviceId;
            const secret = "s3cr3t-value-never-echoed";
            const cases: [string, string, unknown, RegExp][] = [
                [
                    "PUT",
                    `/services/${id}/env-vars/TOKEN`,
                    { value: secret, generateValue: true },
                    /value or generateValue, not both/,
                ],
                ["PUT", `/services/${id}/env-vars/TOKEN`, { valu: secret }, /unknown field valu/],
                [
                    "PUT",
                    `/services/${id}/env-vars`,
                    [
                        { key: "A", value: secret },
                        { key: "A", value: secret },
                    ],
                    /more than once/,
                ],
                ["PUT", `/services/${id}/env-vars`, [{ key: "A" }], /needs a string value/],
            ];
            for (const [method, path, body, message] of cases) {
                const reply = await api(emu, method, path, body);
                expectStatus(reply, 400, `${method} ${path}`);
                assert.match((reply.json as { message: string }).message, message);
                assert.ok(!reply.text.includes(secret), `the error quoted the value: ${reply.text}`);
            }
            const invalid = await fetch(`${emu.baseUrl}/services/${id}/env-vars/TOKEN`, {
                method: "PUT",
                headers: { Authorization: `Bearer ${emu.apiKey}` },
                body: `{"value": ${secret}}`,
            });
            assert.equal(invalid.status, 400);
            assert.ok(!(await invalid.text()).includes(secret), "the JSON error quoted the body");
        });

        it("lists newest first and pages with cursors through every variable exactly once, ending with []", async () => {
            await fc.assert(
                fc.asyncProperty(
                    fc.integer({ min: 0, max: 30 }),
                    fc.integer({ min: 1, max: 7 }),
                    async (count, limit) => {
                        const keys = Array.from({ length: count }, (_, i) => `VAR_${i}`);
                        expectStatus(
                            await api(
                                emu,
                                "PUT",
                                `/services/${emu.serviceId}/env-vars`,
                                keys.map((key) => ({ key, value: key.toLowerCase() })),
                            ),
                            200,
                            "seed",
                        );
                        const listed: string[] = [];
                        let cursor: string | undefined;
                        for (;;) {
                            const query = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
                            const page = (await api(emu, "GET", `/services/${emu.serviceId}/env-vars?${query}`))
                                .json as { envVar: { key: string; value: string }; cursor: string }[];
                            assert.ok(page.length <= limit, `a page of ${page.length} items for limit=${limit}`);
                            if (page.length === 0) break;
                            for (const { envVar } of page)
                                assert.equal(envVar.value, envVar.key.toLowerCase(), "values come back in plain text");
                            listed.push(...page.map((p) => p.envVar.key));
                            cursor = page[page.length - 1].cursor;
                        }
                        assert.deepEqual(listed, [...keys].reverse());
                    },
                ),
                { numRuns: 25 },
            );
        });

        it("lists a newly added variable first and lists 20 by default", async () => {
            const keys = Array.from({ length: 25 }, (_, i) => `K${i}`);
            for (const key of keys) emu.setEnvVar(key, "v");
            const page = (await api(emu, "GET", `/services/${emu.serviceId}/env-vars`)).json as {
                envVar: { key: string };
            }[];
            assert.equal(page.length, 20);
            assert.equal(page[0].envVar.key, "K24");
        });
    });

    describe("rate limits", () => {
        // Short enough to wait out, long enough that the requests below all fall in one window even on a busy machine.
        const WINDOW_MS = 2000;
        let limited: Emulator;
        beforeEach(async () => {
            limited = await startEmulator({ stepMs: STEP_MS, rateLimitWindowMs: WINDOW_MS });
        });
        afterEach(async () => {
            await limited.close();
        });

        it("shares one bucket of 10 per service among PATCH service, deploy triggers and scale, then answers 429 until the window resets", async () => {
            const id = limited.serviceId;
            const calls: [string, string, unknown][] = [
                ...Array.from({ length: 4 }, (): [string, string, unknown] => [
                    "PATCH",
                    `/services/${id}`,
                    { autoDeploy: "no" },
                ]),
                ...Array.from({ length: 4 }, (): [string, string, unknown] => ["POST", `/services/${id}/deploys`, {}]),
                ...Array.from({ length: 2 }, (): [string, string, unknown] => [
                    "POST",
                    `/services/${id}/scale`,
                    { numInstances: 2 },
                ]),
            ];
            const t0 = Date.now();
            let windowOpened = 0;
            for (const [i, [method, path, body]] of calls.entries()) {
                const reply = await api(limited, method, path, body);
                // The window opened when the first request arrived, so no later than its answer.
                if (i === 0) windowOpened = Date.now();
                assert.ok(reply.status < 300, `${method} ${path}: ${reply.status} ${reply.text}`);
                assert.equal(reply.headers.get("ratelimit-limit"), "10");
                assert.equal(reply.headers.get("ratelimit-remaining"), String(9 - i));
            }
            const refused = await api(limited, "POST", `/services/${id}/deploys`, {});
            expectStatus(refused, 429, "the 11th");
            assert.match((refused.json as { message: string }).message, /Rate limit exceeded/);
            assert.equal(refused.headers.get("ratelimit-remaining"), "0");
            assert.match(refused.headers.get("retry-after") ?? "", /^\d+$/);
            assert.ok(
                Number(refused.headers.get("ratelimit-reset")) >= 1,
                "Ratelimit-Reset counts seconds, not an epoch",
            );
            assert.ok(
                Number(refused.headers.get("ratelimit-reset")) <= 60,
                "Ratelimit-Reset counts the seconds left in a one-minute window at most",
            );

            const get = await api(limited, "GET", `/services/${id}`);
            expectStatus(get, 200, "GETs have their own bucket");
            assert.equal(get.headers.get("ratelimit-limit"), "400");
            expectStatus(
                await api(limited, "PUT", `/services/${id}/env-vars/X`, { value: "1" }),
                200,
                "other writes have their own bucket",
            );

            assert.ok(
                Date.now() - t0 < WINDOW_MS,
                `the requests took ${Date.now() - t0} ms, longer than one ${WINDOW_MS} ms window`,
            );
            await new Promise((resolve) =>
                setTimeout(resolve, Math.max(0, windowOpened + WINDOW_MS + 20 - Date.now())),
            );
            expectStatus(
                await api(limited, "PATCH", `/services/${id}`, { autoDeploy: "yes" }),
                200,
                "after the window resets",
            );
        });
    });

    describe("fault injection", () => {
        it("answers the next `count` matching requests with the injected status and Retry-After, then recovers", async () => {
            emu.inject({
                method: "put",
                path: "/services/{serviceId}/env-vars/{envVarKey}",
                status: 503,
                count: 2,
                retryAfterSeconds: 3,
            });
            const path = `/services/${emu.serviceId}/env-vars/X`;
            expectStatus(
                await api(emu, "GET", `/services/${emu.serviceId}/env-vars`),
                200,
                "another method is not matched",
            );
            for (let i = 0; i < 2; i++) {
                const reply = await api(emu, "PUT", path, { value: "1" });
                expectStatus(reply, 503, `faulted #${i + 1}`);
                assert.equal(reply.headers.get("retry-after"), "3");
                assert.equal(typeof (reply.json as { message: unknown }).message, "string");
            }
            assert.equal(emu.envVars().X, undefined, "a faulted request was not carried out");
            expectStatus(await api(emu, "PUT", path, { value: "1" }), 200, "after the faults");
            assert.deepEqual(
                emu.requests().map((r) => r.status),
                [200, 503, 503, 200],
            );
        });

        it("matches a concrete path or a RegExp, and delays a request before handling it", async () => {
            emu.inject({ path: `/services/${emu.serviceId}`, status: 429 });
            expectStatus(
                await api(emu, "GET", `/services/${emu.serviceId}/deploys`),
                200,
                "a longer path is not matched",
            );
            expectStatus(await api(emu, "GET", `/services/${emu.serviceId}`), 429, "the concrete path");
            emu.inject({ path: /\/deploys$/, status: 500 });
            expectStatus(await api(emu, "POST", `/services/${emu.serviceId}/deploys`, {}), 500, "RegExp");
            assert.equal(emu.deploys().length, 1, "the faulted trigger started no deploy");

            emu.inject({ path: /env-vars/, delayMs: 150 });
            const t0 = Date.now();
            expectStatus(await api(emu, "GET", `/services/${emu.serviceId}/env-vars`), 200, "delayed");
            assert.ok(Date.now() - t0 >= 145, `answered after ${Date.now() - t0} ms, before the 150 ms delay`);
        });
    });

    describe("request log", () => {
        it("records method, path without /v1, query, status, body and route of every request, but not hand-set variables", async () => {
            emu.setEnvVar("BY_HAND", "x");
            await api(emu, "GET", `/services/${emu.serviceId}/deploys?limit=5&status=live&status=queued`);
            await api(emu, "PUT", `/services/${emu.serviceId}/env-vars/DISABLE_SIGNUP`, { value: "true" });
            const [list, put] = emu.requests();
            assert.equal(emu.requests().length, 2);
            assert.deepEqual(
                { method: list.method, path: list.path, query: list.query, status: list.status, route: list.route },
                {
                    method: "GET",
                    path: `/services/${emu.serviceId}/deploys`,
                    query: { limit: "5", status: "live,queued" },
                    status: 200,
                    route: "/services/{serviceId}/deploys",
                },
            );
            assert.deepEqual(put.body, { value: "true" });
            assert.equal(put.route, "/services/{serviceId}/env-vars/{envVarKey}");
            assert.ok(put.at >= list.at, "requests are logged in the order they arrived");
            emu.clearRequests();
            assert.deepEqual(emu.requests(), []);
        });
    });

    describe("npm run --silent emulator", () => {
        it("prints the base URL as its first line, then the API key and service id, serves requests and stops on SIGTERM", async function () {
            this.timeout(60_000);
            const repo = path.resolve(__dirname, "..");
            // As scripts start it: `--silent` keeps npm's "> ahoy-ops@... emulator" banner off stdout (npm 11 prints it there).
            const child = spawn("npm", ["run", "--silent", "emulator", "--", "--port", "0"], {
                cwd: repo,
                stdio: ["ignore", "pipe", "pipe"],
                detached: true,
            });
            const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
            try {
                const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
                const next = async (): Promise<string> => {
                    const { value, done } = await lines.next();
                    assert.ok(!done, "the emulator stopped printing early");
                    return value as string;
                };
                const baseUrl = await next();
                assert.match(baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
                const apiKey = (await next()).replace(/^RENDER_API_KEY=/, "");
                const serviceId = (await next()).replace(/^RENDER_SERVICE_ID=/, "");
                const reply = await fetch(`${baseUrl}/services/${serviceId}`, {
                    headers: { Authorization: `Bearer ${apiKey}` },
                });
                assert.equal(reply.status, 200);
                assert.equal(((await reply.json()) as { name: string }).name, "ahoy-indie-media");
                assert.match(await next(), /^AHOY_APP_URL=http:\/\/127\.0\.0\.1:\d+$/);
                const ownerId = (await next()).replace(/^RENDER_OWNER_ID=/, "");
                const logs = await fetch(`${baseUrl}/logs?ownerId=${ownerId}&resource=${serviceId}`, {
                    headers: { Authorization: `Bearer ${apiKey}` },
                });
                assert.equal(logs.status, 200, "the owner printed is the one GET /logs needs");

                // npm, its shell, tsx and the emulator share the child's process group: stop them all, as Ctrl-C would.
                process.kill(-(child.pid as number), "SIGTERM");
                await exited;
                await waitFor("every process of the group to exit", () => !groupAlive(child.pid as number), {
                    timeoutMs: 10_000,
                    pollMs: 2,
                });
                await assert.rejects(fetch(`${baseUrl}/services`), "nothing listens after it stopped");
            } finally {
                if (groupAlive(child.pid as number)) process.kill(-(child.pid as number), "SIGKILL");
            }
        });

        it("exits 0 when interrupted, and exits 2 naming a bad argument", async function () {
            this.timeout(60_000);
            const repo = path.resolve(__dirname, "..");
            const run = (args: string[]) =>
                spawn(process.execPath, ["--import", "tsx", "emulator/main.ts", ...args], {
                    cwd: repo,
                    stdio: ["ignore", "pipe", "pipe"],
                });
            const exitOf = (child: ReturnType<typeof run>) =>
                new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

            const good = run(["--port", "0", "--step-ms", "50", "--no-rate-limits"]);
            try {
                const goodExit = exitOf(good);
                const [first] = await once(createInterface({ input: good.stdout }), "line");
                assert.match(first as string, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
                good.kill("SIGINT");
                assert.equal(await goodExit, 0, "the emulator's exit code after SIGINT");
            } finally {
                // A failed assertion above must not leave an emulator running after the test run.
                if (good.exitCode === null && good.signalCode === null) good.kill("SIGKILL");
            }

            const bad = run(["--port", "eighty"]);
            let stderr = "";
            bad.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
            assert.equal(await exitOf(bad), 2, `the exit code for a bad argument; stderr: ${stderr}`);
            assert.match(stderr, /--port needs a whole number, got "eighty"/);
        });
    });
});
