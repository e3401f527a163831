// The database credential rotation drill: generation 1 -> 2 applied in the engine's order, against the emulator and PostgreSQL 15.
import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { SEEDED_SERVICE_NAME, startEmulator, type Emulator } from "../emulator";
import { DatabaseCredentials } from "../components/database/credentials";
import { terminateSessionsProvider } from "../components/database/terminateSessions";
import { deployProvider, variablesDigest } from "../components/render/deploy";
import { envVarProvider } from "../components/render/envVar";
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
import {
    dynamicUrn,
    PROVIDER_KEY,
    renderRequestKind,
    startProviderHost,
    upResource,
    type Props,
    type ProviderHost,
    type ResourceState,
} from "./support/providerHost";

const ROLE_TYPE = "postgresql:index/role:Role";
const PASSWORD_TYPE = "random:index/randomPassword:RandomPassword";
const TERMINATE_TYPE = "pulumi-nodejs:dynamic/postgres:TerminateSessions";
// Each generated password holds every character of RESERVED, and so does the admin's.
const ADMIN = { user: "ahoy_admin", password: `drill-admin${RESERVED}` };
const IN_FLIGHT = new Set(["created", "queued", "build_in_progress", "pre_deploy_in_progress", "update_in_progress"]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the program declares for one `databaseCredentialGeneration`, with the secrets revealed. */
interface Generation {
    readonly databaseUrl: string;
    readonly roles: Readonly<Record<"blue" | "green", DeclaredRole>>;
    /** The TerminateSessions inputs: the standby role, ended after the deploy. */
    readonly retiredSessions: Props;
}

// A RandomPassword keeps its value until its keepers change, as the engine keeps it in the state: one password per
// resource and keeper, random, holding every reserved character.
const passwords = new Map<string, string>();

/** Declares DatabaseCredentials (and its retirement after a stand-in deploy) under mocks, at the test server's address. */
async function declare(generation: number, server: PostgresServer): Promise<Generation> {
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
        port: server.port,
        database: "ahoy_prod",
        sslMode: "disable",
    });
    const deploy = new StandInDeploy("ahoy-deploy", { databaseUrl: credentials.databaseUrl });
    const retirement = credentials.retireStandby(deploy);
    const databaseUrl = await valueOf(credentials.databaseUrl);
    await Promise.all([deploy, retirement.role, retirement.sessions].map((r) => valueOf(r.urn)));

    const role = (slot: "blue" | "green"): DeclaredRole => {
        const found = registered.filter((r) => r.type === ROLE_TYPE && r.name === `ahoy-db-${slot}`);
        assert.equal(
            found.length,
            1,
            `generation ${generation}: expected one Role ahoy-db-${slot}, found ${found.length}`,
        );
        const { name, login, password, roles, assumeRole } = found[0].inputs as unknown as DeclaredRole;
        return { name, login, password, roles, assumeRole };
    };
    const sessions = registered.filter((r) => r.type === TERMINATE_TYPE);
    assert.equal(sessions.length, 1, `generation ${generation}: expected one TerminateSessions`);
    const { database, role: retired, generation: declaredGeneration } = sessions[0].inputs;
    return {
        databaseUrl,
        roles: { blue: role("blue"), green: role("green") },
        retiredSessions: { database, role: retired, generation: declaredGeneration },
    };
}

describe("rotation drill: databaseCredentialGeneration 1 -> 2 against the emulator and PostgreSQL 15", function () {
    this.timeout(120_000);
    let emulator: Emulator;
    let server: PostgresServer;
    let superuser: Client;
    let admin: Client;
    let host: ProviderHost;
    const providers = {
        envVar: envVarProvider.source,
        deploy: deployProvider.source,
        sessions: terminateSessionsProvider.source,
    };
    /** The engine's state of the three resources the drill drives through the provider host. */
    const state: { envVar?: ResourceState; deploy?: ResourceState; sessions?: ResourceState } = {};
    /** A session the running app holds, opened with the DATABASE_URL of the deploy live before the rotation. */
    let appSession: Client;
    let appSessionEnded: Promise<Error>;
    let one: Generation;
    let two: Generation;
    let liveBefore: string;

    const urns = {
        envVar: dynamicUrn("render:EnvVar", "ahoy-DATABASE_URL"),
        deploy: dynamicUrn("render:Deploy", "ahoy-deploy"),
        sessions: dynamicUrn("postgres:TerminateSessions", "ahoy-db-retired-sessions"),
    };
    const envVarInputs = (url: string): Props => ({
        [PROVIDER_KEY]: providers.envVar,
        service: SEEDED_SERVICE_NAME,
        key: "DATABASE_URL",
        value: url,
        apiUrl: emulator.baseUrl,
    });
    // The program's trigger is the digest of every managed variable; DATABASE_URL is the one this drill changes.
    const deployInputs = (url: string): Props => ({
        [PROVIDER_KEY]: providers.deploy,
        service: SEEDED_SERVICE_NAME,
        apiUrl: emulator.baseUrl,
        trigger: variablesDigest({ DATABASE_URL: url }),
    });
    const sessionsInputs = (generation: Generation): Props => ({
        [PROVIDER_KEY]: providers.sessions,
        ...generation.retiredSessions,
    });
    const writes = () => emulator.requests().filter((r) => r.method !== "GET");

    /** `pulumi up` of one generation, in the order the program's dependencies impose. */
    async function up(generation: Generation, active: "blue" | "green"): Promise<void> {
        const standby = active === "blue" ? "green" : "blue";
        await applyRole(admin, generation.roles[active]);
        state.envVar = (await upResource(host, urns.envVar, envVarInputs(generation.databaseUrl), state.envVar)).state;
        state.deploy = (await upResource(host, urns.deploy, deployInputs(generation.databaseUrl), state.deploy)).state;
        await applyRole(admin, generation.roles[standby]);
        state.sessions = (await upResource(host, urns.sessions, sessionsInputs(generation), state.sessions)).state;
    }

    before(async () => {
        // Each deploy status lasts long enough that a login (SCRAM, a fresh connection) fits wholly inside the deploy's
        // flight even on a busy machine: the second step checks that one did.
        [emulator, server] = await Promise.all([startEmulator({ port: 0, stepMs: 100 }), startPostgres()]);
        superuser = await server.connect();
        // The owner role and the app's database exist before the program, which never changes them; the admin is no superuser.
        admin = await createAppDatabase(server, superuser, ADMIN);

        host = await startProviderHost({ RENDER_API_KEY: emulator.apiKey });
        await host.configure(adminStackConfig(server, ADMIN));

        // Generation 1 is what production runs before the incident: blue active, green standing by without LOGIN.
        one = await declare(1, server);
        await up(one, "blue");
        assert.equal(state.deploy?.outputs.status, "live");
        assert.equal(emulator.liveEnv().DATABASE_URL, one.databaseUrl, "generation 1's URL is live before the drill");
        liveBefore = String(state.deploy?.outputs.deployId);
        appSession = new Client({ connectionString: emulator.liveEnv().DATABASE_URL });
        // A session ended by the server reports it as an event: the first one says why.
        appSessionEnded = new Promise<Error>((resolve) => appSession.on("error", resolve));
        await appSession.connect();
        await appSession.query("CREATE TABLE tracks (id serial PRIMARY KEY, title text)");
        await appSession.query("INSERT INTO tracks (title) VALUES ('before the rotation')");

        two = await declare(2, server);
        emulator.clearRequests();
    });

    after(async () => {
        await appSession?.end().catch(() => undefined);
        await admin?.end().catch(() => undefined);
        await superuser?.end().catch(() => undefined);
        await host?.close();
        await emulator?.close();
        await server?.stop();
    });

    // The steps below are one `pulumi up`, in order: each `it` continues from the state the previous one left.

    it("the bump renews only green's password, and green holds it, with LOGIN, before anything reaches Render", async () => {
        assert.equal(two.roles.blue.password, one.roles.blue.password, "blue keeps its password through the switch");
        assert.notEqual(two.roles.green.password, one.roles.green.password, "green gets a new password");
        assert.deepEqual([two.roles.green.login, two.roles.blue.login], [true, false]);
        assert.match(two.databaseUrl, /^postgresql:\/\/ahoy_app_green:/);
        assert.ok(two.roles.green.password.includes(RESERVED), "the new password holds every URL-reserved character");

        await applyRole(admin, two.roles.green);
        assert.equal(await canConnect(two.databaseUrl), true, "the new URL works before any deploy carries it");
        assert.equal(await canConnect(one.databaseUrl), true, "the URL the app runs still works");
        assert.deepEqual(writes(), [], "the database is ready first: nothing has been written to Render yet");
    });

    it("one variable write and one deploy put the new DATABASE_URL live, and blue logs in throughout the flight", async () => {
        const envVar = await upResource(host, urns.envVar, envVarInputs(two.databaseUrl), state.envVar);
        state.envVar = envVar.state;
        assert.equal(envVar.op, "update");
        assert.equal(emulator.liveEnv().DATABASE_URL, one.databaseUrl, "a written variable runs only after a deploy");

        // While the deploy is in flight, the app still runs generation 1's URL: it must log in at every moment.
        const checks: Array<{ before: string; after: string; url: string; result: true | string }> = [];
        let settled = false;
        const deploying = upResource(host, urns.deploy, deployInputs(two.databaseUrl), state.deploy).finally(
            () => (settled = true),
        );
        while (!settled) {
            const newest = emulator.deploys()[0];
            if (newest && newest.id !== liveBefore && IN_FLIGHT.has(newest.status)) {
                const url = emulator.liveEnv().DATABASE_URL;
                const result = await canConnect(url);
                const after = emulator.deploys().find((d) => d.id === newest.id)?.status ?? "gone";
                checks.push({ before: newest.status, after, url, result });
            } else {
                await sleep(2);
            }
        }
        const deploy = await deploying;
        state.deploy = deploy.state;

        assert.ok(
            checks.some((c) => IN_FLIGHT.has(c.before) && IN_FLIGHT.has(c.after)),
            `no login was checked wholly while the deploy was in flight: ${JSON.stringify(checks.map(({ before, after }) => ({ before, after })))}`,
        );
        for (const check of checks) {
            assert.equal(check.url, one.databaseUrl, `while ${check.before}, the live deploy runs generation 1's URL`);
            assert.equal(
                check.result,
                true,
                `while ${check.before}, the running app's login was refused: ${check.result}`,
            );
        }
        assert.equal(deploy.op, "update");
        assert.equal(deploy.state.outputs.status, "live");
        assert.equal(emulator.liveDeploy()?.id, deploy.state.outputs.deployId);
        assert.equal(emulator.liveEnv().DATABASE_URL, two.databaseUrl, "the live deploy runs the new DATABASE_URL");
        assert.deepEqual(
            writes().map(
                (r) => `${renderRequestKind(r)}${r.path.endsWith("/env-vars/DATABASE_URL") ? " (DATABASE_URL)" : ""}`,
            ),
            ["PUT /services/{id}/env-vars/{key} (DATABASE_URL)", "POST /services/{id}/deploys"],
            "the rotation costs exactly one variable write and one deploy trigger",
        );
        assert.equal(await canConnect(one.databaseUrl), true, "blue is not retired before its step");
    });

    it("only after that deploy is live does blue lose LOGIN and its open session end; the app then works with the new URL only", async () => {
        assert.equal(state.deploy?.outputs.status, "live", "retirement follows a live deploy");
        await applyRole(admin, two.roles.blue);
        assert.match(
            String(await canConnect(one.databaseUrl)),
            /not permitted to log in/,
            "the old URL is refused once blue is retired",
        );
        assert.equal(
            (await appSession.query("SELECT session_user::text AS login")).rows[0].login,
            "ahoy_app_blue",
            "LOGIN alone leaves open sessions",
        );

        const sessions = await upResource(host, urns.sessions, sessionsInputs(two), state.sessions);
        state.sessions = sessions.state;
        assert.equal(sessions.op, "update", "a new generation ends the retired role's sessions again");
        assert.deepEqual(
            { role: sessions.state.outputs.role, terminated: sessions.state.outputs.terminated },
            { role: "ahoy_app_blue", terminated: 1 },
        );
        assert.match((await appSessionEnded).message, /terminat/i);
        await assert.rejects(appSession.query("SELECT 1"), "the retired role's session is gone");

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
        assert.match(String(await canConnect(one.databaseUrl)), /not permitted to log in/);
    });

    it("a re-run with nothing changed writes nothing to Render and ends no session; no secret reached the host's output", async () => {
        emulator.clearRequests();
        const ops = [
            (await upResource(host, urns.envVar, envVarInputs(two.databaseUrl), state.envVar)).op,
            (await upResource(host, urns.deploy, deployInputs(two.databaseUrl), state.deploy)).op,
            (await upResource(host, urns.sessions, sessionsInputs(two), state.sessions)).op,
        ];
        assert.deepEqual(ops, ["same", "same", "same"]);
        assert.deepEqual(writes(), []);
        const printed = host.output();
        const secrets = {
            "the admin password": ADMIN.password,
            "generation 1's blue password": one.roles.blue.password,
            "generation 2's green password": two.roles.green.password,
            "generation 1's DATABASE_URL": one.databaseUrl,
            "generation 2's DATABASE_URL": two.databaseUrl,
        };
        for (const [what, secret] of Object.entries(secrets)) {
            assert.ok(!printed.includes(secret), `the provider host printed ${what}`);
        }
    });
});
