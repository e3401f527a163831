// The database credential rotation drills, in the engine's order through the dynamic-provider host, against the
// emulator, its stand-in app and a real PostgreSQL 15: a failed deploy, a double bump, a second client on the old
// login, a new URL that stops logging in after Render said live. After every step the app connects with the
// DATABASE_URL of the deploy that is live: it never loses its only working login.
import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { SEEDED_SERVICE_NAME, startEmulator, type Emulator } from "../emulator";
import { DatabaseCredentials } from "../components/database/credentials";
import { loginProofProvider } from "../components/database/loginProof";
import { retireLoginProvider } from "../components/database/retireLogin";
import { rotationGateProvider } from "../components/database/rotationGate";
import { deployProvider } from "../components/render/deploy";
import { envVarProvider } from "../components/render/envVar";
import { verificationPlan, verificationProvider } from "../components/verification";
import { RenderClient } from "../lib/render/client";
import {
    adminStackConfig,
    applyRole,
    canConnect,
    createAppDatabase,
    startPostgres,
    type DeclaredRole,
    type PostgresServer,
} from "./support/postgres";
import { RESERVED, revealAll, setProjectMocks, StandInDeploy, valueOf } from "./support/mocks";
import { EngineStack, UpFailed, type Step } from "./support/engine";
import { renderRequestKind, startProviderHost, type Props, type ProviderHost } from "./support/providerHost";
import { waitFor } from "./support/wait";

const ROLE_TYPE = "postgresql:index/role:Role";
const PASSWORD_TYPE = "random:index/randomPassword:RandomPassword";
const RETIRE_TYPE = "pulumi-nodejs:dynamic/postgres:RetireLogin";
// Each generated password holds every character of RESERVED, and so does the admin's.
const ADMIN = { user: "ahoy_admin", password: `drill-admin${RESERVED}` };

/** What the program declares for one `databaseCredentialGeneration`, with the secrets revealed. */
interface Generation {
    readonly generation: number;
    readonly active: "blue" | "green";
    readonly databaseUrl: string;
    readonly roles: Readonly<Record<"blue" | "green", DeclaredRole>>;
    /** RetireLogin's inputs but the deploy's `liveSince`, which only the `up` knows. */
    readonly retire: Props;
}

// A RandomPassword keeps its value until its keepers change, as the engine keeps it in the state.
const passwords = new Map<string, string>();

/** Declares DatabaseCredentials and its retirement under mocks, at the test server's address. */
async function declare(generation: number, server: PostgresServer, port = server.port): Promise<Generation> {
    const registered: Array<{ type: string; name: string; inputs: Record<string, unknown> }> = [];
    await setProjectMocks((args) => {
        const inputs = revealAll(args.inputs) as Record<string, unknown>;
        registered.push({ type: args.type, name: args.name, inputs });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === PASSWORD_TYPE) {
            const kept = `${args.name}@${JSON.stringify(inputs.keepers)}`;
            if (!passwords.has(kept)) passwords.set(kept, `${randomBytes(12).toString("base64url")}${RESERVED}`);
            state.result = passwords.get(kept);
        }
        return { id: `${args.name}-id`, state };
    });
    const credentials = new DatabaseCredentials("ahoy-db", {
        generation,
        rolePrefix: "ahoy_app",
        ownerRole: "ahoy",
        host: server.host,
        port,
        database: "ahoy_prod",
        sslMode: "disable",
        applicationName: SEEDED_SERVICE_NAME,
    });
    const deploy = new StandInDeploy("ahoy-deploy", { databaseUrl: credentials.databaseUrl });
    const retirement = credentials.retireStandby({ deploy });
    const databaseUrl = await valueOf(credentials.databaseUrl);
    await Promise.all([deploy, retirement.role, retirement.retire].map((r) => valueOf(r.urn)));
    const role = (slot: "blue" | "green"): DeclaredRole => {
        const found = registered.filter((r) => r.type === ROLE_TYPE && r.name === `ahoy-db-${slot}`);
        assert.equal(found.length, 1, `generation ${generation}: expected one Role ahoy-db-${slot}`);
        const { name, login, password, roles, assumeRole } = found[0].inputs as unknown as DeclaredRole;
        return { name, login, password, roles, assumeRole };
    };
    const [retire] = registered.filter((r) => r.type === RETIRE_TYPE);
    // The deploy's `liveSince` is an output only the `up` knows: each up passes its own.
    const retireInputs = Object.fromEntries(Object.entries(retire.inputs).filter(([key]) => key !== "liveSince"));
    return {
        generation,
        active: generation % 2 === 1 ? "blue" : "green",
        databaseUrl,
        roles: { blue: role("blue"), green: role("green") },
        retire: retireInputs,
    };
}

describe("rotation drills: databaseCredentialGeneration bumps against the emulator and PostgreSQL 15", function () {
    this.timeout(180_000);
    let emulator: Emulator;
    let server: PostgresServer;
    let superuser: Client;
    let admin: Client;
    let host: ProviderHost;
    let stack: EngineStack;
    /** The running app's session, opened with generation 1's DATABASE_URL before the rotation. */
    let appSession: Client;
    let appSessionEnded: Promise<Error>;
    const generations = new Map<number, Generation>();
    const checkedAfter: string[] = [];

    const gen = async (generation: number) => {
        if (!generations.has(generation)) generations.set(generation, await declare(generation, server));
        return generations.get(generation)!;
    };
    const writes = () => emulator.requests().filter((r) => r.method !== "GET");

    /**
     * The app, as it would reconnect now: with the DATABASE_URL of the live deploy, or (once a sabotage broke that
     * one behind the program's back) with `fallback`, the previous login, which must then still work.
     */
    async function appConnects(after: string, fallback?: string): Promise<void> {
        const url = fallback ?? emulator.liveEnv().DATABASE_URL;
        const which = fallback
            ? "the previous login (all that works after the sabotage)"
            : "the app's live DATABASE_URL";
        assert.equal(await canConnect(url), true, `after ${after}, ${which} no longer logs in`);
        checkedAfter.push(after);
    }

    /**
     * The program of generation `g` in the engine's order (the bridged Role updates applied by hand as the provider
     * would), with the app's login checked after every step. `sabotage` runs after the deploy, before the retirement.
     */
    function program(
        g: Generation,
        opts: { sabotage?: () => Promise<void>; previousUrl?: string; checkApp?: boolean } = {},
    ): Step[] {
        const standby = g.active === "blue" ? "green" : "blue";
        const steps: Step[] = [
            {
                name: "ahoy-db-gate",
                provider: rotationGateProvider,
                inputs: () => ({
                    database: "ahoy_prod",
                    generation: g.generation,
                    activeRole: g.roles[g.active].name,
                    standbyRole: g.roles[standby].name,
                }),
            },
            { name: `ahoy-db-${g.active}`, run: () => applyRole(admin, g.roles[g.active]) },
            {
                name: "ahoy-db-login-proof",
                provider: loginProofProvider,
                inputs: () => ({ databaseUrl: g.databaseUrl }),
            },
            {
                name: "ahoy-DATABASE_URL",
                provider: envVarProvider,
                inputs: () => ({
                    service: SEEDED_SERVICE_NAME,
                    key: "DATABASE_URL",
                    value: g.databaseUrl,
                    apiUrl: emulator.baseUrl,
                    // As the program declares it (SecretRotation's EnvVar): what adoption finds is never shown.
                    secret: true,
                }),
            },
            {
                name: "ahoy-deploy",
                provider: deployProvider,
                inputs: (states) => ({
                    service: SEEDED_SERVICE_NAME,
                    apiUrl: emulator.baseUrl,
                    revisions: { DATABASE_URL: states.get("ahoy-DATABASE_URL")?.outputs.revision },
                }),
            },
            {
                name: "ahoy-verify",
                provider: verificationProvider,
                inputs: (states) => ({
                    serviceUrl: emulator.appUrl,
                    deployId: states.get("ahoy-deploy")?.outputs.deployId,
                    ...verificationPlan({ disableSignup: false, blockDirectMedia: false, stabilityWindowSeconds: 1 }),
                    settleSeconds: 1,
                    checkTimeoutSeconds: 3,
                }),
            },
            ...(opts.sabotage ? [{ name: "sabotage", run: opts.sabotage }] : []),
            {
                name: "ahoy-db-retire",
                provider: retireLoginProvider,
                inputs: (states) => ({ ...g.retire, liveSince: states.get("ahoy-deploy")?.outputs.liveAt }),
            },
            { name: `ahoy-db-${standby}`, run: () => applyRole(admin, g.roles[standby]) },
        ];
        if (opts.checkApp === false) return steps;
        let sabotaged = false;
        return steps.flatMap((step) => {
            if (step.name === "sabotage") sabotaged = true;
            const fallback = sabotaged ? opts.previousUrl : undefined;
            return [step, { name: `app-check:${step.name}`, run: () => appConnects(step.name, fallback) }];
        });
    }

    before(async () => {
        // Each deploy status lasts long enough for a teammate to cancel our deploy in flight.
        [emulator, server] = await Promise.all([startEmulator({ port: 0, stepMs: 150 }), startPostgres()]);
        superuser = await server.connect();
        // The owner role and the app's database exist before the program, which never changes them; the admin is no superuser.
        admin = await createAppDatabase(server, superuser, ADMIN);
        // The app's sessions on a new login are awaited 3 s, not a minute: the stand-in app logs in within 100 ms.
        host = await startProviderHost({ RENDER_API_KEY: emulator.apiKey, AHOY_APP_LOGIN_WAIT_MS: "3000" });
        await host.configure(adminStackConfig(server, ADMIN));
        stack = new EngineStack(host);

        // Generation 1 is what production runs before the incident: blue active, green standing by without LOGIN.
        const one = await gen(1);
        // Before the program's first up the service runs a URL set by hand (the seed's, at Render's host): the
        // program's own takes over, so the app's login is checked from the next up on.
        await stack.up(program(one, { checkApp: false }));
        assert.equal(emulator.liveEnv().DATABASE_URL, one.databaseUrl, "generation 1's URL is live before the drill");
        appSession = new Client({ connectionString: emulator.liveEnv().DATABASE_URL });
        // A session ended by the server reports it as an event: the first one says why.
        appSessionEnded = new Promise<Error>((resolve) => appSession.on("error", resolve));
        await appSession.connect();
        await appSession.query("CREATE TABLE tracks (id serial PRIMARY KEY, title text)");
        await appSession.query("INSERT INTO tracks (title) VALUES ('before the rotation')");
    });

    after(async () => {
        await appSession?.end().catch(() => undefined);
        await admin?.end().catch(() => undefined);
        await superuser?.end().catch(() => undefined);
        await host?.close();
        await emulator?.close();
        await server?.stop();
    });

    const canLogIn = async (role: string) =>
        (await superuser.query("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", [role])).rows[0]?.rolcanlogin;

    // The drills run in order on one stack: each continues from the state the previous one left.

    it("generation 2's deploy is canceled: the up fails at the deploy, blue keeps its login, the app keeps working", async () => {
        const two = await gen(2);
        emulator.clearRequests();
        const known = new Set(emulator.deploys().map((d) => d.id));
        const cancelOurs = (async () => {
            await waitFor("our deploy", () => emulator.deploys().some((d) => !known.has(d.id)), { timeoutMs: 20_000 });
            const ours = emulator.deploys().find((d) => !known.has(d.id))!;
            await new RenderClient({ apiKey: emulator.apiKey, baseUrl: emulator.baseUrl }).cancelDeploy(
                emulator.serviceId,
                ours.id,
            );
        })();
        const [failed] = await Promise.all([stack.up(program(two)).catch((err: unknown) => err), cancelOurs]);
        assert.ok(failed instanceof UpFailed, `expected the up to fail, got ${String(failed)}`);
        assert.equal(failed.step, "ahoy-deploy");
        assert.match(failed.message, /ended canceled/);
        assert.equal(await canLogIn("ahoy_app_blue"), true, "blue, the login the app runs on, is not retired");
        assert.equal(await canLogIn("ahoy_app_green"), true, "green holds generation 2's password, ready");
        assert.equal((await appSession.query("SELECT 1 AS ok")).rows[0].ok, 1, "the app's session is untouched");
    });

    it("a bump to 3 before 2 went live is refused at the gate, before any password changes", async () => {
        const three = await gen(3);
        // Blue still runs on generation 1's password: generation 2 never went live.
        const blueBefore = (await gen(1)).roles.blue.password;
        emulator.clearRequests();
        const failed = await stack.up(program(three)).catch((err: unknown) => err);
        assert.ok(failed instanceof UpFailed, `expected the up to fail, got ${String(failed)}`);
        assert.equal(failed.step, "ahoy-db-gate");
        assert.match(
            failed.message,
            /generation 3 would give ahoy_app_blue a new password, but ahoy_app_blue can still log in: generation 2 never went live .* set databaseCredentialGeneration back to 2/,
        );
        assert.notEqual(three.roles.blue.password, blueBefore, "generation 3 would have renewed blue's password...");
        assert.equal(
            await canConnect(emulator.liveEnv().DATABASE_URL),
            true,
            "...which the app runs on: it still logs in",
        );
        assert.deepEqual(writes(), [], "nothing reached Render");
    });

    it("generation 2 run again goes live: one write, one deploy; blue is retired only then and the old app's session ends", async () => {
        const two = await gen(2);
        emulator.clearRequests();
        const result = await stack.up(program(two));
        assert.equal(result.ops["ahoy-db-gate"], "same", "the same generation again: the gate asks nothing");
        assert.equal(result.ops["ahoy-DATABASE_URL"], "same", "the URL was written by the failed up already");
        assert.equal(result.ops["ahoy-deploy"], "update", "its deploy never went live, so it is deployed now");
        assert.deepEqual(
            writes().map(renderRequestKind),
            ["POST /services/{id}/deploys"],
            "finishing the rotation costs one deploy trigger",
        );
        assert.equal(emulator.liveEnv().DATABASE_URL, two.databaseUrl);
        assert.equal(await canLogIn("ahoy_app_blue"), false, "blue lost LOGIN");
        assert.match((await appSessionEnded).message, /terminat/i, "the old app's session on blue was ended");
        assert.equal(stack.outputs("ahoy-db-retire").terminated, 1);

        const app = new Client({ connectionString: emulator.liveEnv().DATABASE_URL });
        await app.connect();
        try {
            const who = await app.query("SELECT session_user::text AS login, current_user::text AS acting");
            assert.deepEqual(who.rows[0], { login: "ahoy_app_green", acting: "ahoy" });
            await app.query("INSERT INTO tracks (title) VALUES ('after the rotation')");
            const titles = await app.query("SELECT title FROM tracks ORDER BY id");
            assert.deepEqual(
                titles.rows.map((r) => r.title),
                ["before the rotation", "after the rotation"],
                "the app keeps its data across the switch",
            );
        } finally {
            await app.end();
        }
    });

    it("generation 3 with a second client on green: the up fails naming it, green keeps its login, nothing is cut off", async () => {
        const two = await gen(2);
        const exportUrl = new URL(two.databaseUrl);
        exportUrl.searchParams.set("application_name", "nightly-export");
        const nightly = new Client({ connectionString: exportUrl.toString() });
        nightly.on("error", () => undefined);
        await nightly.connect();
        try {
            const failed = await stack.up(program(await gen(3))).catch((err: unknown) => err);
            assert.ok(failed instanceof UpFailed, `expected the up to fail, got ${String(failed)}`);
            assert.equal(failed.step, "ahoy-db-retire");
            assert.match(
                failed.message,
                /not retiring ahoy_app_green: 1 of its sessions are not the old app's .*application_name "nightly-export"/,
            );
            assert.equal(await canLogIn("ahoy_app_green"), true, "green keeps its login");
            assert.equal((await nightly.query("SELECT 1 AS ok")).rows[0].ok, 1, "the export's session is untouched");
        } finally {
            await nightly.end();
        }
        // The export moved off green: the next up retires it.
        const result = await stack.up(program(await gen(3)));
        assert.equal(result.ops["ahoy-db-retire"], "update");
        assert.equal(await canLogIn("ahoy_app_green"), false);
    });

    it("generation 4: Render says live but the new URL no longer logs in: the up fails naming the login, blue keeps its login", async () => {
        const four = await gen(4);
        const three = await gen(3);
        const failed = await stack
            .up(
                program(four, {
                    // After the deploy went live, someone resets green's password.
                    sabotage: async () =>
                        void (await admin.query("ALTER ROLE ahoy_app_green PASSWORD 'reset-by-hand'")),
                    previousUrl: three.databaseUrl,
                }),
            )
            .catch((err: unknown) => err);
        // The app's live URL is the one the sabotage broke: only the old login is left, and it must be.
        assert.ok(failed instanceof UpFailed, `expected the up to fail, got ${String(failed)}`);
        assert.equal(failed.step, "ahoy-db-retire", failed.message);
        assert.match(
            failed.message,
            /the login ahoy_app_green@.* \(the new DATABASE_URL's\) failed: password authentication failed/,
        );
        assert.ok(!failed.message.includes(four.roles.green.password!), "the password is not in the message");
        assert.equal(await canLogIn("ahoy_app_blue"), true, "blue, the last working login, is not retired");
        assert.equal(await canConnect(three.databaseUrl), true, "generation 3's URL still logs in");
        // Green's password put back as declared (the live URL works again); the re-run retires blue.
        await applyRole(admin, four.roles.green);
        await stack.up(program(four));
        assert.equal(await canLogIn("ahoy_app_blue"), false);
    });

    it("generation 5 with a wrong databasePort: the app cannot log in, the up fails at the retirement, the old login keeps working; the right port converges", async () => {
        const four = await gen(4);
        const wrong = await declare(5, server, 1);
        const failed = await stack.up(program(wrong, { checkApp: false })).catch((err: unknown) => err);
        assert.ok(failed instanceof UpFailed, `expected the up to fail, got ${String(failed)}`);
        assert.equal(failed.step, "ahoy-db-retire", failed.message);
        assert.match(
            failed.message,
            /not retiring ahoy_app_green: the app has not logged in with the new DATABASE_URL: no session of ahoy_app_blue with application_name "ahoy-indie-media" appeared within 3 s .*so the app may not reach 127\.0\.0\.1:1: check databaseAppHost and databasePort/,
        );
        // What the deploy did: it is live with the wrong URL, and the app's pool cannot log in with it.
        assert.equal(emulator.liveEnv().DATABASE_URL, wrong.databaseUrl);
        assert.equal(emulator.appDatabase().sessions, 0);
        assert.match(emulator.appDatabase().error ?? "", /ECONNREFUSED/);
        // What the database says: green keeps LOGIN, and a real login with generation 4's URL works.
        assert.equal(await canLogIn("ahoy_app_green"), true, "green, the login that works, is not retired");
        assert.equal(await canConnect(four.databaseUrl), true, "generation 4's URL still logs in");
        assert.ok(!failed.message.includes(wrong.roles.blue.password!), "the password is not in the message");

        // `pulumi config set databasePort <the right one>`: the URL changes, is deployed, and the app logs in.
        const right = await gen(5);
        assert.equal(right.roles.blue.password, wrong.roles.blue.password, "the same generation, the same password");
        // Until its deploy is live, the live URL is the wrong one: the app's login is checked once, at the end.
        const result = await stack.up(program(right, { checkApp: false }));
        await appConnects("the corrected URL's deploy");
        assert.equal(result.ops["ahoy-DATABASE_URL"], "update");
        assert.equal(result.ops["ahoy-db-retire"], "update", "the retirement runs again, now with proof");
        assert.equal(await canLogIn("ahoy_app_green"), false, "green is retired once the app runs on blue");
        assert.equal(emulator.appDatabase().sessions > 0, true, "the app holds sessions on blue");
    });

    it("a re-run with nothing changed writes nothing to Render, asks the gate nothing, and no secret reached the host's output", async () => {
        emulator.clearRequests();
        const result = await stack.up(program(await gen(5)));
        const resources = Object.entries(result.ops).filter(([, op]) => op !== "ran");
        assert.ok(
            resources.every(([, op]) => op === "same"),
            JSON.stringify(result.ops),
        );
        assert.deepEqual(writes(), []);
        assert.ok(checkedAfter.length > 40, `the app's login was checked after every step (${checkedAfter.length})`);
        const printed = host.output();
        for (const [what, secret] of Object.entries({
            "the admin password": ADMIN.password,
            ...Object.fromEntries(
                [...generations.values()].map((g) => [`generation ${g.generation}'s URL`, g.databaseUrl]),
            ),
            ...Object.fromEntries(
                [...generations.values()].map((g) => [
                    `generation ${g.generation}'s password`,
                    g.roles[g.active].password,
                ]),
            ),
        })) {
            assert.ok(!printed.includes(secret), `the provider host printed ${what}`);
        }
    });
});
