// The maintenance row in app_settings, written by the AppSetting provider as the engine runs it, against PostgreSQL 15.
import { strict as assert } from "node:assert";
import { Client } from "pg";
import * as pulumi from "@pulumi/pulumi";
import { AppSetting, appSettingProvider } from "../components/database/appSetting";
import {
    CONFLICTING_VALUES,
    type AppSettingInputs,
    type AppSettingOutputs,
} from "../components/database/appSettingProvider";
import {
    dynamicUrn,
    loadProvider,
    refreshResource,
    startProviderHost,
    upResource,
    PROVIDER_KEY,
    type ProviderHost,
} from "./support/providerHost";
import { observeRegistrations, setProjectMocks, valueOf } from "./support/mocks";
import { adminStackConfig, providerConfig, startPostgres, type PostgresServer } from "./support/postgres";
import { adminSettings, clientConfig, rememberAdminConfig } from "../components/database/sql";

const ADMIN = { user: "ahoy_admin", password: "adm:/?#[]@!$&'()*+,;=%in" };
const MAINTENANCE = { key: "maintenance_mode", value: "true" };

/** Each variant of the table the app may have, in its own database. */
const TABLES = {
    unique: "CREATE TABLE app_settings (key text PRIMARY KEY, value text NOT NULL)",
    plain: "CREATE TABLE app_settings (key text, value text)",
};

describe("AppSetting: the maintenance row in app_settings", function () {
    this.timeout(120000);
    let server: PostgresServer;
    let provider: pulumi.dynamic.ResourceProvider<AppSettingInputs, AppSettingOutputs>;
    const providerText = appSettingProvider.source;
    let adminConfig: Record<string, string>;
    const clients = new Map<string, Client>();

    /** A superuser client in `database`, to inspect and tamper with the table as a person would. */
    const db = (database: string) => clients.get(database)!;
    const rows = async (database: string) =>
        (
            await db(database).query<{ value: string }>(
                "SELECT value FROM app_settings WHERE key = $1 ORDER BY value",
                [MAINTENANCE.key],
            )
        ).rows.map((r) => r.value);
    const inputs = (database: string, value = MAINTENANCE.value): AppSettingInputs => ({
        database,
        key: MAINTENANCE.key,
        value,
    });

    before(async () => {
        server = await startPostgres();
        const superuser = await server.connect();
        await superuser.query(`CREATE ROLE ${ADMIN.user} LOGIN PASSWORD ${superuser.escapeLiteral(ADMIN.password)}`);
        for (const database of ["with_unique", "without_unique", "no_table", "locked"]) {
            await superuser.query(`CREATE DATABASE ${database}`);
            const client = await server.connect(database);
            clients.set(database, client);
        }
        await db("with_unique").query(TABLES.unique);
        await db("without_unique").query(TABLES.plain);
        await db("locked").query(TABLES.plain);
        for (const database of ["with_unique", "without_unique"]) {
            await db(database).query(`GRANT SELECT, INSERT, UPDATE, DELETE ON app_settings TO ${ADMIN.user}`);
        }
        await superuser.end();

        adminConfig = adminStackConfig(server, ADMIN);
        // As the engine does: take the provider text from the state, load it, configure it with the stack config.
        // The loaded provider requires its implementation from the project directory, as the provider host does.
        provider = loadProvider<AppSettingInputs, AppSettingOutputs>(appSettingProvider);
        await provider.configure!({ config: providerConfig(adminConfig) });
    });

    after(async () => {
        for (const client of clients.values()) await client.end().catch(() => undefined);
        await server?.stop();
    });

    it("stores as its provider only the name of its implementation: no admin password, no connection setting, no SQL", () => {
        assert.ok(
            providerText.includes('"postgres:AppSetting"') && providerText.includes("components/providers.ts"),
            "the provider text does not name its type and the registry the host requires it from",
        );
        assert.ok(!providerText.includes(ADMIN.password), "the admin password is in the provider text");
        assert.ok(!providerText.includes(String(server.port)), "the provider text carries the PostgreSQL port");
        assert.ok(
            !/app_settings|pg_advisory/.test(providerText),
            "the provider text carries SQL, which belongs in the implementation",
        );
        assert.ok(
            providerText.length < 8_000,
            `the provider text is ${providerText.length} characters: it should carry only the shim`,
        );
    });

    for (const database of ["with_unique", "without_unique"]) {
        describe(`${database === "with_unique" ? "with" : "without"} a unique key on app_settings.key`, () => {
            beforeEach(async () => {
                await db(database).query("DELETE FROM app_settings");
            });

            it("writes the runbook's row, rewrites it, and reads it back", async () => {
                const created = await provider.create!(inputs(database));
                assert.equal(created.id, `${database}/app_settings/maintenance_mode`);
                assert.deepEqual(created.outs, { ...inputs(database), rows: 1 } satisfies AppSettingOutputs);
                assert.deepEqual(await rows(database), ["true"]);

                const updated = await provider.update!(created.id, created.outs!, inputs(database, "false"));
                assert.deepEqual(updated.outs, { ...inputs(database, "false"), rows: 1 });
                assert.deepEqual(await rows(database), ["false"], "rewritten in place, no second row");

                const read = await provider.read!(created.id, updated.outs as AppSettingOutputs);
                assert.deepEqual(read.props, { ...inputs(database, "false"), rows: 1 });
                assert.deepEqual(read.inputs, inputs(database, "false"));
            });

            it("writing the same value twice leaves one row", async () => {
                await provider.create!(inputs(database));
                await provider.create!(inputs(database));
                assert.deepEqual(await rows(database), ["true"]);
            });

            it("a refresh sees a value changed by hand, and a row deleted by hand as gone", async () => {
                const created = await provider.create!(inputs(database));
                await db(database).query("UPDATE app_settings SET value = 'false' WHERE key = $1", [MAINTENANCE.key]);
                const drifted = await provider.read!(created.id, created.outs!);
                assert.equal((drifted.inputs as AppSettingInputs).value, "false");
                const diff = await provider.diff!(created.id, drifted.props as AppSettingOutputs, inputs(database));
                assert.deepEqual(
                    { changes: diff.changes, replaces: diff.replaces },
                    { changes: true, replaces: [] },
                    "the next up writes it back",
                );

                await db(database).query("DELETE FROM app_settings WHERE key = $1", [MAINTENANCE.key]);
                assert.equal((await provider.read!(created.id, created.outs!)).id, "");
            });

            it("delete removes the row and leaves other settings alone", async () => {
                await db(database).query("INSERT INTO app_settings (key, value) VALUES ('theme', 'dark')");
                const created = await provider.create!(inputs(database));
                await provider.delete!(created.id, created.outs!);
                assert.deepEqual(await rows(database), []);
                const theme = await db(database).query("SELECT value FROM app_settings WHERE key = 'theme'");
                assert.deepEqual(theme.rows, [{ value: "dark" }]);
                await db(database).query("DELETE FROM app_settings WHERE key = 'theme'");
            });

            it("two writers at once leave exactly one row", async () => {
                await Promise.all([provider.create!(inputs(database)), provider.create!(inputs(database))]);
                assert.deepEqual(await rows(database), ["true"]);
            });
        });
    }

    it("rows duplicated by hand (the runbook's INSERT run twice) are all rewritten, and a refresh reports them disagreeing", async () => {
        await db("without_unique").query("DELETE FROM app_settings");
        await db("without_unique").query("INSERT INTO app_settings (key, value) VALUES ($1, 'true'), ($1, 'false')", [
            MAINTENANCE.key,
        ]);
        const read = await provider.read!("without_unique/app_settings/maintenance_mode", {
            ...inputs("without_unique"),
            rows: 1,
        });
        assert.deepEqual(read.props, { ...inputs("without_unique", CONFLICTING_VALUES), rows: 2 });
        const updated = await provider.update!(
            "without_unique/app_settings/maintenance_mode",
            read.props as AppSettingOutputs,
            inputs("without_unique", "false"),
        );
        assert.equal((updated.outs as AppSettingOutputs).rows, 2);
        assert.deepEqual(await rows("without_unique"), ["false", "false"], "every row holds the value, none added");
    });

    it("a changed key or database is another row (replaced, the old row deleted first); a changed value is an update; nothing changed is no write", async () => {
        const olds = { ...inputs("with_unique"), rows: 1 };
        const diff = (news: AppSettingInputs) => provider.diff!("id", olds, news);
        assert.deepEqual(await diff(inputs("with_unique")), {
            changes: false,
            replaces: [],
            deleteBeforeReplace: true,
        });
        assert.deepEqual((await diff(inputs("with_unique", "false"))).replaces, []);
        assert.deepEqual((await diff({ ...inputs("with_unique"), key: "other" })).replaces, ["key"]);
        assert.deepEqual((await diff(inputs("without_unique"))).replaces, ["database"]);
    });

    it("fails clearly when app_settings does not exist, and never shows the password", async () => {
        await assert.rejects(provider.create!(inputs("no_table")), (err: Error) => {
            assert.match(
                err.message,
                /^table app_settings does not exist in database "no_table" \(as seen by ahoy_admin@127\.0\.0\.1:\d+\/no_table\); create it/,
            );
            assert.ok(!err.message.includes(ADMIN.password));
            return true;
        });
        await assert.rejects(
            provider.read!("no_table/app_settings/maintenance_mode", { ...inputs("no_table"), rows: 1 }),
            /table app_settings does not exist/,
        );
        await provider.delete!("no_table/app_settings/maintenance_mode", { ...inputs("no_table"), rows: 1 });
    });

    it("names the grant that is missing when the admin may not write the table", async () => {
        await assert.rejects(
            provider.create!(inputs("locked")),
            /ahoy_admin may not write app_settings in database "locked"; grant it SELECT, INSERT, UPDATE, DELETE/,
        );
    });

    it("fails naming the connection, not the password, when the admin cannot log in", async () => {
        // Both providers require the one implementation module, which keeps the admin settings configure gives it.
        const wrong = loadProvider<AppSettingInputs, AppSettingOutputs>(appSettingProvider);
        // Random-looking, as a real one is: redaction hides any 4 characters of a password, English words included.
        const config: Record<string, string> = { ...adminConfig, "postgresql:password": "wr0ng:/?#Xk9$qZ" };
        try {
            await wrong.configure!({ config: providerConfig(config) });
            await assert.rejects(wrong.create!(inputs("with_unique")), (err: Error) => {
                assert.match(
                    err.message,
                    /^could not connect to PostgreSQL as ahoy_admin@127\.0\.0\.1:\d+\/with_unique: password authentication failed/,
                );
                assert.ok(!err.message.includes("wr0ng:/?#Xk9$qZ"), "the error shows the wrong password");
                return true;
            });
        } finally {
            // Restore the shared admin settings for the tests that follow, whether or not this one passed.
            await provider.configure!({ config: providerConfig(adminConfig) });
        }
    });

    describe("through the engine's dynamic-provider host (plain node, config over gRPC)", () => {
        let host: ProviderHost;
        before(async () => {
            host = await startProviderHost();
            await host.configure(adminConfig);
        });
        after(async () => {
            await host?.close();
        });

        it("creates the row, makes no write when nothing changed, updates it, and refresh reads it back", async () => {
            await db("with_unique").query("DELETE FROM app_settings");
            const urn = dynamicUrn("postgres:AppSetting", "maintenance-mode");
            const declared = (value: string) => ({ [PROVIDER_KEY]: providerText, ...inputs("with_unique", value) });
            const created = await upResource(host, urn, declared("true"));
            assert.equal(created.op, "create");
            assert.deepEqual(await rows("with_unique"), ["true"]);
            const xmin = (await db("with_unique").query("SELECT xmin::text AS x FROM app_settings")).rows[0].x;

            const same = await upResource(host, urn, declared("true"), created.state);
            assert.equal(same.op, "same");
            assert.equal(
                (await db("with_unique").query("SELECT xmin::text AS x FROM app_settings")).rows[0].x,
                xmin,
                "no write at all",
            );

            const updated = await upResource(host, urn, declared("false"), same.state);
            assert.equal(updated.op, "update");
            assert.deepEqual(await rows("with_unique"), ["false"]);

            await db("with_unique").query("UPDATE app_settings SET value = 'true'");
            const refreshed = await refreshResource(host, updated.state);
            assert.equal(refreshed?.outputs.value, "true");
            assert.ok(!host.output().includes(ADMIN.password), "the host logged no password");
        });

        it("a renamed key replaces the row: the old key's row is deleted first, the new one written", async () => {
            await db("with_unique").query("DELETE FROM app_settings");
            const urn = dynamicUrn("postgres:AppSetting", "renamed");
            const created = await upResource(host, urn, { [PROVIDER_KEY]: providerText, ...inputs("with_unique") });
            const replaced = await upResource(
                host,
                urn,
                { [PROVIDER_KEY]: providerText, ...inputs("with_unique"), key: "maintenance" },
                created.state,
            );
            assert.equal(replaced.op, "replace");
            assert.equal(replaced.diff?.deleteBeforeReplace, true);
            const all = await db("with_unique").query("SELECT key, value FROM app_settings ORDER BY key");
            assert.deepEqual(all.rows, [{ key: "maintenance", value: "true" }]);
        });
    });
});

describe("the AppSetting resource", () => {
    it("is declared as pulumi-nodejs:dynamic/postgres:AppSetting, deleted before any replacement so delete never removes the new row", async () => {
        const seen: Array<{ type: string; deleteBeforeReplace: boolean }> = [];
        await setProjectMocks();
        observeRegistrations((req) =>
            seen.push({ type: req.getType(), deleteBeforeReplace: req.getDeletebeforereplace() }),
        );
        const setting = new AppSetting("maintenance-row", { database: "ahoy_prod", ...MAINTENANCE });
        await valueOf(setting.urn);
        assert.deepEqual(seen, [{ type: "pulumi-nodejs:dynamic/postgres:AppSetting", deleteBeforeReplace: true }]);
    });
});

describe("the admin connection settings", () => {
    const configure = (values: Record<string, string>) => rememberAdminConfig(providerConfig(values));

    it("come from the stack's postgresql: settings first, then libpq's PG* variables", () => {
        configure({ "postgresql:host": "db.internal", "postgresql:username": "ops" });
        const env = {
            PGHOST: "ignored",
            PGPORT: "6543",
            PGPASSWORD: "from-env",
            PGSSLMODE: "verify-full",
            PGDATABASE: "from_env",
        };
        assert.deepEqual(adminSettings(undefined, env), {
            host: "db.internal",
            port: 6543,
            user: "ops",
            password: "from-env",
            sslmode: "verify-full",
            sslrootcert: undefined,
            database: "from_env",
        });
        assert.equal(adminSettings("ahoy_prod", env).database, "ahoy_prod", "the resource's database wins");
    });

    it("name the missing user and the bad port, never the password", () => {
        configure({ "postgresql:password": "hidden-pw" });
        assert.throws(
            () => adminSettings(undefined, {}),
            /the admin connection has no user: set `pulumi config set postgresql:username NAME` \(or PGUSER\)/,
        );
        configure({ "postgresql:username": "ops", "postgresql:port": "54x", "postgresql:password": "hidden-pw" });
        assert.throws(
            () => adminSettings(undefined, {}),
            (err: Error) =>
                /postgresql:port \(or PGPORT\): got "54x"; expected a whole number from 1 to 65535/.test(err.message) &&
                !err.message.includes("hidden-pw"),
        );
    });

    it("translate sslmode to TLS options: disable is plain (on this machine), require encrypts without verifying, verify-full verifies", () => {
        const settings = { host: "h", port: 5432, user: "u", database: "d" };
        assert.equal(clientConfig({ ...settings, host: "127.0.0.1", sslmode: "disable" }).ssl, false);
        assert.deepEqual(clientConfig({ ...settings, sslmode: "require" }).ssl, { rejectUnauthorized: false });
        assert.deepEqual(clientConfig({ ...settings, sslmode: "verify-full" }).ssl, {});
        assert.throws(
            () => clientConfig({ ...settings, sslmode: "on" }),
            /postgresql:sslmode \(or PGSSLMODE\): got "on"; expected one of disable, allow, prefer, require, verify-ca, verify-full/,
        );
    });
});
