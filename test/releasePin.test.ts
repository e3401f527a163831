// The release-pin drills of the runbook's rollbacks, through Pulumi's dynamic-provider host against the emulator and its
// stand-in app: pin, flip while pinned, unpin, pin a tag, and a bad commit failing verification and the `up`.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RETAINED_BUILDS, startEmulator, type Emulator } from "../emulator";
import { RenderClient } from "../lib/render/client";
import { deployProvider } from "../components/render/deploy";
import { envVarProvider, RENDER_API_KEY_CONFIG } from "../components/render/envVar";
import { verificationPlan, verificationProvider } from "../components/verification";
import {
    dynamicUrn,
    PROVIDER_KEY,
    type Props,
    type ProviderHost,
    renderRequestKind,
    type ResourceState,
    secretWire,
    startProviderHost,
    upResource,
} from "./support/providerHost";
import { commitEmpty, git, initRepositories } from "./support/git";
import { waitFor } from "./support/wait";

/** How long a push may take to go live by autodeploy (three emulator steps, on a machine that may be busy). */
const PUSH_WAIT = { timeoutMs: 15_000, pollMs: 25 };

/** The stack settings these drills change. */
interface Settings {
    DISABLE_SIGNUP: string;
    releasePin?: string;
    repository?: string;
}

/** A stack of one kill switch, its deploy and the deploy's verification, converged the way `pulumi up` converges it. */
class Stack {
    signup?: ResourceState;
    deploy?: ResourceState;
    verification?: ResourceState;

    constructor(
        private readonly host: ProviderHost,
        private readonly emulator: Emulator,
        private readonly providers: { envVar: string; deploy: string; verification: string },
        private readonly name: string,
    ) {}

    deployInputs(settings: Settings): Props {
        return {
            service: "ahoy-indie-media",
            apiUrl: this.emulator.baseUrl,
            // The revision of the variable's last write; a preview sees the recorded one.
            revisions: { DISABLE_SIGNUP: this.signup?.outputs.revision ?? "not written yet" },
            ...(settings.releasePin && { releasePin: settings.releasePin }),
            ...(settings.repository && { repository: settings.repository }),
            [PROVIDER_KEY]: this.providers.deploy,
        };
    }

    /** `pulumi preview`'s Check of the deploy against the recorded state: what the preview would show. */
    async preview(settings: Settings) {
        return this.host.check(
            dynamicUrn("render:Deploy", `${this.name}-deploy`),
            this.deploy?.inputs ?? {},
            this.deployInputs(settings),
        );
    }

    /** `pulumi up`: the variable, then the deploy, then its verification; the ops each took. */
    async up(settings: Settings) {
        const urn = (type: string, suffix: string) => dynamicUrn(type, `${this.name}-${suffix}`);
        const s = await upResource(
            this.host,
            urn("render:EnvVar", "DISABLE_SIGNUP"),
            {
                service: "ahoy-indie-media",
                key: "DISABLE_SIGNUP",
                value: settings.DISABLE_SIGNUP,
                apiUrl: this.emulator.baseUrl,
                [PROVIDER_KEY]: this.providers.envVar,
            },
            this.signup,
        );
        this.signup = s.state;
        const d = await upResource(this.host, urn("render:Deploy", "deploy"), this.deployInputs(settings), this.deploy);
        this.deploy = d.state;
        const plan = verificationPlan({
            disableSignup: settings.DISABLE_SIGNUP === "true",
            blockDirectMedia: false,
            stabilityWindowSeconds: 1,
        });
        const v = await upResource(
            this.host,
            urn("verify:Verification", "verify"),
            {
                serviceUrl: this.emulator.appUrl,
                deployId: this.deploy.outputs.deployId,
                ...plan,
                // The settle's seconds are not what these drills prove.
                settleSeconds: 1,
                checkTimeoutSeconds: 2,
                [PROVIDER_KEY]: this.providers.verification,
            },
            this.verification,
        );
        this.verification = v.state;
        return { signup: s.op, deploy: d.op, verification: v.op };
    }
}

describe("release pins through the dynamic-provider host, against the emulator and its stand-in app", function () {
    this.timeout(120_000);

    let emulator: Emulator;
    let host: ProviderHost;
    let providers: { envVar: string; deploy: string; verification: string };
    let gitDir: string;
    const emulators: Emulator[] = [];

    const writes = (from = 0) =>
        emulator
            .requests()
            .slice(from)
            .filter((r) => r.method !== "GET")
            .map((r) => renderRequestKind(r));
    /** The body of the first `method` request since request number `from`. */
    const bodyOf = (method: string, from: number) =>
        emulator
            .requests()
            .slice(from)
            .find((r) => r.method === method)?.body;

    before(async () => {
        emulator = await startEmulator({ port: 0, stepMs: 30 });
        emulators.push(emulator);
        providers = {
            envVar: envVarProvider.source,
            deploy: deployProvider.source,
            verification: verificationProvider.source,
        };
        host = await startProviderHost();
        await host.configure({ [RENDER_API_KEY_CONFIG]: secretWire(emulator.apiKey) });
        gitDir = fs.mkdtempSync(path.join(os.tmpdir(), "ahoy-release-pin-"));
    });

    after(async () => {
        await host?.close();
        await Promise.all(emulators.map((e) => e.close()));
        if (gitDir) fs.rmSync(gitDir, { recursive: true, force: true });
    });

    describe("the drills, in order on one service", () => {
        let stack: Stack;
        let goodDeployId: string;
        let goodCommit: string;
        /** The broken commit that was live when the tag was pinned. */
        let brokenAgain: string;

        before(() => {
            stack = new Stack(host, emulator, providers, "ahoy");
        });

        it("a first up deploys the live commit and verifies it: /healthz 200, then the settle", async () => {
            const ops = await stack.up({ DISABLE_SIGNUP: "false" });
            assert.deepEqual(ops, { signup: "create", deploy: "create", verification: "create" });
            goodDeployId = String(stack.deploy?.outputs.deployId);
            goodCommit = String(stack.deploy?.outputs.commitId);
            assert.equal(emulator.liveDeploy()?.id, goodDeployId);
            const results = stack.verification?.outputs.results as string[];
            assert.match(results[0], /^healthz: GET \/healthz answered 200/);
            assert.match(results[results.length - 1], /^settle: GET \/healthz for 1 s: \d+ requests, 0 errors/);
        });

        it("a bad commit pushed to main goes live by autodeploy, and the stand-in app's /healthz answers 500", async () => {
            const bad = emulator.pushCommit({ message: "broken release", bad: true });
            await waitFor("the bad commit is live", () => emulator.liveDeploy()?.commit.id === bad, PUSH_WAIT);
            const answer = await fetch(`${emulator.appUrl}/healthz`);
            assert.equal(answer.status, 500);
        });

        it("`pulumi preview --diff` of the pin shows it, the commit it resolves to, and autodeploy going off", async () => {
            const checked = await stack.preview({ DISABLE_SIGNUP: "false", releasePin: goodDeployId });
            assert.deepEqual(checked.failures, []);
            assert.equal(checked.inputs.releasePin, goodDeployId);
            assert.equal(checked.inputs.releaseCommit, goodCommit);
            assert.equal(checked.inputs.autoDeploy, "no");
        });

        it("pinning the last good deploy rolls back to it (reusing its build), turns autodeploy off first, and verifies healthy", async () => {
            const from = emulator.requests().length;
            const ops = await stack.up({ DISABLE_SIGNUP: "false", releasePin: goodDeployId });
            assert.deepEqual(ops, { signup: "same", deploy: "update", verification: "update" });
            assert.deepEqual(
                writes(from),
                ["PATCH /services/{id}", "POST /services/{id}/rollback"],
                "autodeploy off, then the rollback",
            );
            const live = emulator.liveDeploy();
            assert.equal(live?.trigger, "rollback");
            assert.equal(live?.commit.id, goodCommit);
            assert.equal(stack.deploy?.outputs.deployId, live?.id);
            assert.equal(emulator.service().autoDeploy, "no");
            assert.equal(stack.deploy?.outputs.autoDeployBeforePin, "yes", "the setting found is kept to restore");
            assert.match((stack.verification?.outputs.results as string[])[0], /^healthz: GET \/healthz answered 200/);
        });

        it("while pinned, a commit pushed to main is not deployed", async () => {
            const deploys = emulator.deploys().length;
            const pushed = emulator.pushCommit({ message: "work in progress" });
            await new Promise((resolve) => setTimeout(resolve, 300));
            assert.equal(emulator.deploys().length, deploys, "no deploy started for the push");
            assert.equal(emulator.liveDeploy()?.commit.id, goodCommit);
            assert.equal(emulator.branchHead(), pushed);
        });

        it("re-running `pulumi up` with the pin unchanged makes no request that writes, and verifies nothing again", async () => {
            const from = emulator.requests().length;
            const ops = await stack.up({ DISABLE_SIGNUP: "false", releasePin: goodDeployId });
            assert.deepEqual(ops, { signup: "same", deploy: "same", verification: "same" });
            assert.deepEqual(writes(from), []);
        });

        it("flipping DISABLE_SIGNUP while pinned deploys the pinned commit (not a rollback, which would run old variables); register now 503", async () => {
            const from = emulator.requests().length;
            const ops = await stack.up({ DISABLE_SIGNUP: "true", releasePin: goodDeployId });
            assert.deepEqual(ops, { signup: "update", deploy: "update", verification: "update" });
            assert.deepEqual(writes(from), ["PUT /services/{id}/env-vars/{key}", "POST /services/{id}/deploys"]);
            assert.deepEqual(bodyOf("POST", from), { commitId: goodCommit });
            assert.equal(emulator.liveDeploy()?.commit.id, goodCommit, "still the pinned code");
            assert.equal(emulator.liveEnv().DISABLE_SIGNUP, "true");
            assert.equal(emulator.service().autoDeploy, "no");
            const results = stack.verification?.outputs.results as string[];
            assert.ok(
                results.some((line) => /^signup disabled: POST \/api\/auth\/register answered 503/.test(line)),
                `the verification must have seen register answer 503:\n${results.join("\n")}`,
            );
        });

        it("a later rollback to the same deploy would drop the switch: pinning it again after the flip still deploys its commit", async () => {
            // Moving the pin to the good deploy's commit and back: the target predates the flip, so no rollback.
            await stack.up({ DISABLE_SIGNUP: "true", releasePin: goodCommit });
            const from = emulator.requests().length;
            await stack.up({ DISABLE_SIGNUP: "true", releasePin: goodDeployId });
            assert.deepEqual(writes(from), ["POST /services/{id}/deploys"], "a commit deploy, never POST /rollback");
            assert.equal(emulator.liveEnv().DISABLE_SIGNUP, "true", "the kill switch is still on");
        });

        it("`pulumi config rm releasePin` restores autodeploy as the pin found it and deploys the branch head", async () => {
            const from = emulator.requests().length;
            const ops = await stack.up({ DISABLE_SIGNUP: "true" });
            assert.deepEqual(ops, { signup: "same", deploy: "update", verification: "update" });
            assert.deepEqual(writes(from), ["PATCH /services/{id}", "POST /services/{id}/deploys"]);
            assert.deepEqual(bodyOf("PATCH", from), { autoDeploy: "yes" });
            assert.deepEqual(bodyOf("POST", from), {}, "no commitId: Render deploys the branch's latest commit");
            assert.equal(emulator.service().autoDeploy, "yes");
            assert.equal(emulator.liveDeploy()?.commit.id, emulator.branchHead());
            assert.equal(stack.deploy?.outputs.autoDeployBeforePin, undefined);
            assert.equal(stack.deploy?.outputs.releasePin, undefined);
        });

        it("pinning a git tag resolves it with git ls-remote in the preview, then deploys the tagged commit", async () => {
            // A real repository with a tagged release, whose commit the emulator's branch also has.
            const { remote, work } = initRepositories(gitDir);
            const tagged = commitEmpty(work, "v0.1.0");
            git(work, "tag", "-a", "-m", "release v0.1.0", "v0.1.0");
            git(work, "push", "--quiet", remote, "HEAD:refs/heads/main", "--tags");
            emulator.pushCommit({ message: "v0.1.0", sha: tagged });
            await waitFor("the tagged commit is live", () => emulator.liveDeploy()?.commit.id === tagged, PUSH_WAIT);
            brokenAgain = emulator.pushCommit({ message: "broken again", bad: true });
            await waitFor("the bad commit is live", () => emulator.liveDeploy()?.commit.id === brokenAgain, PUSH_WAIT);

            const checked = await stack.preview({ DISABLE_SIGNUP: "true", releasePin: "v0.1.0", repository: remote });
            assert.deepEqual(checked.failures, []);
            assert.equal(checked.inputs.releaseCommit, tagged, "the preview shows the SHA the tag resolves to");

            const from = emulator.requests().length;
            await stack.up({ DISABLE_SIGNUP: "true", releasePin: "v0.1.0", repository: remote });
            assert.deepEqual(writes(from), ["PATCH /services/{id}", "POST /services/{id}/deploys"]);
            assert.deepEqual(bodyOf("POST", from), { commitId: tagged });
            assert.equal(emulator.liveDeploy()?.commit.id, tagged);
            assert.equal(emulator.service().autoDeploy, "no");
            assert.equal(emulator.liveEnv().DISABLE_SIGNUP, "true");
        });

        it("a tag the repository does not have fails the preview, naming it", async () => {
            const checked = await stack.preview({
                DISABLE_SIGNUP: "true",
                releasePin: "v9.9.9",
                repository: path.join(gitDir, "ahoy.git"),
            });
            assert.deepEqual(
                checked.failures.map((f) => f.property),
                ["releasePin"],
            );
            assert.match(
                checked.failures[0].reason,
                /^releasePin v9\.9\.9: cannot resolve "v9\.9\.9": .*has no tag or branch of that name/,
            );
        });

        it("pinning a bad commit deploys it, then verification fails the `up` naming /healthz and the 500 it saw", async () => {
            await assert.rejects(stack.up({ DISABLE_SIGNUP: "true", releasePin: brokenAgain }), (err: Error) => {
                assert.match(
                    err.message,
                    /verify: after deploy dep-\S+, http:\/\/127\.0\.0\.1:\d+ failed a check; the app is not healthy after the deploy/,
                );
                assert.match(
                    err.message,
                    /- health: healthz: GET http:\/\/127\.0\.0\.1:\d+\/healthz answered 500, expected 200/,
                );
                return true;
            });
            assert.equal(
                emulator.liveDeploy()?.commit.id,
                brokenAgain,
                "the deploy itself went live; the check is what failed",
            );
        });
    });

    describe("the stand-in app", () => {
        it("answers as the LIVE deploy's variables say: a stored variable counts only once a deploy carrying it is live", async () => {
            const own = await startEmulator({ port: 0, stepMs: 10 });
            emulators.push(own);
            const ask = async (method: string, urlPath: string, body?: unknown) =>
                (
                    await fetch(`${own.appUrl}${urlPath}`, {
                        method,
                        ...(body !== undefined && { body: JSON.stringify(body) }),
                    })
                ).status;
            assert.equal(await ask("GET", "/media/uploads/probe.jpg"), 200);
            assert.equal(
                await ask("POST", "/api/auth/register", {}),
                400,
                "open signup refuses a body without an email",
            );
            assert.equal(await ask("POST", "/api/auth/register", { email: "new@ahoy.example" }), 201);
            own.setEnvVar("BLOCK_DIRECT_MEDIA", "true");
            own.setEnvVar("DISABLE_SIGNUP", "true");
            assert.equal(await ask("GET", "/media/uploads/probe.jpg"), 200, "stored, not yet deployed");
            const client = new RenderClient({ apiKey: own.apiKey, baseUrl: own.baseUrl });
            const deploy = await client.triggerDeploy(own.serviceId, { commitId: own.liveDeploy()?.commit.id });
            await client.waitForDeploy(own.serviceId, deploy.id, { firstPollMs: 20 });
            assert.equal(await ask("GET", "/media/uploads/probe.jpg"), 403);
            assert.equal(await ask("POST", "/api/auth/register", { email: "new@ahoy.example" }), 503);
            assert.equal(await ask("GET", "/healthz"), 200);
            assert.equal(await ask("GET", "/nowhere"), 404);
        });
    });

    describe("a rollback target whose build artifact Render no longer keeps", () => {
        it("fails with a message suggesting to pin its commit instead, and leaves autodeploy as it found it", async () => {
            const own = await startEmulator({ port: 0, stepMs: 20 });
            emulators.push(own);
            const ownHost = await startProviderHost();
            try {
                await ownHost.configure({ [RENDER_API_KEY_CONFIG]: secretWire(own.apiKey) });
                const stack = new Stack(ownHost, own, providers, "artifact");
                await stack.up({ DISABLE_SIGNUP: "false" });
                const target = String(stack.deploy?.outputs.deployId);
                const targetCommit = String(stack.deploy?.outputs.commitId);
                // Newer builds push the target's artifact out of the retained ones.
                for (let i = 0; i < RETAINED_BUILDS; i++) {
                    const sha = own.pushCommit({ message: `release ${i}` });
                    await waitFor(`release ${i} is live`, () => own.liveDeploy()?.commit.id === sha, PUSH_WAIT);
                }
                await assert.rejects(stack.up({ DISABLE_SIGNUP: "false", releasePin: target }), (err: Error) => {
                    assert.match(
                        err.message,
                        new RegExp(
                            `releasePin ${target}: Render cannot roll back to it \\(POST /services/srv-\\S+/rollback: 400 .*no longer retained`,
                        ),
                    );
                    assert.match(
                        err.message,
                        new RegExp(`pin its commit instead \\(pulumi config set releasePin ${targetCommit}\\)`),
                    );
                    assert.match(err.message, /Autodeploy was set back to "yes"\./);
                    return true;
                });
                assert.equal(own.service().autoDeploy, "yes");
                assert.equal(own.deploys().filter((d) => d.trigger === "rollback").length, 0);
            } finally {
                await ownHost.close();
            }
        });
    });
});
