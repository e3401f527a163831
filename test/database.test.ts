// Alternating database users: what DatabaseCredentials declares, applied to a real PostgreSQL 15 the way the provider would.
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { Client } from "pg";
import { DatabaseCredentials, type DatabaseCredentialsArgs } from "../components/database/credentials";
import {
    terminateSessionsProvider,
    type TerminateSessionsInputs,
    type TerminateSessionsOutputs,
} from "../components/database/terminateSessions";
import { roleName } from "../stacks/rotation";
import { loadProvider } from "./support/providerHost";
import {
    adminStackConfig,
    applyRole,
    canConnect,
    createAppDatabase,
    providerConfig,
    startPostgres,
    type DeclaredRole,
    type PostgresServer,
} from "./support/postgres";
import { isSecretValue, RESERVED, revealAll, setProjectMocks, StandInDeploy, valueOf } from "./support/mocks";

const ROLE_TYPE = "postgresql:index/role:Role";
const PASSWORD_TYPE = "random:index/randomPassword:RandomPassword";
const TERMINATE_TYPE = "pulumi-nodejs:dynamic/postgres:TerminateSessions";
const DEPLOY_TYPE = StandInDeploy.TYPE;

// The mock passwords hold every character of RESERVED, and so does the admin's.
const ADMIN = { user: "ahoy_admin", password: `admin${RESERVED}pw` };

interface Declared {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    /** Inputs as sent to the engine: secrets still wrapped. */
    readonly raw: Record<string, unknown>;
    readonly inputs: Record<string, unknown>;
    readonly dependencies: readonly string[];
}

interface Declaration {
    readonly resources: Declared[];
    readonly databaseUrl: string;
    readonly databaseUrlSecret: boolean;
    readonly activeRole: string;
    role(slot: "blue" | "green"): Declared;
    declaredRole(slot: "blue" | "green"): DeclaredRole;
    ofType(type: string): Declared[];
}

const baseArgs: Omit<DatabaseCredentialsArgs, "generation" | "host" | "port"> = {
    rolePrefix: "ahoy_app",
    ownerRole: "ahoy",
    database: "ahoy_prod",
    sslMode: "disable",
};

/**
 * Declares DatabaseCredentials (and its retirement after a stand-in deploy) under Pulumi's mocks, recording each
 * registration as the engine would receive it. A mock RandomPassword's result is derived from its keeper, so a
 * changed keeper shows as a changed password, and holds every reserved character.
 */
async function declare(generation: number, app = { host: "127.0.0.1", port: 5432 }): Promise<Declaration> {
    const resources: Declared[] = [];
    await setProjectMocks((args) => {
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === PASSWORD_TYPE) {
            const keepers = revealAll(args.inputs.keepers) as { generation: string };
            state.result = `${args.name}@${keepers.generation} ${RESERVED}`;
        }
        return { id: `${args.name}-id`, state };
    });
    type Req = {
        getType(): string;
        getName(): string;
        getObject(): { toJavaScript(): Record<string, unknown> };
        getDependenciesList(): string[];
    };
    type Callback = (err: Error | null, res?: { getUrn(): string }) => void;
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: Req, cb: Callback): void };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) =>
        register(req, (err, res) => {
            if (res) {
                const raw = req.getObject().toJavaScript();
                resources.push({
                    type: req.getType(),
                    name: req.getName(),
                    urn: res.getUrn(),
                    raw,
                    inputs: revealAll(raw) as Record<string, unknown>,
                    dependencies: req.getDependenciesList(),
                });
            }
            cb(err, res);
        });

    const credentials = new DatabaseCredentials("db", { ...baseArgs, ...app, generation });
    const deploy = new StandInDeploy("deploy", { databaseUrl: credentials.databaseUrl });
    const retirement = credentials.retireStandby(deploy);
    const databaseUrl = await valueOf(credentials.databaseUrl);
    const databaseUrlSecret = await pulumi.isSecret(credentials.databaseUrl);
    await Promise.all(
        [
            credentials,
            deploy,
            retirement.role,
            retirement.sessions,
            credentials.passwords.blue,
            credentials.passwords.green,
        ].map((r) => valueOf(r.urn)),
    );

    const ofType = (type: string) => resources.filter((r) => r.type === type);
    const role = (slot: "blue" | "green") => {
        const found = ofType(ROLE_TYPE).filter((r) => r.name === `db-${slot}`);
        assert.equal(found.length, 1, `expected one Role db-${slot}, found ${found.length}`);
        return found[0];
    };
    return {
        resources,
        databaseUrl,
        databaseUrlSecret,
        activeRole: credentials.activeRole,
        ofType,
        role,
        declaredRole(slot) {
            const { name, login, password, roles, assumeRole } = role(slot).inputs as unknown as DeclaredRole;
            return { name, login, password, roles, assumeRole };
        },
    };
}

/**
 * The TerminateSessions provider as the engine runs it: its `__provider` text loaded, configured with the stack's config;
 * the loaded shim requires its implementation from the project directory, as the provider host does.
 */
async function loadTerminateSessions(config: Record<string, string>): Promise<pulumi.dynamic.ResourceProvider> {
    const text = terminateSessionsProvider.source;
    assert.ok(!text.includes(ADMIN.password), "the serialized provider must not contain the admin password");
    assert.ok(
        text.includes('"postgres:TerminateSessions"') && text.includes("components/providers.ts"),
        "the state names the type and the registry the host requires it from",
    );
    assert.ok(!text.includes("pg_terminate_backend"), "the SQL stays in the implementation, out of the state");
    assert.ok(
        text.length < 8_000,
        `the serialized provider is ${text.length} characters: it should carry only the shim`,
    );
    const provider = loadProvider(terminateSessionsProvider);
    await provider.configure!({ config: providerConfig(config) });
    return provider;
}

describe("database credentials as declared", () => {
    it("declare two login roles named by slot, members of the owner role that switch to it at login; only the active one logs in", async () => {
        for (const generation of [3, 4, 5]) {
            const declared = await declare(generation);
            const roles = declared.ofType(ROLE_TYPE);
            assert.deepEqual(
                roles.map((r) => r.inputs.name).sort(),
                ["ahoy_app_blue", "ahoy_app_green"],
                `generation ${generation}: role names`,
            );
            for (const role of roles) {
                assert.deepEqual(role.inputs.roles, ["ahoy"], `${role.name}: a member of the owner role`);
                assert.equal(role.inputs.assumeRole, "ahoy", `${role.name}: switches to the owner role at login`);
                assert.ok(isSecretValue(role.raw.password), `${role.name}: the password input is a secret`);
                assert.ok(
                    !("superuser" in role.inputs) && !("createRole" in role.inputs),
                    `${role.name}: no extra privileges`,
                );
            }
            const active = generation % 2 === 1 ? "blue" : "green";
            assert.equal(declared.role(active).inputs.login, true);
            assert.equal(declared.role(active === "blue" ? "green" : "blue").inputs.login, false);
            assert.ok(!roles.some((r) => r.inputs.name === "ahoy"), "the owner role is never declared");
        }
    });

    it("3 to 4 gives only the standby slot a new password, makes it active, and points DATABASE_URL at it", async () => {
        const [three, four] = [await declare(3), await declare(4)];
        assert.equal(three.activeRole, "ahoy_app_blue");
        assert.equal(four.activeRole, "ahoy_app_green");
        assert.equal(
            four.declaredRole("blue").password,
            three.declaredRole("blue").password,
            "blue keeps its password",
        );
        assert.notEqual(
            four.declaredRole("green").password,
            three.declaredRole("green").password,
            "green gets a new one",
        );
        assert.match(four.databaseUrl, /^postgresql:\/\/ahoy_app_green:/);
        assert.equal(new Client({ connectionString: four.databaseUrl }).password, four.declaredRole("green").password);
        assert.ok(four.databaseUrlSecret, "DATABASE_URL is a secret");
    });

    it("3 to 5 returns to blue with a new password", async () => {
        const [three, five] = [await declare(3), await declare(5)];
        assert.equal(five.activeRole, "ahoy_app_blue");
        assert.notEqual(five.declaredRole("blue").password, three.declaredRole("blue").password);
        assert.match(five.databaseUrl, /^postgresql:\/\/ahoy_app_blue:/);
    });

    it("retires the standby only after the deploy, and ends its sessions only after it lost LOGIN", async () => {
        const declared = await declare(4);
        const deploy = declared.ofType(DEPLOY_TYPE)[0];
        const blue = declared.role("blue");
        const green = declared.role("green");
        const [sessions] = declared.ofType(TERMINATE_TYPE);
        assert.ok(blue.dependencies.includes(deploy.urn), "the retired role waits for the deploy");
        assert.ok(!green.dependencies.includes(deploy.urn), "the active role is ready before the deploy");
        assert.ok(sessions.dependencies.includes(blue.urn), "sessions end after the role lost LOGIN");
        assert.deepEqual(
            { role: sessions.inputs.role, generation: sessions.inputs.generation },
            { role: "ahoy_app_blue", generation: 4 },
        );
    });

    it("refuses an owner role that is one of the login roles", async () => {
        await setProjectMocks();
        assert.throws(
            () =>
                new DatabaseCredentials("bad", {
                    ...baseArgs,
                    ownerRole: "ahoy_app_blue",
                    host: "h",
                    port: 5432,
                    generation: 1,
                }),
            /databaseOwnerRole: got "ahoy_app_blue"; expected the existing role that owns the app's tables/,
        );
    });
});

describe("database credentials against PostgreSQL 15", function () {
    this.timeout(120000);
    let server: PostgresServer;
    let superuser: Client;
    let admin: Client;
    let adminConfig: Record<string, string>;
    const open: Client[] = [];

    before(async () => {
        server = await startPostgres();
        superuser = await server.connect();
        // The owner role exists before the program, which never creates it; the admin is no superuser.
        admin = await createAppDatabase(server, superuser, ADMIN);
        adminConfig = adminStackConfig(server, ADMIN);
    });

    after(async () => {
        for (const client of open) await client.end().catch(() => undefined);
        await admin?.end().catch(() => undefined);
        await superuser?.end().catch(() => undefined);
        await server?.stop();
    });

    const app = () => ({ host: server.host, port: server.port });
    const connectUrl = async (url: string) => {
        const client = new Client({ connectionString: url });
        // A session ended by the server reports it as an event; the test that ends it listens for it.
        client.on("error", () => undefined);
        await client.connect();
        open.push(client);
        return client;
    };

    it("lets the app connect with the composed DATABASE_URL, acting as the owner, so its tables belong to the owner", async () => {
        const declared = await declare(3, app());
        assert.ok(
            declared.declaredRole("blue").password.includes(RESERVED),
            "the password holds every reserved character",
        );
        await applyRole(admin, declared.declaredRole("blue"));
        await applyRole(admin, declared.declaredRole("green"));
        const client = await connectUrl(declared.databaseUrl);
        const who = await client.query("SELECT session_user::text AS login, current_user::text AS acting");
        assert.deepEqual(who.rows[0], { login: "ahoy_app_blue", acting: "ahoy" });
        await client.query("CREATE TABLE tracks (id serial PRIMARY KEY, title text)");
        await client.query("INSERT INTO tracks (title) VALUES ('first')");
        const owner = await client.query("SELECT tableowner FROM pg_tables WHERE tablename = 'tracks'");
        assert.equal(owner.rows[0].tableowner, "ahoy", "the table is owned by the owner role, not the login role");
        const ownedByLogins = await client.query(
            "SELECT count(*)::int AS n FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname LIKE 'ahoy_app_%'",
        );
        assert.equal(ownedByLogins.rows[0].n, 0, "the login roles own nothing");
        assert.match(
            String(await canConnect(declared.databaseUrl.replace("ahoy_app_blue", "ahoy_app_green"))),
            /password authentication failed/,
        );
        await client.end();
    });

    it("rotates 3 to 4 without downtime: both logins work during the switch, then the old one is refused and its sessions end", async () => {
        const three = await declare(3, app());
        const oldSession = await connectUrl(three.databaseUrl);
        const four = await declare(4, app());

        // The active role first: its new password is in the database before any deploy can carry it.
        await applyRole(admin, four.declaredRole("green"));
        const newSession = await connectUrl(four.databaseUrl);
        assert.equal(
            (await newSession.query("SELECT count(*)::int AS n FROM tracks")).rows[0].n,
            1,
            "the new role reads the owner's table",
        );
        assert.equal(await canConnect(three.databaseUrl), true, "the old role still logs in until the deploy is live");

        // The deploy is live: the standby loses LOGIN, then its sessions end.
        await applyRole(admin, four.declaredRole("blue"));
        assert.match(String(await canConnect(three.databaseUrl)), /not permitted to log in/);
        assert.equal(
            (await oldSession.query("SELECT 1 AS ok")).rows[0].ok,
            1,
            "LOGIN alone leaves open sessions alive",
        );
        // A terminated client reports the termination, then the closed socket; the first says why.
        const ended = new Promise<Error>((resolve) => oldSession.on("error", resolve));

        const provider = await loadTerminateSessions(adminConfig);
        const inputs = four.ofType(TERMINATE_TYPE)[0].inputs as unknown as TerminateSessionsInputs;
        const result = await provider.create!(inputs);
        assert.equal((result.outs as TerminateSessionsOutputs).terminated, 1);
        assert.match((await ended).message, /terminat/i);
        await assert.rejects(oldSession.query("SELECT 1"), "the retired role's session is gone");
        assert.equal(
            (await newSession.query("SELECT current_user::text AS acting")).rows[0].acting,
            "ahoy",
            "the active role still works",
        );
        await newSession.query("INSERT INTO tracks (title) VALUES ('after rotation')");
    });

    it("refuses to end the sessions of a role that can still log in (they may be the live app's)", async () => {
        const provider = await loadTerminateSessions(adminConfig);
        await assert.rejects(
            provider.create!({ database: "ahoy_prod", role: roleName("ahoy_app", "green"), generation: 4 }),
            /role ahoy_app_green can still log in, so its sessions may be the running app's/,
        );
    });

    it("says which grant is missing when the admin may not end sessions", async () => {
        await superuser.query("CREATE ROLE weak_admin LOGIN CREATEROLE PASSWORD 'weak-pw'");
        await superuser.query("CREATE ROLE retired_role NOLOGIN");
        await superuser.query("ALTER ROLE retired_role LOGIN PASSWORD 'retired-pw'");
        const session = await server.connectAs("retired_role", "retired-pw");
        open.push(session);
        session.on("error", () => undefined);
        await superuser.query("ALTER ROLE retired_role NOLOGIN");
        const provider = await loadTerminateSessions({
            ...adminConfig,
            "postgresql:username": "weak_admin",
            "postgresql:password": "weak-pw",
        });
        await assert.rejects(
            provider.create!({ database: "postgres", role: "retired_role", generation: 2 }),
            (err: Error) =>
                /weak_admin may not end the sessions of retired_role/.test(err.message) &&
                /GRANT pg_signal_backend TO weak_admin/.test(err.message) &&
                !err.message.includes("weak-pw"),
        );
    });

    it("ends nothing and succeeds when the role does not exist yet", async () => {
        const provider = await loadTerminateSessions(adminConfig);
        const result = await provider.create!({ database: "ahoy_prod", role: "ahoy_app_nobody", generation: 1 });
        assert.equal((result.outs as TerminateSessionsOutputs).terminated, 0);
    });
});
