// The program under pulumi.runtime.setMocks, driven by the real Pulumi.prod.yaml: what it declares, with which inputs.
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { SETTLE_SECONDS, type WatchTarget } from "../components/verification";
import { RUNBOOK_THRESHOLDS } from "../components/verification/metricsVerdict";
import { prodConfig, runProgram, type ProgramRun } from "./support/program";

const ENV_VAR = "pulumi-nodejs:dynamic/render:EnvVar";
const DEPLOY = "pulumi-nodejs:dynamic/render:Deploy";

/** The switch variables declared (the rotated secrets have their own tests). */
function envVars(run: ProgramRun): Record<string, unknown> {
    return Object.fromEntries(
        run
            .ofType(ENV_VAR)
            .filter((r) => !["SECRET_KEY", "DATABASE_URL"].includes(r.inputs.key as string))
            .map((r) => [r.inputs.key as string, r.inputs.value]),
    );
}

/** Runs the program expecting it to fail on config; returns the message and the types declared before it failed. */
async function expectConfigError(overrides: Record<string, string>): Promise<{ message: string; declared: string[] }> {
    let run: ProgramRun;
    try {
        run = await runProgram(overrides);
    } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        // A RunError: the CLI prints its message alone, not a stack trace and an object dump.
        assert.ok(pulumi.RunError.isInstance(err), `expected a RunError listing the problems, got ${message}`);
        assert.match(message, /^The stack's configuration has \d+ problems?; nothing was changed:/);
        const registrations = (err as { registrations?: Array<{ type: string }> }).registrations ?? [];
        return { message, declared: registrations.map((r) => r.type).filter((t) => t !== "pulumi:pulumi:Stack") };
    }
    assert.fail(
        `expected ${JSON.stringify(overrides)} to fail the preview, but it declared: ${run.registrations.map((r) => r.name).join(", ")}`,
    );
}

describe("the program, declared from Pulumi.prod.yaml", () => {
    it("Pulumi.prod.yaml keeps no secret in plain text", () => {
        assert.deepEqual(
            prodConfig().secure.filter((key) => !key.includes(":")),
            [],
        );
    });

    it("declares one variable per switch, for the configured service, and one deploy", async () => {
        const run = await runProgram();
        // Every switch is declared; the unset ones with no value, which the provider keeps absent at Render.
        assert.deepEqual(envVars(run), {
            DISABLE_SIGNUP: "false",
            MAINTENANCE_MODE: "false",
            ENABLE_SIGNED_URLS: "false",
            BLOCK_DIRECT_MEDIA: "false",
            SIGNED_URL_EXPIRY: "3600",
            RATE_LIMIT_DEFAULT: undefined,
            RATE_LIMIT_AUTH: undefined,
            BLOCKED_IPS: undefined,
        });
        for (const r of run.ofType(ENV_VAR)) {
            assert.equal(r.inputs.service, "ahoy-indie-media");
            assert.equal(r.inputs.apiUrl, "https://api.render.com/v1");
        }
        const deploys = run.ofType(DEPLOY);
        assert.equal(deploys.length, 1, "one deploy per service per up");
        assert.equal(deploys[0].inputs.service, "ahoy-indie-media");
        assert.deepEqual(
            Object.keys(deploys[0].inputs.revisions as object).sort(),
            [...run.ofType(ENV_VAR).map((r) => String(r.inputs.key))].sort(),
            "the deploy takes every managed variable's revision",
        );
    });

    it("the deploy waits for every variable write", async () => {
        const run = await runProgram({ RATE_LIMIT_AUTH: "3/minute", BLOCKED_IPS: "10.0.0.50" });
        const deploy = run.ofType(DEPLOY)[0];
        const variableNames = run.ofType(ENV_VAR).map((r) => r.name);
        assert.equal(variableNames.length, 9, `declared: ${variableNames.join(", ")}`);
        for (const name of variableNames) {
            assert.ok(
                deploy.dependencies.some((urn) => urn.endsWith(`::${name}`)),
                `the deploy does not depend on ${name}: ${deploy.dependencies.join(", ")}`,
            );
        }
    });

    it("incident comms come first and wait on nothing of the mitigation; every mitigation step waits for their start", async () => {
        const run = await runProgram({ databaseAppHost: "dpg-cr9q1q3v2p9s73b0ug4g-a" });
        // Custom resources only: components and the stack itself do nothing at Render or in the database.
        const custom = run.registrations.filter((r) => !r.type.startsWith("ahoy:") && !r.type.startsWith("pulumi:"));
        const names = custom.map((r) => r.name);
        const started = run.named("ahoy-incident-started");
        const comms = ["ahoy-incident-intent", "ahoy-incident", "ahoy-incident-started"];
        for (const name of comms) {
            assert.ok(
                run.named(name).dependencies.every((urn) => comms.some((c) => urn.endsWith(`::${c}`))),
                `${name} depends on something of the mitigation: ${run.named(name).dependencies.join(", ")}`,
            );
        }
        assert.equal(names.indexOf("ahoy-incident-intent"), 0, `the write-ahead record is declared first: ${names}`);
        // The receipt is the comms' own step after the mitigation: it waits for both.
        const mitigation = custom.filter((r) => !comms.includes(r.name) && r.name !== "ahoy-incident-receipt");
        assert.ok(mitigation.length > 15, `the mitigation's resources: ${mitigation.map((r) => r.name).join(", ")}`);
        for (const r of mitigation) {
            assert.ok(
                r.dependencies.some((urn) => urn.endsWith("::ahoy-incident-started")),
                `${r.type} ${r.name} may start before the incident's messages: ${r.dependencies.join(", ")}`,
            );
        }
        assert.ok(
            started.dependencies.some((urn) => urn.endsWith("::ahoy-incident-intent")),
            "the marker is ready with the messages, after their write-ahead record",
        );
    });

    const switches: Array<[string, string, string, string]> = [
        ["DISABLE_SIGNUP", "true", "DISABLE_SIGNUP", "true"],
        ["MAINTENANCE_MODE", "true", "MAINTENANCE_MODE", "true"],
        ["ENABLE_SIGNED_URLS", "true", "ENABLE_SIGNED_URLS", "true"],
        ["BLOCK_DIRECT_MEDIA", "true", "BLOCK_DIRECT_MEDIA", "true"],
        ["SIGNED_URL_EXPIRY", "900", "SIGNED_URL_EXPIRY", "900"],
        ["RATE_LIMIT_DEFAULT", "10 per minute", "RATE_LIMIT_DEFAULT", "10 per minute"],
        ["RATE_LIMIT_AUTH", "3/minute", "RATE_LIMIT_AUTH", "3 per minute"],
        ["BLOCKED_IPS", "192.168.1.100, 10.0.0.50,192.168.1.100", "BLOCKED_IPS", "192.168.1.100,10.0.0.50"],
    ];
    for (const [key, value, variable, expected] of switches) {
        it(`\`pulumi config set ${key} ${JSON.stringify(value)}\` writes ${variable}=${JSON.stringify(expected)} and nothing else`, async () => {
            const before = envVars(await runProgram());
            // Blocking direct media is verified by asking a media path for its 403: the stack must name one.
            const after = envVars(
                await runProgram({
                    [key]: value,
                    ...(key === "BLOCK_DIRECT_MEDIA" && { mediaProbePath: "/media/probe.jpg" }),
                }),
            );
            assert.equal(after[variable], expected);
            const changed = Object.keys({ ...before, ...after }).filter((k) => before[k] !== after[k]);
            assert.deepEqual(changed, [variable]);
        });
    }

    it("the deploy's trigger is each variable's revision, an output of its write: no value reaches the deploy", async () => {
        const run = await runProgram({ DISABLE_SIGNUP: "true" });
        const deploy = run.ofType(DEPLOY)[0];
        assert.ok(!JSON.stringify(deploy.inputs).includes('"true"'), "the deploy's inputs carry no variable value");
        for (const variable of run.ofType(ENV_VAR)) {
            assert.ok(
                deploy.dependencies.some((urn) => urn.endsWith(`::${variable.name}`)),
                `the deploy's revisions come from ${variable.name}`,
            );
        }
    });

    it("an unset rate limit or blocked-IP list still declares its variable, absent, so removing the key deletes it before the deploy", async () => {
        const run = await runProgram({ RATE_LIMIT_DEFAULT: "", BLOCKED_IPS: undefined as unknown as string });
        for (const key of ["RATE_LIMIT_DEFAULT", "BLOCKED_IPS"]) {
            const declared = run.ofType(ENV_VAR).filter((r) => r.inputs.key === key);
            assert.equal(declared.length, 1, `${key} is declared`);
            assert.ok(!("value" in declared[0].inputs), `${key} is declared without a value (absent)`);
        }
    });

    it("takes the service by srv- id and the emulator's API URL for a rehearsal", async () => {
        const run = await runProgram({ service: "srv-abcdefghij0123456789", renderApiUrl: "http://127.0.0.1:4010/v1" });
        for (const r of [...run.ofType(ENV_VAR), ...run.ofType(DEPLOY)]) {
            assert.equal(r.inputs.service, "srv-abcdefghij0123456789");
            assert.equal(r.inputs.apiUrl, "http://127.0.0.1:4010/v1");
        }
    });

    it("a misspelt switch fails before any resource is declared, naming the key and the likely intent", async () => {
        const { message, declared } = await expectConfigError({ DISABLE_SIGNUPS: "true" });
        assert.match(message, /DISABLE_SIGNUPS: .*did you mean DISABLE_SIGNUP\?/);
        assert.deepEqual(declared, []);
    });

    it("bad values fail before any resource is declared, every one listed", async () => {
        const { message, declared } = await expectConfigError({
            SIGNED_URL_EXPIRY: "10",
            BLOCKED_IPS: "10.0.0.300",
            RATE_LIMIT_AUTH: "fast",
        });
        assert.deepEqual(declared, []);
        for (const key of ["SIGNED_URL_EXPIRY", "BLOCKED_IPS", "RATE_LIMIT_AUTH"])
            assert.match(message, new RegExp(`${key}: got`));
    });

    it("a rule between keys (the owner role being a login role) also fails before anything is declared", async () => {
        const { message, declared } = await expectConfigError({
            databaseAppHost: "db.internal",
            databaseOwnerRole: "ahoy_app_green",
        });
        assert.deepEqual(declared, [], "no variable may be written before the whole config has validated");
        assert.match(message, /databaseOwnerRole: got "ahoy_app_green"/);
    });

    it("no API key reaches a declared input or a serialized provider", async () => {
        const apiKey = "rnd_programtestsecretkey123";
        process.env.RENDER_API_KEY = apiKey;
        try {
            const run = await runProgram({}, { renderApiKey: apiKey });
            for (const r of run.registrations) {
                assert.ok(!JSON.stringify(r.inputs).includes(apiKey), `${r.name}'s inputs contain the API key`);
            }
        } finally {
            delete process.env.RENDER_API_KEY;
        }
    });
});

describe("release pin and verification, declared", () => {
    const VERIFICATION = "pulumi-nodejs:dynamic/verify:Verification";
    const checksOf = (run: ProgramRun) =>
        (
            run.ofType(VERIFICATION)[0].inputs.checks as Array<{ method: string; path: string; expectStatus: number }>
        ).map((c) => `${c.method} ${c.path} ${c.expectStatus}`);

    it("`pulumi config set releasePin v0.1.0` puts the pin, and the repository it is looked up in, in the deploy's inputs", async () => {
        const repository = "https://github.com/ahoy/ahoy-indie-media";
        const run = await runProgram({ releasePin: "v0.1.0", repository });
        const [deploy] = run.ofType(DEPLOY);
        assert.equal(deploy.inputs.releasePin, "v0.1.0");
        assert.equal(deploy.inputs.repository, repository);
    });

    it("without a pin the deploy declares none, so `pulumi config rm releasePin` shows as the pin's removal", async () => {
        const [deploy] = (await runProgram()).ofType(DEPLOY);
        assert.equal(deploy.inputs.releasePin, undefined);
    });

    it("declares one verification per deploy, after it and keyed on its deploy id, with the checks the switches call for", async () => {
        const run = await runProgram({
            DISABLE_SIGNUP: "true",
            BLOCK_DIRECT_MEDIA: "true",
            mediaProbePath: "/media/probe.jpg",
        });
        const deploys = run.ofType(DEPLOY);
        const verifications = run.ofType(VERIFICATION);
        assert.equal(verifications.length, deploys.length, "every deploy is verified");
        const [verification] = verifications;
        assert.ok(
            verification.dependencies.some((urn) => urn.endsWith(`::${deploys[0].name}`)),
            `the verification must follow the deploy: ${verification.dependencies.join(", ")}`,
        );
        assert.equal(verification.inputs.deployId, "dep-mock");
        assert.equal(verification.inputs.serviceUrl, "https://ahoy-indie-media.onrender.com");
        assert.deepEqual(checksOf(run), [
            "GET /healthz 200",
            "POST /api/auth/register 503",
            "GET /media/probe.jpg 403",
        ]);
        assert.deepEqual(verification.inputs.watch, {
            path: "/healthz",
            seconds: 300,
            maxErrorRate: 0.05,
            maxResponseMs: 2000,
        });
    });

    it("with the switches off only /healthz is checked, and the watch lasts stabilityWindowSeconds", async () => {
        const run = await runProgram({ stabilityWindowSeconds: "60" });
        assert.deepEqual(checksOf(run), ["GET /healthz 200"]);
        assert.equal((run.ofType(VERIFICATION)[0].inputs.watch as { seconds: number }).seconds, 60);
    });

    it("passes the Verification the settle, when the deploy went live and the stack's name (for npm run watch)", async () => {
        const [verification] = (await runProgram()).ofType(VERIFICATION);
        assert.equal(verification.inputs.settleSeconds, SETTLE_SECONDS);
        assert.equal(verification.inputs.liveAt, "2026-12-01T03:00:03.000Z");
        assert.equal(verification.inputs.stack, "prod");
    });

    it("exports the watch's target as a plain output: the deploy, when it went live, its window and thresholds", async () => {
        const run = await runProgram({ DISABLE_SIGNUP: "true", stabilityWindowSeconds: "120" });
        // That it is plain (not a secret) is proven through the CLI: test/e2e/watch.test.ts reads it without --show-secrets.
        const watch = run.outputs.watch as WatchTarget;
        assert.deepEqual(watch, {
            service: "ahoy-indie-media",
            serviceId: "srv-mock",
            apiUrl: "https://api.render.com/v1",
            serviceUrl: "https://ahoy-indie-media.onrender.com",
            deployId: "dep-mock",
            action: "DISABLE_SIGNUP",
            liveAt: "2026-12-01T03:00:03.000Z",
            verifiedAt: "2026-12-01T03:00:04.000Z",
            verifiedAfterSeconds: 1,
            window: { path: "/healthz", seconds: 120, maxErrorRate: 0.05, maxResponseMs: 2000 },
            metrics: {
                askMaxConnections: false,
                expected5xx: [
                    {
                        path: "/api/auth/register",
                        status: 503,
                        because: "DISABLE_SIGNUP=true refuses signups with 503",
                    },
                ],
                thresholds: RUNBOOK_THRESHOLDS,
            },
        });
    });

    it("the watch's target names the open incident and its PagerDuty dedup_key, and drops it once resolved", async () => {
        const incident = {
            alertEmail: "oncall@ahoy.example",
            contacts: JSON.stringify({ primary: { name: "Primary", email: "p@ahoy.example", phone: "+1-555-0100" } }),
            incidentSeverity: "1",
            incidentTitle: "Signup abuse",
            incidentImpact: "bots are creating accounts",
            incidentOnCall: "primary",
        };
        const channel = { smtpUrl: "smtps://mailer:pw@smtp.ahoy.example:465" };
        const open = (await runProgram(incident, channel)).outputs.watch as WatchTarget;
        assert.deepEqual(open.incident, {
            severity: 1,
            title: "Signup abuse",
            status: "investigating",
            dedupKey: "ahoy-incident-id",
        });
        const resolved = await runProgram({ ...incident, incidentStatus: "resolved" }, channel);
        assert.equal((resolved.outputs.watch as WatchTarget).incident, undefined);
    });

    it("with verification off the watch output says so, and npm run watch has nothing to watch", async () => {
        const run = await runProgram({ verify: "false", serviceUrl: undefined });
        assert.equal(run.outputs.watch, "off (verify: false, or the maintenance page is up)");
    });

    it("`verify: false` declares no verification and needs no serviceUrl; the deploy stays", async () => {
        const run = await runProgram({ verify: "false", serviceUrl: undefined });
        assert.equal(run.ofType(VERIFICATION).length, 0);
        assert.equal(run.ofType(DEPLOY).length, 1);
    });

    it("a stack with neither serviceUrl nor `verify: false` fails the preview naming serviceUrl, declaring nothing", async () => {
        const { message, declared } = await expectConfigError({ serviceUrl: undefined as unknown as string });
        assert.match(
            message,
            /- serviceUrl: got nothing, but verify is on; expected the service's public https:\/\/ URL .*`pulumi config set verify false`/,
        );
        assert.deepEqual(declared, []);
    });

    it("a pin that is not a deploy id, SHA or tag fails the preview naming releasePin, declaring nothing", async () => {
        const { message, declared } = await expectConfigError({ releasePin: "dep-nope" });
        assert.match(message, /- releasePin: got "dep-nope": "dep-nope" starts like a deploy id but is not one/);
        assert.deepEqual(declared, []);
    });
});

describe("runbook readiness on every preview", () => {
    it("warns, for the committed Pulumi.prod.yaml, that BLOCK_DIRECT_MEDIA needs mediaProbePath, with the command", async () => {
        const run = await runProgram();
        assert.ok(
            run.warnings.some((w) =>
                /Restrict Direct Access \(BLOCK_DIRECT_MEDIA\)" is not ready: lacks mediaProbePath.*pulumi config set mediaProbePath .* --stack prod/.test(
                    w,
                ),
            ),
            run.warnings.join("\n"),
        );
        assert.match(String(run.outputs.runbookReadiness), /not ready/);
    });

    it("says nothing about an action once its prerequisite is set", async () => {
        const run = await runProgram({ mediaProbePath: "/media/uploads/probe.jpg" });
        assert.ok(!run.warnings.some((w) => w.includes("BLOCK_DIRECT_MEDIA")), run.warnings.join("\n"));
    });
});
