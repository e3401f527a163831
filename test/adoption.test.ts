// Owning the live service, through Pulumi's dynamic-provider host in the engine's order, against the emulator's seeded
// service (its own SECRET_KEY, a variable the program never manages, BLOCKED_IPS set by hand): the first `up` reads
// before it writes, a second stack refuses before writing anything, rotation only goes forward, a rename or a destroy
// never takes what the app runs on.
import { strict as assert } from "node:assert";
import { startEmulator, type Emulator } from "../emulator";
import { HAND_SET_BLOCKED_IPS } from "../emulator/seed";
import { envVarProvider, RENDER_API_KEY_CONFIG } from "../components/render/envVar";
import { OWNER_MARKER_KEY, serviceOwnerProvider } from "../components/render/serviceOwner";
import { secretKeySourceProvider } from "../components/secretKey";
import { parseMarker } from "../components/render/ownership";
import { EngineStack, UNKNOWN, type Step } from "./support/engine";
import { secretWire, startProviderHost, type ProviderHost } from "./support/providerHost";
import { waitFor } from "./support/wait";

const PROD = "organization/ahoy-ops/prod";
const SCRATCH = "organization/ahoy-ops/scratch";

interface Program {
    readonly stack: string;
    readonly takeOverFrom?: string;
    readonly secretKeyGeneration?: number;
    /** Each switch's wanted value (undefined: absent). */
    readonly switches?: Record<string, string | undefined>;
    /** The resource name of a switch's EnvVar (a rename changes it). */
    readonly nameOf?: (key: string) => string;
    readonly service?: string;
    readonly apiUrl?: string;
}

describe("owning the service: adoption, a second stack, rotation forward, letting go (provider host, engine order)", function () {
    this.timeout(60_000);
    let emulator: Emulator;
    let host: ProviderHost;

    const SWITCHES = { DISABLE_SIGNUP: "false", BLOCKED_IPS: undefined, RATE_LIMIT_AUTH: undefined };

    /** The program's ownership, SECRET_KEY and switches, declared in its order: the owner first, everything after it. */
    function program(p: Program): Step[] {
        const service = p.service ?? "ahoy-indie-media";
        const apiUrl = p.apiUrl ?? emulator.baseUrl;
        const switches = p.switches ?? SWITCHES;
        const nameOf = p.nameOf ?? ((key: string) => `ahoy-${key}`);
        return [
            {
                name: "ahoy-owner",
                provider: serviceOwnerProvider,
                inputs: () => ({
                    service,
                    apiUrl,
                    stack: p.stack,
                    ...(p.takeOverFrom ? { takeOverFrom: p.takeOverFrom } : {}),
                    generations: { secretKey: p.secretKeyGeneration ?? 1 },
                    switches: Object.keys(switches),
                    secrets: ["SECRET_KEY"],
                }),
            },
            {
                name: "ahoy-secret-key-value",
                provider: secretKeySourceProvider,
                inputs: () => ({ service, apiUrl, generation: p.secretKeyGeneration ?? 1 }),
            },
            {
                name: "ahoy-SECRET_KEY",
                provider: envVarProvider,
                inputs: (states) => ({
                    service,
                    key: "SECRET_KEY",
                    value: states.get("ahoy-secret-key-value")?.outputs.value,
                    apiUrl,
                    secret: true,
                }),
            },
            ...Object.entries(switches).map(([key, value]) => ({
                name: nameOf(key),
                provider: envVarProvider,
                inputs: () => ({ service, key, ...(value === undefined ? {} : { value }), apiUrl }),
            })),
        ];
    }

    const writes = (since = 0) =>
        emulator
            .requests()
            .slice(since)
            .filter((r) => r.method !== "GET")
            .map((r) => `${r.method} ${r.path.replace(/^\/services\/[^/]+/, "")}`);
    const marker = () => parseMarker(emulator.envVars()[OWNER_MARKER_KEY]);
    /** Where this test's part of the provider host's log starts (one host serves every test). */
    let outputMark = 0;
    const output = () => host.output().slice(outputMark);
    /** The provider host's log, once this test's part shows `line` (it arrives on a pipe, after the call returned). */
    const logged = (line: RegExp) =>
        waitFor(`the provider host to log ${line}`, () => line.test(output()), { state: output });

    before(async () => {
        host = await startProviderHost();
    });

    beforeEach(async () => {
        // A fresh seeded service per test: each one is a first `up` against a live service.
        emulator = await startEmulator({ port: 0, stepMs: 30 });
        await host.configure({ [RENDER_API_KEY_CONFIG]: secretWire(emulator.apiKey) });
        outputMark = host.output().length;
    });

    afterEach(async () => {
        await emulator?.close();
    });

    after(async () => {
        await host?.close();
    });

    it("the first preview reads every key and shows it found => wanted, writing nothing", async () => {
        const stack = new EngineStack(host);
        const plan = await stack.preview(program({ stack: PROD }));
        assert.deepEqual(writes(), [], "a preview writes nothing");
        assert.equal(plan["ahoy-BLOCKED_IPS"].inputs.found, `"${HAND_SET_BLOCKED_IPS}" (set by hand) => absent`);
        assert.equal(plan["ahoy-DISABLE_SIGNUP"].inputs.found, "absent");
        assert.equal(plan["ahoy-RATE_LIMIT_AUTH"].inputs.found, "absent (stays absent)");
        assert.equal(plan["ahoy-SECRET_KEY"].inputs.found, "present (a secret, not shown)");
        assert.match(
            String(plan["ahoy-secret-key-value"].inputs.origin),
            /^adopted: the SECRET_KEY found on ahoy-indie-media/,
        );
        assert.deepEqual(plan["ahoy-owner"].inputs.found, {
            BLOCKED_IPS: HAND_SET_BLOCKED_IPS,
            DISABLE_SIGNUP: null,
            RATE_LIMIT_AUTH: null,
        });
        assert.deepEqual(plan["ahoy-owner"].inputs.onDestroy, {
            [OWNER_MARKER_KEY]: "removed (the service is let go)",
            BLOCKED_IPS: `put back to "${HAND_SET_BLOCKED_IPS}" (as found)`,
            DISABLE_SIGNUP: "removed (absent when this stack adopted the service)",
            RATE_LIMIT_AUTH: "removed (absent when this stack adopted the service)",
            SECRET_KEY: "kept as it is (the app runs on it)",
        });
        await logged(/BLOCKED_IPS is "192\.0\.2\.7" \(set by hand\); this up makes it absent/);
        // No secret value in anything the preview shows.
        assert.ok(!JSON.stringify(plan).includes(emulator.envVars().SECRET_KEY));
    });

    it("the first up keeps the app's SECRET_KEY byte for byte, claims the service, and does what the preview said", async () => {
        const appKey = emulator.envVars().SECRET_KEY;
        const stack = new EngineStack(host);
        await stack.up(program({ stack: PROD }));
        assert.equal(emulator.envVars().SECRET_KEY, appKey, "SECRET_KEY adopted byte for byte");
        assert.equal(stack.outputs("ahoy-secret-key-value").value, appKey);
        assert.equal(emulator.envVars().BLOCKED_IPS, undefined, "the hand-set switch became what the config says");
        assert.equal(emulator.envVars().SOME_HAND_SET_VAR, "set-by-hand-in-the-dashboard", "never touched");
        const m = marker();
        assert.equal(m.state, "present");
        if (m.state !== "present") return;
        assert.equal(m.marker.stack, PROD);
        assert.deepEqual(m.marker.generations, { secretKey: 1 });
        assert.deepEqual(m.marker.found, {
            BLOCKED_IPS: HAND_SET_BLOCKED_IPS,
            DISABLE_SIGNUP: null,
            RATE_LIMIT_AUTH: null,
        });
        // The marker names the owner; it is written before any variable.
        assert.equal(writes()[0], `PUT /env-vars/${OWNER_MARKER_KEY}`);

        const mark = emulator.requests().length;
        const again = await stack.up(program({ stack: PROD }));
        assert.deepEqual(writes(mark), [], "a re-run writes nothing");
        assert.ok(
            Object.values(again.ops).every((op) => op === "same"),
            JSON.stringify(again.ops),
        );
    });

    it("a second stack's preview and up refuse before writing anything, naming the owner and the hand-over step", async () => {
        await new EngineStack(host).up(program({ stack: PROD }));
        const before = emulator.envVars();
        const mark = emulator.requests().length;
        const scratch = new EngineStack(host);
        await assert.rejects(scratch.preview(program({ stack: SCRATCH })), (err: Error) => {
            assert.match(
                err.message,
                /ahoy-owner: stack: ahoy-indie-media is managed by stack organization\/ahoy-ops\/prod/,
            );
            assert.match(err.message, /`pulumi config set takeOverFrom organization\/ahoy-ops\/prod`/);
            return true;
        });
        await assert.rejects(
            scratch.up(program({ stack: SCRATCH, switches: { DISABLE_SIGNUP: "true" } })),
            /managed by stack/,
        );
        assert.deepEqual(writes(mark), [], "nothing written");
        assert.deepEqual(emulator.envVars(), before);
        assert.deepEqual([...scratch.states.keys()], [], "nothing recorded in the refused stack");
    });

    it("takeOverFrom hands it over with the adoption record; the old owner's destroy then touches nothing", async () => {
        const prod = new EngineStack(host);
        await prod.up(program({ stack: PROD, switches: { ...SWITCHES, DISABLE_SIGNUP: "true" } }));
        const scratch = new EngineStack(host);
        await scratch.up(
            program({ stack: SCRATCH, takeOverFrom: PROD, switches: { ...SWITCHES, DISABLE_SIGNUP: "true" } }),
        );
        const m = marker();
        assert.ok(m.state === "present" && m.marker.stack === SCRATCH, "the marker names the new owner");
        assert.equal(m.marker.found.BLOCKED_IPS, HAND_SET_BLOCKED_IPS, "the original adoption record came with it");
        const before = emulator.envVars();
        const mark = emulator.requests().length;
        await prod.destroy();
        assert.deepEqual(writes(mark), [], "the old owner's destroy wrote nothing");
        assert.deepEqual(emulator.envVars(), before);
        await logged(/left as it is \(it is managed by organization\/ahoy-ops\/scratch now\)/);
    });

    it("destroy keeps SECRET_KEY, puts the hand-set switch back, removes what the stack created, and lets the service go", async () => {
        const appKey = emulator.envVars().SECRET_KEY;
        const stack = new EngineStack(host);
        await stack.up(
            program({
                stack: PROD,
                switches: { ...SWITCHES, DISABLE_SIGNUP: "true", RATE_LIMIT_AUTH: "3 per minute" },
            }),
        );
        await stack.up(
            program({ stack: PROD, secretKeyGeneration: 2, switches: { ...SWITCHES, DISABLE_SIGNUP: "true" } }),
        );
        const rotated = emulator.envVars().SECRET_KEY;
        assert.notEqual(rotated, appKey, "generation 2 rotated the key");
        assert.match(rotated, /^[A-Za-z0-9_-]{43}$/, "in the runbook's token_urlsafe(32) form");
        await stack.destroy();
        const after = emulator.envVars();
        assert.equal(after.SECRET_KEY, rotated, "the key the app runs on stays");
        assert.equal(after.BLOCKED_IPS, HAND_SET_BLOCKED_IPS, "put back as found");
        assert.equal(after.DISABLE_SIGNUP, undefined, "created by the stack: removed");
        assert.equal(after.RATE_LIMIT_AUTH, undefined);
        assert.equal(after.SOME_HAND_SET_VAR, "set-by-hand-in-the-dashboard");
        assert.equal(after[OWNER_MARKER_KEY], undefined, "the service is let go");
        // Another stack may now adopt it as found.
        const next = new EngineStack(host);
        const plan = await next.preview(program({ stack: SCRATCH }));
        assert.equal(plan["ahoy-BLOCKED_IPS"].inputs.found, `"${HAND_SET_BLOCKED_IPS}" (set by hand) => absent`);
    });

    it("a renamed switch (create the new, then delete the old, same key) leaves the variable set", async () => {
        const stack = new EngineStack(host);
        const on = { ...SWITCHES, DISABLE_SIGNUP: "true" };
        await stack.up(program({ stack: PROD, switches: on }));
        const renamed = await stack.up(program({ stack: PROD, switches: on, nameOf: (key) => `flags-${key}` }));
        assert.ok(renamed.deleted.includes("ahoy-DISABLE_SIGNUP"), "the engine deleted the old resource, last");
        assert.equal(renamed.ops["flags-DISABLE_SIGNUP"], "create");
        assert.equal(emulator.envVars().DISABLE_SIGNUP, "true", "the key the new resource wrote is still there");
        await logged(/DISABLE_SIGNUP stays on the service as it is/);
    });

    it("a renamed ServiceOwner takes the claim over; the old one's delete lets nothing go", async () => {
        const stack = new EngineStack(host);
        await stack.up(program({ stack: PROD }));
        const steps = program({ stack: PROD });
        steps[0] = { ...steps[0], name: "owner" };
        const renamed = await stack.up(steps);
        assert.ok(renamed.deleted.includes("ahoy-owner"));
        const m = marker();
        assert.ok(m.state === "present" && m.marker.stack === PROD && m.marker.claim === stack.outputs("owner").claim);
        assert.equal(m.marker.found.BLOCKED_IPS, HAND_SET_BLOCKED_IPS, "the adoption record survived the rename");
        await logged(/left as it is \(another resource of this stack holds it now/);
    });

    it("a lower secretKeyGeneration is refused at preview, by the state and by the service's marker", async () => {
        const stack = new EngineStack(host);
        await stack.up(program({ stack: PROD }));
        await stack.up(program({ stack: PROD, secretKeyGeneration: 2 }));
        await assert.rejects(stack.preview(program({ stack: PROD, secretKeyGeneration: 1 })), (err: Error) => {
            assert.match(err.message, /secretKeyGeneration: got 1, but generation 2 already started/);
            assert.match(err.message, /`pulumi config set secretKeyGeneration 3` rotates again/);
            return true;
        });
        // A stale state (a backup from before the bump, restored): the marker on the service still refuses.
        const stale = new EngineStack(host);
        await assert.rejects(
            stale.preview(program({ stack: PROD, secretKeyGeneration: 1 })),
            /got 1, but generation 2 already started \(recorded by organization\/ahoy-ops\/prod's marker on ahoy-indie-media\)/,
        );
    });

    it("a changed service: the new one is adopted, the old one is let go with its secrets kept", async () => {
        const other = await startEmulator({ port: 0, stepMs: 30, apiKey: emulator.apiKey });
        try {
            const [first, second] = [emulator, other];
            const firstKey = first.envVars().SECRET_KEY;
            const stack = new EngineStack(host);
            const on = { ...SWITCHES, DISABLE_SIGNUP: "true" };
            await stack.up(program({ stack: PROD, switches: on, service: first.serviceId, apiUrl: first.baseUrl }));
            const moved = await stack.up(
                program({ stack: PROD, switches: on, service: second.serviceId, apiUrl: second.baseUrl }),
            );
            assert.equal(moved.ops["ahoy-owner"], "replace");
            assert.equal(first.envVars().SECRET_KEY, firstKey, "the old service keeps its key");
            assert.equal(first.envVars().DISABLE_SIGNUP, undefined, "and loses the switch this stack created");
            assert.equal(first.envVars().BLOCKED_IPS, HAND_SET_BLOCKED_IPS);
            assert.equal(first.envVars()[OWNER_MARKER_KEY], undefined);
            assert.equal(second.envVars().DISABLE_SIGNUP, "true");
            assert.equal(second.envVars().SECRET_KEY, other.envVars().SECRET_KEY);
            assert.ok(parseMarker(second.envVars()[OWNER_MARKER_KEY]).state === "present");
        } finally {
            await other.close();
        }
    });

    it("a stack from before adoption was recorded: its first up under this version changes nothing but the marker", async () => {
        // What the previous version left: its SECRET_KEY (from random bytes) and switches written and live, recorded
        // by EnvVars without `found` or `secret`, and no ServiceOwner nor SecretKey source.
        const stack = new EngineStack(host);
        const oldKey = "previous-version-key-from-random-bytes-0000";
        const old = program({ stack: PROD });
        await stack.up([
            {
                name: "ahoy-SECRET_KEY",
                provider: envVarProvider,
                inputs: () => ({
                    service: "ahoy-indie-media",
                    key: "SECRET_KEY",
                    value: oldKey,
                    apiUrl: emulator.baseUrl,
                }),
            },
            ...old.slice(3),
        ]);
        for (const name of stack.states.keys()) delete stack.states.get(name)!.inputs.found;
        const before = emulator.envVars();
        const mark = emulator.requests().length;
        const result = await stack.up(old);
        assert.deepEqual(writes(mark), [`PUT /env-vars/${OWNER_MARKER_KEY}`], "only the marker is written");
        assert.equal(result.ops["ahoy-SECRET_KEY"], "same", "SECRET_KEY's source adopted the key the stack had made");
        assert.equal(emulator.envVars().SECRET_KEY, oldKey);
        const after = emulator.envVars();
        delete after[OWNER_MARKER_KEY];
        assert.deepEqual(after, before);
    });

    it("a SECRET_KEY still unknown at preview shows only that it is a secret found there", async () => {
        const plan = await new EngineStack(host).preview(program({ stack: PROD }));
        assert.equal(plan["ahoy-SECRET_KEY"].inputs.value, UNKNOWN);
        assert.equal(plan["ahoy-SECRET_KEY"].inputs.found, "present (a secret, not shown)");
    });
});
