// The emulator's stand-in app logs in to PostgreSQL as the real app does: each deploy, going live, opens a pool with ITS
// DATABASE_URL (login, host, port, application_name), keeps sessions open, logs in again after losing them, and closes
// them when replaced; so a proof read from pg_stat_activity is a proof of what the app did.
import { strict as assert } from "node:assert";
import type { Client } from "pg";
import { startEmulator, type Emulator } from "../emulator";
import { startPostgres, type PostgresServer } from "./support/postgres";
import { waitFor } from "./support/wait";

describe("the stand-in app's database pool (PostgreSQL 15)", function () {
    this.timeout(60_000);
    let server: PostgresServer;
    let superuser: Client;
    let emulator: Emulator;

    before(async () => {
        [server, emulator] = await Promise.all([startPostgres(), startEmulator({ port: 0, stepMs: 30 })]);
        superuser = await server.connect();
        await superuser.query("CREATE ROLE app_login LOGIN PASSWORD 'app-pw-Xk9$mQ2!'");
    });
    after(async () => {
        await superuser?.end();
        await emulator?.close();
        await server?.stop();
    });

    const url = (applicationName: string, port = server.port) =>
        `postgresql://app_login:${encodeURIComponent("app-pw-Xk9$mQ2!")}@${server.host}:${port}/postgres` +
        `?sslmode=disable&application_name=${applicationName}`;
    /** The app_login sessions, by application_name. */
    async function sessions(): Promise<Record<string, number>> {
        const rows = (
            await superuser.query<{ application_name: string; n: number }>(
                "SELECT application_name, count(*)::int AS n FROM pg_stat_activity WHERE usename = 'app_login' GROUP BY 1",
            )
        ).rows;
        return Object.fromEntries(rows.map((r) => [r.application_name, r.n]));
    }
    /** DATABASE_URL set by hand, then a deploy from the dashboard, awaited until live. */
    async function deployWith(databaseUrl: string): Promise<void> {
        emulator.setEnvVar("DATABASE_URL", databaseUrl);
        const deploy = emulator.dashboardDeploy();
        await waitFor("the deploy to go live", () => emulator.liveDeploy()?.id === deploy.id, { timeoutMs: 10_000 });
    }

    it("the seeded URL names Render's host: the app says it logs in to loopback hosts only, and tries nothing", async () => {
        await waitFor("the app to look at the live deploy", () => emulator.appDatabase().error !== undefined, {
            timeoutMs: 5_000,
        });
        assert.match(
            emulator.appDatabase().error!,
            /host dpg-ahoy-a\.oregon-postgres\.render\.com is not on this machine/,
        );
        assert.equal(emulator.appDatabase().sessions, 0);
    });

    it("a deploy going live opens its pool with its URL: sessions of its login, with the URL's application_name", async () => {
        await deployWith(url("ahoy-indie-media"));
        await waitFor("the app's sessions", async () => (await sessions())["ahoy-indie-media"] === 2, {
            timeoutMs: 10_000,
        });
        assert.deepEqual(await sessions(), { "ahoy-indie-media": 2 });
        assert.equal(emulator.appDatabase().deployId, emulator.liveDeploy()?.id);
    });

    it("the next deploy's instances replace it: the old pool's sessions end, the new URL's open", async () => {
        await deployWith(url("ahoy-next"));
        await waitFor("the new pool, and the old one gone", async () => {
            const now = await sessions();
            return now["ahoy-next"] === 2 && now["ahoy-indie-media"] === undefined;
        });
    });

    it("sessions the server ends are opened again, as a pool reconnects", async () => {
        await superuser.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app_login'");
        await waitFor("the app to log in again", async () => (await sessions())["ahoy-next"] === 2, {
            timeoutMs: 10_000,
        });
    });

    it("a URL with a wrong port: the deploy is live, the app holds no session, and says why (never the password)", async () => {
        await deployWith(url("ahoy-indie-media", 1));
        await waitFor("the failed login", () => /ECONNREFUSED/.test(emulator.appDatabase().error ?? ""), {
            timeoutMs: 10_000,
        });
        await waitFor("the old pool gone", async () => Object.keys(await sessions()).length === 0);
        assert.equal(emulator.appDatabase().sessions, 0);
        assert.ok(!(emulator.appDatabase().error ?? "").includes("Xk9$mQ2"), "the password is in the app's error");
    });
});
