// The `__provider` text the state carries: it finds its implementation through the registry and loads TypeScript with
// tsx whatever handler node itself has for `.ts` files.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { envVarProvider } from "../components/render/envVar";
import { incidentProvider } from "../components/comms/incident";
import { startProviderHost } from "./support/providerHost";

const run = promisify(execFile);
const root = path.join(__dirname, "..");

describe("the dynamic providers' text, as the provider host loads it", function () {
    this.timeout(30_000);

    it("registers tsx even where node already has a .ts handler (Node 23.6 to 24.3 define one that cannot load these files)", async () => {
        // A fresh plain node (no tsx), whose own .ts handler fails as node's type stripping fails on this project. The
        // check of a recorded variable reads nothing at Render (a first one reads what adoption would take over).
        const script = `
            require.extensions[".ts"] = () => { throw new Error("node's own .ts handler cannot load this file"); };
            const provider = require("require-from-string")(${JSON.stringify(envVarProvider.source)}).handler();
            const olds = { service: "ahoy-indie-media", key: "DISABLE_SIGNUP", value: "false", apiUrl: "https://api.render.com/v1" };
            provider.check(olds, { ...olds, value: "true" })
                .then((result) => console.log(JSON.stringify(result)), (err) => { console.error(err.message); process.exit(1); });
        `;
        const { stdout } = await run(process.execPath, ["-e", script], {
            cwd: root,
            env: { ...process.env, NODE_OPTIONS: "" },
        });
        const result = JSON.parse(stdout) as { failures: unknown[] };
        assert.deepEqual(result.failures, [], "the provider loaded through tsx and checked the inputs");
    });

    it("names the known types when the state asks for one the registry does not have", async () => {
        const text = envVarProvider.source.replace('"render:EnvVar"', '"render:Nothing"');
        const script = `require("require-from-string")(${JSON.stringify(text)}).handler().create({}).catch((err) => { console.log(err.message); });`;
        const { stdout } = await run(process.execPath, ["-e", script], {
            cwd: root,
            env: { ...process.env, NODE_OPTIONS: "" },
        });
        assert.match(
            stdout,
            /no dynamic provider implementation for render:Nothing; known: render:EnvVar, render:Deploy/,
        );
    });
});

describe("what the providers answer, as the provider host writes it", function () {
    this.timeout(30_000);

    it("an undefined property in a read result is left out, not refused by the host (pulumi refresh of an idle incident)", async () => {
        const host = await startProviderHost();
        await host.configure({});
        try {
            // An incident resource recorded with no incident open: its state has no `incident` property.
            const props = {
                __provider: incidentProvider.source,
                progress: "no switch is on",
                source: "ahoy-indie-media",
            };
            const read = await host.read(
                "idle",
                "urn:pulumi:test::ahoy-ops::pulumi-nodejs:dynamic/comms:Incident::ahoy-incident",
                props,
                props,
            );
            assert.equal(read.id, "idle");
            assert.ok(!("incident" in (read.inputs ?? {})), "the absent incident stays absent");
        } finally {
            await host.close();
        }
    });
});
