// The Render dynamic providers (EnvVar, Deploy) as the engine drives them: Pulumi's own provider host, gRPC, the emulator.
import { strict as assert } from "node:assert";
import { startEmulator, type Emulator } from "../emulator";
import { RenderClient } from "../lib/render/client";
import { envVarProvider, RENDER_API_KEY_CONFIG } from "../components/render/envVar";
import { deployProvider } from "../components/render/deploy";
import {
    dynamicUrn,
    PROVIDER_KEY,
    type Props,
    type ProviderHost,
    refreshResource,
    renderRequestKind,
    type ResourceState,
    secretWire,
    startProviderHost,
    upResource,
} from "./support/providerHost";

const SECRET_VALUE = "s3cr3t-value-that-must-never-be-printed";

describe("Render providers through the dynamic-provider host", function () {
    this.timeout(60_000);

    let emulator: Emulator;
    let host: ProviderHost;
    let envVarText: string;
    let deployText: string;
    const hosts: ProviderHost[] = [];
    const errorMessages: string[] = [];

    const envVarUrn = (name: string) => dynamicUrn("render:EnvVar", name);
    const deployUrn = (name: string) => dynamicUrn("render:Deploy", name);
    const envVarInputs = (key: string, value: unknown, service: string = emulator.serviceId): Props => ({
        service,
        key,
        value,
        apiUrl: emulator.baseUrl,
        [PROVIDER_KEY]: envVarText,
    });
    const deployInputs = (revisions: Record<string, unknown>): Props => ({
        service: "ahoy-indie-media",
        apiUrl: emulator.baseUrl,
        revisions,
        [PROVIDER_KEY]: deployText,
    });
    const kinds = () => emulator.requests().map(renderRequestKind);
    const count = (kind: string) => kinds().filter((k) => k === kind).length;
    const writes = () => emulator.requests().filter((r) => r.method !== "GET");

    async function started(env: NodeJS.ProcessEnv, config: Props): Promise<ProviderHost> {
        const started = await startProviderHost(env);
        hosts.push(started);
        await started.configure(config);
        return started;
    }

    async function rejection(work: Promise<unknown>): Promise<Error> {
        try {
            await work;
        } catch (err) {
            errorMessages.push((err as Error).message);
            return err as Error;
        }
        assert.fail("expected the provider call to fail, and it succeeded");
    }

    before(async () => {
        emulator = await startEmulator({ port: 0, stepMs: 30 });
        [envVarText, deployText] = [envVarProvider.source, deployProvider.source];
        // The engine hands a secret config value to the host wrapped as a secret, as here.
        host = await started({}, { [RENDER_API_KEY_CONFIG]: secretWire(emulator.apiKey) });
    });

    after(async () => {
        await Promise.all(hosts.map((h) => h.close()));
        await emulator?.close();
    });

    describe("EnvVar", () => {
        it("check rejects a key Render would not accept and an apiUrl that is not a URL, naming each", async () => {
            const checked = await host.check(
                envVarUrn("bad"),
                {},
                { ...envVarInputs("1BAD KEY", SECRET_VALUE), apiUrl: "render" },
            );
            const byProperty = Object.fromEntries(checked.failures.map((f) => [f.property, f.reason]));
            assert.deepEqual(Object.keys(byProperty).sort(), ["apiUrl", "key"]);
            assert.match(byProperty.key, /"1BAD KEY" is not a Render environment variable name: use letters, digits/);
            assert.match(
                byProperty.apiUrl,
                /apiUrl is not a URL; expected https:\/\/api\.render\.com\/v1, or an http\(s\) URL on a loopback address/,
            );
            assert.ok(
                !JSON.stringify(checked.failures).includes(SECRET_VALUE),
                "a check failure must not show the value",
            );
        });

        it("is written, updated, refreshed and unset one key at a time; a hand-set variable survives, and removing it leaves it", async () => {
            emulator.setEnvVar("HAND_SET_NOTE", "set in the dashboard");
            emulator.clearRequests();
            const urn = envVarUrn("signup");

            const created = await upResource(host, urn, envVarInputs("DISABLE_SIGNUP", "false"));
            assert.equal(created.op, "create");
            assert.equal(created.state.id, `${emulator.serviceId}/DISABLE_SIGNUP`);
            assert.equal(created.state.outputs.serviceId, emulator.serviceId);
            assert.equal(emulator.envVars().DISABLE_SIGNUP, "false");

            const updated = await upResource(host, urn, envVarInputs("DISABLE_SIGNUP", "true"), created.state);
            assert.equal(updated.op, "update");
            assert.equal(updated.state.outputs.value, "true");
            assert.equal(emulator.envVars().DISABLE_SIGNUP, "true");

            // Someone changes it in the dashboard: refresh sees it, and the next up puts the program's value back.
            emulator.setEnvVar("DISABLE_SIGNUP", "changed by hand");
            const refreshed = await refreshResource(host, updated.state);
            assert.ok(refreshed, "the variable still exists, so refresh must keep it");
            assert.equal(refreshed.outputs.value, "changed by hand");
            assert.equal(refreshed.inputs.value, "changed by hand");
            const reapplied = await upResource(host, urn, envVarInputs("DISABLE_SIGNUP", "true"), refreshed);
            assert.equal(reapplied.diff?.changes, "some", "the drift must show as a diff against the program");
            assert.equal(reapplied.op, "update");
            assert.equal(emulator.envVars().DISABLE_SIGNUP, "true");

            // Unset, it is deleted, in an update.
            const unset = await upResource(host, urn, envVarInputs("DISABLE_SIGNUP", undefined), reapplied.state);
            assert.equal(unset.op, "update");
            assert.equal(emulator.envVars().DISABLE_SIGNUP, undefined);
            const gone = await refreshResource(host, unset.state);
            assert.ok(gone, "a managed key stays managed when Render has no such variable");
            assert.equal(gone.outputs.value, undefined, "a deleted variable must read as absent");
            assert.ok(!("value" in gone.inputs), "the refreshed inputs say absent, so the next up writes it again");

            // Removing the resource lets go: the variable stays as it is (the stack's ServiceOwner puts switches back as
            // found on destroy; a renamed resource's old self must not delete what its new self wrote).
            emulator.setEnvVar("DISABLE_SIGNUP", "true");
            await host.delete(reapplied.state.id, urn, reapplied.state.outputs);
            assert.equal(emulator.envVars().DISABLE_SIGNUP, "true");

            assert.equal(emulator.envVars().HAND_SET_NOTE, "set in the dashboard");
            assert.equal(count("PUT /services/{id}/env-vars"), 0, "the whole-set PUT must never be used");
            assert.equal(count("PUT /services/{id}/env-vars/{key}"), 3);
            assert.deepEqual(
                writes().map((r) => `${r.method} ${r.path.replace(/^\/v1/, "")}`),
                [
                    ...Array(3).fill(`PUT /services/${emulator.serviceId}/env-vars/DISABLE_SIGNUP`),
                    `DELETE /services/${emulator.serviceId}/env-vars/DISABLE_SIGNUP`,
                ],
            );
        });

        it("diff names exactly what changed: value updates, key or service replaces, apiUrl alone updates the state", async () => {
            const urn = envVarUrn("diff");
            const olds = {
                ...envVarInputs("MAINTENANCE_MODE", "false", "ahoy-indie-media"),
                serviceId: emulator.serviceId,
            };
            emulator.clearRequests();
            const diff = (news: Props) => host.diff(`${emulator.serviceId}/MAINTENANCE_MODE`, urn, olds, news);

            assert.deepEqual(await diff(envVarInputs("MAINTENANCE_MODE", "false", "ahoy-indie-media")), {
                changes: "none",
                replaces: [],
                deleteBeforeReplace: false,
            });
            assert.deepEqual(await diff(envVarInputs("MAINTENANCE_MODE", "true", "ahoy-indie-media")), {
                changes: "some",
                replaces: [],
                deleteBeforeReplace: false,
            });
            assert.deepEqual(await diff(envVarInputs("MAINTENANCE", "false", "ahoy-indie-media")), {
                changes: "some",
                replaces: ["key"],
                deleteBeforeReplace: true,
            });
            assert.deepEqual(await diff(envVarInputs("MAINTENANCE_MODE", "false", "ahoy-staging")), {
                changes: "some",
                replaces: ["service"],
                deleteBeforeReplace: true,
            });
            // A new apiUrl is an update that writes nothing: the outputs must follow, or refresh and delete would
            // still call the old URL.
            assert.deepEqual(
                await diff({
                    ...envVarInputs("MAINTENANCE_MODE", "false", "ahoy-indie-media"),
                    apiUrl: "https://api.render.com/v1",
                }),
                { changes: "some", replaces: [], deleteBeforeReplace: false },
            );
            assert.equal(
                (await diff(envVarInputs("MAINTENANCE_MODE", "false", emulator.serviceId))).changes,
                "none",
                "its own srv- id is the same service",
            );
            assert.equal(emulator.requests().length, 0, "a diff (a preview) must not call Render");
        });

        it("an absent value deletes the variable in an update, with a new revision the deploy follows", async () => {
            const urn = envVarUrn("rate-limit");
            emulator.clearRequests();
            const set = await upResource(host, urn, envVarInputs("RATE_LIMIT_AUTH", "3 per minute"));
            assert.equal(emulator.envVars().RATE_LIMIT_AUTH, "3 per minute");
            const lifted = await upResource(host, urn, { ...envVarInputs("RATE_LIMIT_AUTH", undefined) }, set.state);
            assert.equal(
                lifted.op,
                "update",
                "lifting a limit is an update (the engine would delete a removed resource last)",
            );
            assert.equal(emulator.envVars().RATE_LIMIT_AUTH, undefined, "the variable is gone from the service");
            assert.notEqual(
                lifted.state.outputs.revision,
                set.state.outputs.revision,
                "the delete is a write: new revision",
            );
            assert.equal(lifted.state.outputs.value, undefined);
            const again = await upResource(host, urn, envVarInputs("RATE_LIMIT_AUTH", undefined), lifted.state);
            assert.equal(again.op, "same", "an absent variable that stays absent is not touched again");
            assert.deepEqual(writes().map(renderRequestKind), [
                "PUT /services/{id}/env-vars/{key}",
                "DELETE /services/{id}/env-vars/{key}",
            ]);
        });

        it("every write has a revision of its own, even one that sets a value back; an apiUrl-only change keeps it", async () => {
            const urn = envVarUrn("revision");
            const a = await upResource(host, urn, envVarInputs("ENABLE_SIGNED_URLS", "true"));
            const b = await upResource(host, urn, envVarInputs("ENABLE_SIGNED_URLS", "false"), a.state);
            const c = await upResource(host, urn, envVarInputs("ENABLE_SIGNED_URLS", "true"), b.state);
            const revisions = [a, b, c].map((r) => String(r.state.outputs.revision));
            assert.equal(new Set(revisions).size, 3, `three writes, three revisions: ${revisions.join(", ")}`);
            emulator.clearRequests();
            const moved = await upResource(
                host,
                urn,
                { ...envVarInputs("ENABLE_SIGNED_URLS", "true"), apiUrl: `${emulator.baseUrl}/` },
                c.state,
            );
            assert.equal(moved.op, "update");
            assert.equal(moved.state.outputs.apiUrl, `${emulator.baseUrl}/`, "the outputs carry the new apiUrl");
            assert.equal(moved.state.outputs.revision, c.state.outputs.revision, "nothing written: the revision stays");
            assert.deepEqual(writes(), [], "an apiUrl change writes nothing to Render");
        });

        it("resolves a service given by name to its srv- id", async () => {
            emulator.clearRequests();
            const { state } = await upResource(
                host,
                envVarUrn("by-name"),
                envVarInputs("BLOCK_DIRECT_MEDIA", "false", "ahoy-indie-media"),
            );
            assert.equal(state.outputs.serviceId, emulator.serviceId);
            assert.equal(state.outputs.service, "ahoy-indie-media");
            const lookup = emulator.requests().find((r) => renderRequestKind(r) === "GET /services");
            assert.equal(lookup?.query.name, "ahoy-indie-media");
            assert.equal(emulator.envVars().BLOCK_DIRECT_MEDIA, "false");
        });

        it("writes a secret the engine sends wrapped as its plain value, keeps it wrapped through check, and never prints it", async () => {
            const urn = envVarUrn("secret");
            const news = envVarInputs("SECRET_KEY", secretWire(SECRET_VALUE));
            const checked = await host.check(urn, {}, news);
            assert.deepEqual(
                checked.inputs.value,
                secretWire(SECRET_VALUE),
                "check must hand the secret back still marked secret",
            );
            const created = await host.create(urn, checked.inputs);
            assert.equal(emulator.envVars().SECRET_KEY, SECRET_VALUE);
            assert.equal(created.properties.value, SECRET_VALUE);
            assert.ok(!host.output().includes(SECRET_VALUE), "the provider host's output must not contain the value");
        });
    });

    // The tests below run in order on one stack: each continues from the state (and the deploys) the previous one left.
    describe("Deploy", () => {
        const urn = deployUrn("ahoy-indie-media");
        let signup: ResourceState;
        let maintenance: ResourceState;
        let deploy: ResourceState;
        let liveCommit: string;

        // A stack of two kill switches and the deploy that follows their writes, converged as `pulumi up` would.
        async function up(values: { DISABLE_SIGNUP: string; MAINTENANCE_MODE: string }) {
            const s = await upResource(
                host,
                envVarUrn("DISABLE_SIGNUP"),
                envVarInputs("DISABLE_SIGNUP", values.DISABLE_SIGNUP),
                signup,
            );
            const m = await upResource(
                host,
                envVarUrn("MAINTENANCE_MODE"),
                envVarInputs("MAINTENANCE_MODE", values.MAINTENANCE_MODE),
                maintenance,
            );
            [signup, maintenance] = [s.state, m.state];
            const revisions = {
                DISABLE_SIGNUP: signup.outputs.revision,
                MAINTENANCE_MODE: maintenance.outputs.revision,
            };
            const d = await upResource(host, urn, deployInputs(revisions), deploy);
            deploy = d.state;
            return { signup: s.op, maintenance: m.op, deploy: d.op };
        }

        before(async () => {
            // Autodeploy off, so a push moves the branch without deploying it: the flip must still ship the live commit.
            await new RenderClient({ apiKey: emulator.apiKey, baseUrl: emulator.baseUrl }).updateAutoDeploy(
                emulator.serviceId,
                "no",
            );
            const ops = await up({ DISABLE_SIGNUP: "false", MAINTENANCE_MODE: "false" });
            assert.deepEqual(ops, { signup: "create", maintenance: "create", deploy: "create" });
            assert.equal(deploy.outputs.status, "live");
            liveCommit = String(deploy.outputs.commitId);
        });

        it("a flag flip makes one variable write and one deploy trigger, without a build, and ships the live commit though the branch moved", async () => {
            const head = emulator.pushCommit({ message: "unreleased work" });
            assert.notEqual(head, liveCommit);
            emulator.clearRequests();

            const ops = await up({ DISABLE_SIGNUP: "true", MAINTENANCE_MODE: "false" });

            assert.deepEqual(ops, { signup: "update", maintenance: "same", deploy: "update" });
            assert.deepEqual(
                writes().map(renderRequestKind),
                ["PUT /services/{id}/env-vars/{key}", "POST /services/{id}/deploys"],
                "a flip must cost one variable write and one deploy trigger",
            );
            const trigger = writes().find((r) => r.method === "POST");
            assert.deepEqual(trigger?.body, { deployMode: "deploy_only" }, "the live build is reused: no build");
            assert.ok(
                !emulator.deploys().some((d) => d.id === deploy.outputs.deployId && d.status === "build_in_progress"),
            );
            assert.equal(emulator.liveDeploy()?.commit.id, liveCommit, "the live commit must not change");
            assert.equal(emulator.liveDeploy()?.id, deploy.outputs.deployId);
            assert.equal(emulator.liveEnv().DISABLE_SIGNUP, "true", "the live deploy must run the new value");
            assert.equal(deploy.outputs.status, "live");
            assert.equal(deploy.outputs.commitId, liveCommit);
        });

        it("reports the deploy's statuses as it goes, through the provider host's log", () => {
            const deployId = String(deploy.outputs.deployId);
            const lines = host
                .output()
                .split("\n")
                .filter((line) => line.includes(deployId));
            const ours = lines.filter((line) => line.includes("ahoy-indie-media: deploy"));
            assert.match(
                ours[0] ?? "",
                /deploy dep-\S+ of the live commit [0-9a-f]{7} \(no build: dep-\S+'s build reused\) triggered \((created|queued|update_in_progress)\)/,
                lines.join("\n"),
            );
            assert.match(ours[ours.length - 1] ?? "", /deploy dep-\S+ live$/, lines.join("\n"));
            assert.equal(new Set(ours).size, ours.length, `each status is reported once:\n${ours.join("\n")}`);
        });

        it("a re-run with nothing changed: every Diff says no change and Render sees no request at all", async () => {
            emulator.clearRequests();
            const ops = await up({ DISABLE_SIGNUP: "true", MAINTENANCE_MODE: "false" });
            assert.deepEqual(ops, { signup: "same", maintenance: "same", deploy: "same" });
            assert.deepEqual(kinds(), []);
        });

        it("a variable let go (`config rm databaseAppHost`, a renamed resource's old self) deploys nothing: its delete wrote nothing", async () => {
            const converged = deploy;
            emulator.clearRequests();
            const d = await upResource(host, urn, deployInputs({ DISABLE_SIGNUP: signup.outputs.revision }), deploy);
            assert.equal(d.op, "update", "the recorded set of revisions must follow the program");
            assert.deepEqual(d.state.outputs.revisions, { DISABLE_SIGNUP: signup.outputs.revision });
            assert.equal(
                d.state.outputs.deployId,
                converged.outputs.deployId,
                "the recorded deploy stays the live one",
            );
            assert.deepEqual(writes().map(renderRequestKind), [], "no variable write and no deploy trigger");
            deploy = converged; // Render saw nothing: the two-key state is still what it runs
        });

        // A 500 to the deploy trigger itself is never resent (Render may have acted): test/truthfulUp.test.ts drills it.
        it("rides out injected 429s on the write and the trigger, and a 503 on a poll, without an extra write or deploy", async () => {
            emulator.clearRequests();
            emulator.inject({
                method: "PUT",
                path: /\/env-vars\/MAINTENANCE_MODE$/,
                status: 429,
                count: 2,
                retryAfterSeconds: 1,
            });
            emulator.inject({ method: "POST", path: /\/deploys$/, status: 429, count: 1, retryAfterSeconds: 0 });
            emulator.inject({ method: "GET", path: /\/deploys\/dep-/, status: 503, count: 1 });

            const ops = await up({ DISABLE_SIGNUP: "true", MAINTENANCE_MODE: "true" });

            assert.deepEqual(ops, { signup: "same", maintenance: "update", deploy: "update" });
            const statuses = (kind: string) =>
                emulator
                    .requests()
                    .filter((r) => renderRequestKind(r) === kind)
                    .map((r) => r.status);
            assert.deepEqual(statuses("PUT /services/{id}/env-vars/{key}"), [429, 429, 200]);
            assert.deepEqual(statuses("POST /services/{id}/deploys"), [429, 201]);
            assert.equal(emulator.liveEnv().MAINTENANCE_MODE, "true");
            assert.equal(deploy.outputs.status, "live");
        });

        it("refresh reads the recorded deploy's current status, and a superseded one reads as deactivated", async () => {
            const current = await refreshResource(host, deploy);
            assert.equal(current?.outputs.status, "live");
            assert.deepEqual(current?.inputs, deploy.inputs, "a refresh must leave no diff on the inputs");
            const older = { ...deploy, outputs: { ...deploy.outputs, deployId: emulator.deploys()[1].id } };
            assert.equal((await refreshResource(host, older))?.outputs.status, "deactivated");
        });

        it("after a newer commit built but failed its update, a flip builds the live commit: a reuse would ship that build", async () => {
            // A push whose build succeeds (Render keeps it as the last successful build) and whose update fails.
            const broken = emulator.pushCommit({ message: "builds, then fails to start", failUpdate: true });
            const render = new RenderClient({ apiKey: emulator.apiKey, baseUrl: emulator.baseUrl });
            const attempt = await render.triggerDeploy(emulator.serviceId, { commitId: broken });
            await render.waitForDeploy(emulator.serviceId, attempt.id, { firstPollMs: 20 }).catch(() => undefined);
            assert.equal(emulator.deploys().find((d) => d.id === attempt.id)?.status, "update_failed");
            emulator.clearRequests();

            await up({ DISABLE_SIGNUP: "false", MAINTENANCE_MODE: "true" });
            const trigger = writes().find((r) => r.method === "POST");
            assert.deepEqual(trigger?.body, { commitId: liveCommit }, "the live commit is built again");
            assert.equal(emulator.liveDeploy()?.commit.id, liveCommit, "the broken commit's build was not shipped");
            assert.match(
                host.output(),
                new RegExp(
                    `builds commit ${liveCommit.slice(0, 7)} again, because deploy ${attempt.id} of commit ${broken.slice(0, 7)} \\(update_failed\\) is newer than the live one`,
                ),
            );
        });

        it("a failing build fails the Deploy with a message naming build_failed, the deploy id and the request id", async () => {
            // Another push built and failed to start, so this flip must build the live commit; and that build fails.
            const broken = emulator.pushCommit({ message: "builds, then fails to start, again", failUpdate: true });
            const render = new RenderClient({ apiKey: emulator.apiKey, baseUrl: emulator.baseUrl });
            const attempt = await render.triggerDeploy(emulator.serviceId, { commitId: broken });
            await render.waitForDeploy(emulator.serviceId, attempt.id, { firstPollMs: 20 }).catch(() => undefined);
            emulator.failBuild(liveCommit);
            emulator.clearRequests();
            const failed = await rejection(up({ DISABLE_SIGNUP: "true", MAINTENANCE_MODE: "true" }));
            assert.match(
                failed.message,
                /Render deploy dep-[0-9a-z]+ of commit [0-9a-f]{7} ended build_failed \(request id [^)]+\)/,
            );
            assert.equal(emulator.envVars().DISABLE_SIGNUP, "true", "the variable write happens before the deploy");
            assert.equal(emulator.liveDeploy()?.commit.id, liveCommit, "Render keeps the previous deploy live");
            assert.equal(emulator.liveEnv().DISABLE_SIGNUP, "false", "the failed deploy's values are not running");
        });

        it("deleting a Deploy makes no request to Render: a deploy cannot be undone", async () => {
            emulator.clearRequests();
            await host.delete(deploy.id, urn, deploy.outputs);
            assert.deepEqual(kinds(), []);
        });
    });

    describe("credentials", () => {
        it("reads the API key from RENDER_API_KEY when the stack config has none", async () => {
            const envHost = await started({ RENDER_API_KEY: emulator.apiKey }, {});
            const { state } = await upResource(
                envHost,
                envVarUrn("from-env"),
                envVarInputs("SIGNED_URL_EXPIRY", "300"),
            );
            assert.equal(state.outputs.serviceId, emulator.serviceId);
            assert.equal(emulator.envVars().SIGNED_URL_EXPIRY, "300");
        });

        it("fails naming both places to set it when neither the config nor RENDER_API_KEY has a key", async () => {
            const bare = await started({}, {});
            emulator.clearRequests();
            const failed = await rejection(
                bare.create(envVarUrn("no-key"), envVarInputs("ENABLE_SIGNED_URLS", "true")),
            );
            assert.match(
                failed.message,
                /No Render API key: set the secret stack config "ahoy-ops:renderApiKey" .* or the RENDER_API_KEY environment variable/,
            );
            assert.deepEqual(kinds(), [], "nothing is sent without a key");
        });

        it("the serialized providers carry no API key and no value, only the name of the code the host requires", async () => {
            process.env.RENDER_API_KEY = emulator.apiKey;
            try {
                for (const [name, provider] of [
                    ["EnvVar", envVarProvider],
                    ["Deploy", deployProvider],
                ] as const) {
                    const text = provider.source;
                    assert.ok(!text.includes(emulator.apiKey), `the serialized ${name} provider contains the API key`);
                    assert.ok(
                        !text.includes(SECRET_VALUE),
                        `the serialized ${name} provider contains a variable's value`,
                    );
                    // The state carries only the type's name; the registry finds the implementation, and the key is looked up, in the host.
                    assert.ok(
                        text.includes(`"render:${name}"`) && text.includes("components/providers.ts"),
                        `the serialized ${name} provider should name its type render:${name} and the registry`,
                    );
                    assert.ok(
                        text.length < 8_000,
                        `the serialized ${name} provider is ${text.length} characters: it should not carry the client`,
                    );
                    assert.equal(
                        text,
                        name === "EnvVar" ? envVarText : deployText,
                        `every ${name} resource must carry the same provider text`,
                    );
                }
            } finally {
                delete process.env.RENDER_API_KEY;
            }
        });

        // Runs last: it reads every host's output and the error messages the failure tests above collected.
        it("no host output or error message carries the API key or a secret value", () => {
            const printed = [...hosts.map((h) => h.output()), ...errorMessages].join("\n");
            assert.ok(errorMessages.length >= 2, "the failure tests above must have run");
            assert.ok(!printed.includes(emulator.apiKey), "the API key was printed");
            assert.ok(!printed.includes(SECRET_VALUE), "a secret value was printed");
        });
    });
});
