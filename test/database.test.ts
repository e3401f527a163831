// Alternating database users: what DatabaseCredentials declares, applied to a real PostgreSQL 15 the way the provider would.
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { Client } from "pg";
import { DatabaseCredentials, type DatabaseCredentialsArgs } from "../components/database/credentials";
import { loginProofProvider } from "../components/database/loginProof";
import {
    retireLoginProvider,
    type RetireLoginInputs,
    type RetireLoginOutputs,
} from "../components/database/retireLogin";
import { rotationGateProvider, type RotationGateInputs } from "../components/database/rotationGate";
import type { ModuleProvider } from "../components/dynamicProvider";
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
const RETIRE_TYPE = "pulumi-nodejs:dynamic/postgres:RetireLogin";
const GATE_TYPE = "pulumi-nodejs:dynamic/postgres:RotationGate";
const PROOF_TYPE = "pulumi-nodejs:dynamic/postgres:LoginProof";
const APP = "ahoy-indie-media";
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
    applicationName: APP,
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
            // Random-looking, as a real one is (redaction hides any 4 characters of it), and different per keeper.
            const keepers = revealAll(args.inputs.keepers) as { generation: string };
            const seed = createHash("sha256").update(`${args.name}@${keepers.generation}`).digest("base64url");
            state.result = `${seed.slice(0, 20)} ${RESERVED}`;
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
    const verification = new StandInDeploy("verify", { deployId: deploy.id });
    const retirement = credentials.retireStandby({ deploy, verification });
    const databaseUrl = await valueOf(credentials.databaseUrl);
    const databaseUrlSecret = await pulumi.isSecret(credentials.databaseUrl);
    await Promise.all(
        [credentials, deploy, retirement.role, retirement.retire, verification, credentials.password].map((r) =>
            valueOf(r.urn),
        ),
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
 * A database provider as the engine runs it: its `__provider` text loaded, configured with the stack's config; the
 * loaded shim requires its implementation (through the registry) from the project directory, as the provider host does.
 */
async function loadDatabaseProvider<I, O>(
    provider: ModuleProvider,
    config: Record<string, string>,
): Promise<pulumi.dynamic.ResourceProvider<I, O>> {
    const text = provider.source;
    assert.ok(!text.includes(ADMIN.password), "the serialized provider must not contain the admin password");
    assert.ok(
        text.includes(`"${provider.module}:${provider.type}"`) && text.includes("components/providers.ts"),
        "the state names the type and the registry the host requires it from",
    );
    assert.ok(!/pg_terminate_backend|ALTER ROLE|pg_roles/.test(text), "the SQL stays in the implementation");
    assert.ok(
        text.length < 8_000,
        `the serialized provider is ${text.length} characters: it should carry only the shim`,
    );
    const loaded = loadProvider<I, O>(provider);
    await loaded.configure!({ config: providerConfig(config) });
    return loaded;
}

describe("database credentials as declared", () => {
    it("declare two login roles named by slot, members of the owner role that switch to it at login; only the active one logs in, or has a password", async () => {
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
                if (role.inputs.login) assert.ok(isSecretValue(role.raw.password), `${role.name}: a secret password`);
                else assert.ok(!("password" in role.inputs), `${role.name}: retired, without a password`);
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

    it("3 to 4 gives the standby slot a password of generation 4's own, makes it active, and points DATABASE_URL at it; blue loses its", async () => {
        const [three, four] = [await declare(3), await declare(4)];
        assert.equal(three.activeRole, "ahoy_app_blue");
        assert.equal(four.activeRole, "ahoy_app_green");
        assert.ok(four.declaredRole("green").password, "green gets a password");
        assert.notEqual(four.declaredRole("green").password, three.declaredRole("blue").password);
        assert.equal(three.declaredRole("green").password, undefined, "green had none while it stood by");
        assert.equal(four.declaredRole("blue").password, undefined, "retired, blue keeps no password");
        assert.deepEqual(
            four.ofType(PASSWORD_TYPE).map((p) => [p.name, (p.inputs.keepers as { generation: string }).generation]),
            [["db-green-password", "4"]],
            "one password, kept by the generation",
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

    it("retires the standby only on proof: after the deploy, its verification and the login proof; the role after that", async () => {
        const declared = await declare(4);
        const deploy = declared.ofType(DEPLOY_TYPE).find((r) => r.name === "deploy")!;
        const verification = declared.ofType(DEPLOY_TYPE).find((r) => r.name === "verify")!;
        const [proof] = declared.ofType(PROOF_TYPE);
        const [retire] = declared.ofType(RETIRE_TYPE);
        const blue = declared.role("blue");
        const green = declared.role("green");
        for (const [what, urn] of [
            ["the deploy", deploy.urn],
            ["its verification", verification.urn],
            ["the login proof", proof.urn],
        ] as const) {
            assert.ok(retire.dependencies.includes(urn), `the retirement waits for ${what}`);
        }
        assert.ok(blue.dependencies.includes(retire.urn), "the retired role is declared without LOGIN after it");
        assert.ok(!green.dependencies.includes(deploy.urn), "the active role is ready before the deploy");
        assert.deepEqual(
            {
                role: retire.inputs.role,
                generation: retire.inputs.generation,
                applicationName: retire.inputs.applicationName,
            },
            { role: "ahoy_app_blue", generation: 4, applicationName: APP },
        );
        assert.equal(
            retire.inputs.liveSince,
            "2026-12-01T03:00:00.000Z",
            "it dates the old app's sessions by the deploy",
        );
        assert.ok(isSecretValue(retire.raw.databaseUrl), "the URL it proves with is a secret");
    });

    it("checks the gate before any password changes, and proves the new login before anything takes the URL", async () => {
        const declared = await declare(4);
        const [gate] = declared.ofType(GATE_TYPE);
        const [proof] = declared.ofType(PROOF_TYPE);
        assert.deepEqual(
            {
                generation: gate.inputs.generation,
                activeRole: gate.inputs.activeRole,
                standbyRole: gate.inputs.standbyRole,
            },
            { generation: 4, activeRole: "ahoy_app_green", standbyRole: "ahoy_app_blue" },
        );
        for (const password of declared.ofType(PASSWORD_TYPE)) {
            assert.ok(password.dependencies.includes(gate.urn), `${password.name} waits for the gate`);
        }
        assert.ok(proof.dependencies.includes(declared.role("green").urn), "the proof logs in once the role holds it");
        assert.ok(isSecretValue(proof.raw.databaseUrl), "the proof's URL is a secret");
        const deploy = declared.ofType(DEPLOY_TYPE).find((r) => r.name === "deploy")!;
        assert.ok(deploy.dependencies.includes(proof.urn), "what takes DATABASE_URL waits for the proof");
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
        // The app's sessions on a new login are awaited 2 s here, not a minute.
        process.env.AHOY_APP_LOGIN_WAIT_MS = "2000";
        server = await startPostgres();
        superuser = await server.connect();
        // The owner role exists before the program, which never creates it; the admin is no superuser.
        admin = await createAppDatabase(server, superuser, ADMIN);
        adminConfig = adminStackConfig(server, ADMIN);
    });

    after(async () => {
        delete process.env.AHOY_APP_LOGIN_WAIT_MS;
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
            declared.declaredRole("blue").password!.includes(RESERVED),
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

        // The deploy is live and verified: RetireLogin proves the new login, takes LOGIN and ends the old app's session.
        const ended = new Promise<Error>((resolve) => oldSession.on("error", resolve));
        const provider = await loadDatabaseProvider<RetireLoginInputs, RetireLoginOutputs>(
            retireLoginProvider,
            adminConfig,
        );
        const result = await provider.create!(retirement(four, new Date()));
        assert.equal(result.outs?.terminated, 1);
        assert.match((await ended).message, /terminat/i);
        await assert.rejects(oldSession.query("SELECT 1"), "the retired role's session is gone");
        assert.match(String(await canConnect(three.databaseUrl)), /not permitted to log in/);
        assert.equal(
            (await newSession.query("SELECT current_user::text AS acting")).rows[0].acting,
            "ahoy",
            "the active role still works",
        );
        await newSession.query("INSERT INTO tracks (title) VALUES ('after rotation')");
        await newSession.end();
        // The bridged Role then declares blue without LOGIN and without a password: even a LOGIN given back by hand
        // would not let generation 3's password in.
        await applyRole(admin, four.declaredRole("blue"));
        await admin.query("ALTER ROLE ahoy_app_blue LOGIN");
        assert.match(String(await canConnect(three.databaseUrl)), /password authentication failed/);
        await admin.query("ALTER ROLE ahoy_app_blue NOLOGIN");
    });

    /** RetireLogin's inputs as the program declares them for `declaration`, with the deploy live since `liveSince`. */
    function retirement(declaration: Declaration, liveSince: Date): RetireLoginInputs {
        const inputs = declaration.ofType(RETIRE_TYPE)[0].inputs as unknown as RetireLoginInputs;
        return { ...inputs, liveSince: liveSince.toISOString() };
    }

    /** Generation 5 (blue active again) applied, green being the login to retire, with `green` holding a session. */
    async function greenInUse(
        applicationName: string,
    ): Promise<{ five: Declaration; session: Client; liveSince: Date }> {
        const four = await declare(4, app());
        await applyRole(admin, four.declaredRole("green"));
        const five = await declare(5, app());
        await applyRole(admin, five.declaredRole("blue"));
        const liveSince = new Date(Date.now() - 60_000);
        const url = new URL(four.databaseUrl);
        url.searchParams.set("application_name", applicationName);
        const session = await connectUrl(url.toString());
        return { five, session, liveSince };
    }

    it("does not cut off a second client on the old login: fails naming it, and the login keeps working", async () => {
        const { five, session, liveSince } = await greenInUse("nightly-export");
        const provider = await loadDatabaseProvider<RetireLoginInputs, RetireLoginOutputs>(
            retireLoginProvider,
            adminConfig,
        );
        await assert.rejects(provider.create!(retirement(five, liveSince)), (err: Error) => {
            assert.match(
                err.message,
                /not retiring ahoy_app_green: 1 of its sessions are not the old app's .*pid \d+ \(application_name "nightly-export", from 127\.0\.0\.1, since /,
            );
            assert.match(err.message, /ahoy_app_green keeps its login/);
            assert.ok(
                !err.message.includes(five.declaredRole("blue").password!),
                "the new password is not in the message",
            );
            return true;
        });
        assert.equal((await session.query("SELECT 1 AS ok")).rows[0].ok, 1, "its session is untouched");
        const login = await superuser.query("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'ahoy_app_green'");
        assert.equal(login.rows[0].rolcanlogin, true, "the login was not taken away");
        await session.end();
    });

    it("does not take a session opened after the new deploy went live for the old app's", async () => {
        const { five, session } = await greenInUse(APP);
        const provider = await loadDatabaseProvider<RetireLoginInputs, RetireLoginOutputs>(
            retireLoginProvider,
            adminConfig,
        );
        // The deploy went live a minute before this session opened: whatever opened it is not the old app.
        await assert.rejects(
            provider.create!(retirement(five, new Date(Date.now() - 120_000))).then(() =>
                provider.create!(retirement(five, new Date(Date.now() - 3_600_000))),
            ),
            /opened after the new deploy went live/,
        );
        assert.equal((await session.query("SELECT 1 AS ok")).rows[0].ok, 1);
        await session.end();
    });

    it("does not retire anything when the new URL cannot log in", async () => {
        const four = await declare(4, app());
        await applyRole(admin, four.declaredRole("green"));
        const five = await declare(7, app());
        // Generation 7's blue password never reached the database.
        const provider = await loadDatabaseProvider<RetireLoginInputs, RetireLoginOutputs>(
            retireLoginProvider,
            adminConfig,
        );
        await assert.rejects(provider.create!(retirement(five, new Date())), (err: Error) => {
            assert.match(
                err.message,
                /the login ahoy_app_blue@127\.0\.0\.1:\d+\/ahoy_prod \(the new DATABASE_URL's\) failed: password authentication failed/,
            );
            assert.ok(!err.message.includes(five.declaredRole("blue").password!), "the password is not in the message");
            return true;
        });
        assert.equal(await canConnect(four.databaseUrl), true, "green, the login the app runs on, still works");
    });

    it("says which grant is missing when the admin may not retire a login", async () => {
        await superuser.query("CREATE ROLE weak_admin LOGIN PASSWORD 'weak-pw'");
        const four = await declare(4, app());
        await applyRole(admin, four.declaredRole("green"));
        const provider = await loadDatabaseProvider<RetireLoginInputs, RetireLoginOutputs>(retireLoginProvider, {
            ...adminConfig,
            "postgresql:username": "weak_admin",
            "postgresql:password": "weak-pw",
        });
        const inputs = retirement(four, new Date());
        // The app runs on green: its session is there, but weak_admin may not see whose it is.
        const appSession = await connectUrl(four.databaseUrl);
        await assert.rejects(provider.create!(inputs), (err: Error) => {
            assert.match(
                err.message,
                /weak_admin may not retire ahoy_app_blue|weak_admin may not see (where they come from|whether they are the app's)/,
            );
            assert.match(err.message, /GRANT pg_(signal_backend|read_all_stats) TO weak_admin/);
            assert.ok(!err.message.includes("weak-pw"));
            return true;
        });
        await appSession.end();
    });

    it("does not retire the old login while the app has not logged in with the new one: fails naming its host and port", async () => {
        const four = await declare(4, app());
        await applyRole(admin, four.declaredRole("green"));
        const five = await declare(5, { host: server.host, port: 1 });
        await applyRole(admin, five.declaredRole("blue"));
        // The app runs generation 4's green; generation 5's URL names a port where no database listens, so the
        // deploy carrying it has no session on blue, though blue's login works through the admin's host and port.
        const oldApp = await connectUrl(four.databaseUrl);
        const provider = await loadDatabaseProvider<RetireLoginInputs, RetireLoginOutputs>(
            retireLoginProvider,
            adminConfig,
        );
        const started = Date.now();
        await assert.rejects(provider.create!(retirement(five, new Date(Date.now() + 1_000))), (err: Error) => {
            assert.match(
                err.message,
                /^not retiring ahoy_app_green: the app has not logged in with the new DATABASE_URL: no session of ahoy_app_blue with application_name "ahoy-indie-media" appeared within 2 s after the deploy went live at .*so the app may not reach 127\.0\.0\.1:1: check databaseAppHost and databasePort .* ahoy_app_green keeps its login/,
            );
            return true;
        });
        assert.ok(Date.now() - started >= 2_000, "it waited for the app's sessions");
        assert.equal(
            await canConnect(four.databaseUrl),
            true,
            "green, the login that works for the app, still logs in",
        );
        assert.equal((await oldApp.query("SELECT 1 AS ok")).rows[0].ok, 1, "the old app's session is untouched");
        // Once the app runs on blue (a corrected URL deployed), the next try retires green.
        const newApp = await connectUrl(five.databaseUrl.replace(":1/", `:${server.port}/`));
        const retired = await provider.create!(retirement(five, new Date(Date.now() + 1_000)));
        assert.equal(retired.outs?.terminated, 1, "the old app's session ended");
        assert.match(String(await canConnect(four.databaseUrl)), /not permitted to log in/);
        await newApp.end();
    });

    it("retires nothing and succeeds when the old role does not exist yet (the first generation)", async () => {
        const one = await declare(1, app());
        await applyRole(admin, one.declaredRole("blue"));
        const provider = await loadDatabaseProvider<RetireLoginInputs, RetireLoginOutputs>(
            retireLoginProvider,
            adminConfig,
        );
        const inputs = { ...retirement(one, new Date()), role: "ahoy_app_nobody" };
        assert.equal((await provider.create!(inputs)).outs?.terminated, 0);
    });

    it("the login proof logs in with the URL's own user and password, and fails naming the login, never the password", async () => {
        const six = await declare(6, app());
        const proof = await loadDatabaseProvider<{ databaseUrl: string }, { role: string }>(
            loginProofProvider,
            adminConfig,
        );
        await assert.rejects(proof.create!({ databaseUrl: six.databaseUrl }), (err: Error) => {
            assert.match(
                err.message,
                /the login ahoy_app_green@.* failed: password authentication failed for user "ahoy_app_green"/,
            );
            assert.ok(!err.message.includes(six.declaredRole("green").password!));
            return true;
        });
        await applyRole(admin, six.declaredRole("green"));
        assert.equal((await proof.create!({ databaseUrl: six.databaseUrl })).outs?.role, "ahoy_app_green");
    });

    describe("the gate before a rotation", () => {
        const gateInputs = (generation: number, active: string, standby: string): RotationGateInputs => ({
            database: "ahoy_prod",
            generation,
            activeRole: active,
            standbyRole: standby,
        });

        it("lets a rotation start when the role it activates was retired (cannot log in) or does not exist", async () => {
            const gate = await loadDatabaseProvider<RotationGateInputs, RotationGateInputs>(
                rotationGateProvider,
                adminConfig,
            );
            await superuser.query("CREATE ROLE gate_retired NOLOGIN");
            const retired = await gate.check!(
                gateInputs(7, "gate_live", "gate_retired"),
                gateInputs(8, "gate_retired", "gate_live"),
            );
            assert.deepEqual(retired.failures, []);
            const absent = await gate.check!(
                {} as RotationGateInputs,
                gateInputs(1, "gate_never_created", "gate_other"),
            );
            assert.deepEqual(absent.failures, []);
        });

        it("refuses a bump while the previous generation has not gone live: its predecessor can still log in", async () => {
            const gate = await loadDatabaseProvider<RotationGateInputs, RotationGateInputs>(
                rotationGateProvider,
                adminConfig,
            );
            await superuser.query("CREATE ROLE gate_app LOGIN PASSWORD 'in-use'");
            const checked = await gate.check!(
                gateInputs(7, "gate_new", "gate_app"),
                gateInputs(8, "gate_app", "gate_new"),
            );
            assert.equal(checked.failures?.length, 1);
            assert.match(
                checked.failures![0].reason,
                /generation 8 would give gate_app a new password, but gate_app can still log in: generation 7 never went live .* set databaseCredentialGeneration back to 7, run pulumi up until it succeeds/,
            );
            const first = await gate.check!({} as RotationGateInputs, gateInputs(1, "gate_app", "gate_new"));
            assert.match(
                first.failures![0].reason,
                /gate_app already exists and can log in, so something may use it; if nothing does, run ALTER ROLE gate_app NOLOGIN/,
            );
        });

        it("asks the database nothing for a re-run of the same generation (a no-op preview costs no connection)", async () => {
            const gate = await loadDatabaseProvider<RotationGateInputs, RotationGateInputs>(rotationGateProvider, {
                ...adminConfig,
                "postgresql:port": "1",
            });
            const same = await gate.check!(
                gateInputs(8, "gate_app", "gate_new"),
                gateInputs(8, "gate_app", "gate_new"),
            );
            assert.deepEqual(same.failures, []);
            const bump = await gate.check!(
                gateInputs(8, "gate_app", "gate_new"),
                gateInputs(9, "gate_new", "gate_app"),
            );
            assert.match(
                bump.failures![0].reason,
                /could not check that generation 9 is safe to start: could not connect/,
            );
            // Nor for what it refuses from the state alone: a lower generation, a jump, a new prefix (with a bump or not).
            for (const [news, refusal] of [
                [
                    gateInputs(7, "gate_new", "gate_app"),
                    /databaseCredentialGeneration: got 7, but generation 8 already started/,
                ],
                [gateInputs(10, "gate_app", "gate_new"), /rotation goes one generation at a time/],
                [
                    gateInputs(8, "other_app", "other_new"),
                    /databaseRolePrefix: the login roles are gate_app \(live, generation 8\)/,
                ],
                [gateInputs(9, "other_new", "other_app"), /\(1\) `pulumi config rm databaseAppHost`/],
            ] as const) {
                const refused = await gate.check!(gateInputs(8, "gate_app", "gate_new"), news);
                assert.match(refused.failures![0].reason, refusal);
            }
        });
    });
});
