// The Render API key goes only to Render's API or a loopback emulator. A renderApiUrl elsewhere is refused before any
// request: by the program's config load, by the providers' `check` at preview (a state or an older program may hand one
// over), and by the client itself on refresh and delete. A recording listener stands where the key would have gone: every
// name under .attacker.test resolves to it in the processes under test (test/support/attackerDns.js).
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { deployProvider } from "../components/render/deploy";
import { envVarProvider, RENDER_API_KEY_CONFIG } from "../components/render/envVar";
import { serviceOwnerProvider } from "../components/render/serviceOwner";
import { RenderClient } from "../lib/render/client";
import { dynamicUrn, PROVIDER_KEY, type ProviderHost, secretWire, startProviderHost } from "./support/providerHost";
import { startRecordingListener, type RecordingListener } from "./support/recordingListener";

const run = promisify(execFile);
const root = path.join(__dirname, "..");
const ATTACKER_DNS = path.join(__dirname, "support", "attackerDns.js");
const API_KEY = "rnd_the_key_that_must_never_leave";

describe("renderApiUrl: the Render API key goes only to Render or a loopback emulator", function () {
    this.timeout(60_000);
    let listener: RecordingListener;
    let host: ProviderHost;
    let foreignUrl: string;
    const errors: string[] = [];

    const envVarInputs = (apiUrl: string) => ({
        service: "ahoy-indie-media",
        key: "DISABLE_SIGNUP",
        value: "true",
        apiUrl,
        [PROVIDER_KEY]: envVarProvider.source,
    });
    // A variable's revision changed: the Deploy's check asks Render which kind of deploy will follow.
    const deployInputs = (apiUrl: string) => ({
        service: "ahoy-indie-media",
        apiUrl,
        revisions: { DISABLE_SIGNUP: "rev-2" },
        [PROVIDER_KEY]: deployProvider.source,
    });
    const deployOlds = (apiUrl: string) => ({ ...deployInputs(apiUrl), revisions: { DISABLE_SIGNUP: "rev-1" } });

    async function refused(work: Promise<unknown>): Promise<string> {
        try {
            await work;
        } catch (err) {
            errors.push((err as Error).message);
            return (err as Error).message;
        }
        assert.fail("expected the provider call to be refused, and it succeeded");
    }

    before(async () => {
        listener = await startRecordingListener();
        foreignUrl = `http://api.render.com.attacker.test:${listener.port}/v1`;
        host = await startProviderHost({ RENDER_API_KEY: API_KEY, NODE_OPTIONS: `--require ${ATTACKER_DNS}` });
        await host.configure({ [RENDER_API_KEY_CONFIG]: secretWire(API_KEY) });
    });

    after(async () => {
        await host?.close();
        await listener?.close();
    });

    it("the listener is reachable under the foreign name: a request sent there would be seen", async () => {
        const script = `fetch(${JSON.stringify(`${foreignUrl}/services`)}).then((r) => r.text())`;
        await run(process.execPath, ["--require", ATTACKER_DNS, "-e", script]);
        assert.deepEqual(
            listener.received().map((r) => r.url),
            ["/v1/services"],
        );
    });

    it("a preview's checks refuse the foreign apiUrl, naming it, and send no request at all", async () => {
        const before = listener.received().length;
        const envVar = await host.check(
            dynamicUrn("render:EnvVar", "ahoy-DISABLE_SIGNUP"),
            {},
            envVarInputs(foreignUrl),
        );
        const deploy = await host.check(
            dynamicUrn("render:Deploy", "ahoy-deploy"),
            deployOlds(foreignUrl),
            deployInputs(foreignUrl),
        );
        for (const { failures } of [envVar, deploy]) {
            assert.deepEqual(
                failures.map((f) => f.property),
                ["apiUrl"],
            );
            assert.match(
                failures[0].reason,
                /apiUrl would send the Render API key to api\.render\.com\.attacker\.test, which is neither Render's API nor a loopback address; expected https:\/\/api\.render\.com\/v1, or an http\(s\) URL on a loopback address .*`pulumi config rm renderApiUrl`/,
            );
        }
        assert.equal(listener.received().length, before, "the listener received a request");
    });

    it("a state that recorded the foreign apiUrl gets no request on refresh or delete", async () => {
        const before = listener.received().length;
        const recorded = { ...envVarInputs(foreignUrl), serviceId: "srv-d0abcdefghijklmnopqr", revision: "rev-1" };
        const urn = dynamicUrn("render:EnvVar", "ahoy-DISABLE_SIGNUP");
        const id = "srv-d0abcdefghijklmnopqr/DISABLE_SIGNUP";
        const refusal = /the API URL would send the Render API key to api\.render\.com\.attacker\.test/;
        assert.match(await refused(host.read(id, urn, recorded, envVarInputs(foreignUrl))), refusal);
        // A variable's delete leaves it on the service and asks Render nothing (letting go is the owner's).
        await host.delete(id, urn, recorded);
        // The owner's delete (a destroy puts the switches back as found) is where a state's apiUrl would be used.
        const owner = {
            service: "ahoy-indie-media",
            apiUrl: foreignUrl,
            stack: "organization/ahoy-ops/prod",
            generations: { secretKey: 1 },
            switches: ["DISABLE_SIGNUP"],
            secrets: ["SECRET_KEY"],
            serviceId: "srv-d0abcdefghijklmnopqr",
            claim: "claim-1",
            since: "2026-12-01T03:00:00.000Z",
            [PROVIDER_KEY]: serviceOwnerProvider.source,
        };
        assert.match(
            await refused(
                host.delete("srv-d0abcdefghijklmnopqr", dynamicUrn("render:ServiceOwner", "ahoy-owner"), owner),
            ),
            refusal,
        );
        assert.equal(listener.received().length, before, "the listener received a request");
    });

    it("the same check against a loopback emulator does ask it (the control: this harness sees a request that is sent)", async () => {
        const before = listener.received().length;
        const loopback = `http://127.0.0.1:${listener.port}/v1`;
        const checked = await host.check(
            dynamicUrn("render:Deploy", "ahoy-deploy"),
            deployOlds(loopback),
            deployInputs(loopback),
        );
        assert.deepEqual(checked.failures, []);
        const asked = listener.received().slice(before);
        assert.ok(asked.length > 0, "the Deploy's check asked nothing");
        assert.equal(asked[0].headers.authorization, `Bearer ${API_KEY}`);
    });

    it("the program's own config load refuses it before declaring anything, listing the problem", async () => {
        const before = listener.received().length;
        const failure = await run(process.execPath, [path.join(root, "scripts", "load-like-cli.js")], {
            cwd: root,
            env: {
                ...process.env,
                NODE_OPTIONS: `--require ${ATTACKER_DNS}`,
                RENDER_API_KEY: API_KEY,
                AHOY_CONFIG_OVERRIDES: JSON.stringify({ "ahoy-ops:renderApiUrl": foreignUrl }),
            },
        }).then(
            () => assert.fail("the program loaded with a foreign renderApiUrl"),
            (err: { stderr: string }) => err.stderr,
        );
        assert.match(failure, /The stack's configuration has 1 problem; nothing was changed:/);
        assert.match(
            failure,
            /- renderApiUrl: got "http:\/\/api\.render\.com\.attacker\.test:\d+\/v1": would send the Render API key to api\.render\.com\.attacker\.test/,
        );
        assert.equal(listener.received().length, before, "the listener received a request");
    });

    it("the Render client refuses to be built for a foreign URL, so no script that builds one can send the key", () => {
        assert.throws(
            () => new RenderClient({ apiKey: API_KEY, baseUrl: foreignUrl }),
            /RenderClient: the API URL would send the Render API key to api\.render\.com\.attacker\.test/,
        );
        assert.ok(new RenderClient({ apiKey: API_KEY, baseUrl: `http://127.0.0.1:${listener.port}/v1` }));
    });

    it("no message and no host output carries the API key", () => {
        assert.ok(errors.length >= 2, "the refusals above must have run");
        assert.ok(![...errors, host.output()].join("\n").includes(API_KEY));
    });
});
