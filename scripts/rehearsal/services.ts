// What a rehearsal runs against: the Render emulator and its stand-in app, a throwaway PostgreSQL set up as production is
// (the owner role, the database, a non-superuser admin), a throwaway Redis that requires a password, and a Slack
// webhook stand-in for the incident's messages.
import { randomBytes } from "node:crypto";
import type { Client } from "pg";
import { startEmulator, type Emulator } from "../../emulator";
import { createAppDatabase, startPostgres, type AdminLogin, type PostgresServer } from "../../test/support/postgres";
import { startRedis, type RedisServer } from "../../test/support/redis";
import { startSlackStandIn, type SlackStandIn } from "../../test/support/slackStandIn";

export interface ServiceOptions {
    /** How long each in-flight deploy status lasts in the emulator; a few hundred ms keeps a deploy realistic and quick. */
    readonly stepMs?: number;
    /** Start PostgreSQL (the program then manages DATABASE_URL and the login roles). */
    readonly postgres?: boolean;
    /** Start Redis (sessionStore redis). */
    readonly redis?: boolean;
}

export interface Services {
    readonly emulator: Emulator;
    readonly postgres?: PostgresServer;
    /** The admin the program manages roles as (CREATEROLE, pg_signal_backend, pg_read_all_stats; no superuser). */
    readonly admin?: AdminLogin;
    readonly redis?: RedisServer;
    /** A Slack incoming webhook stand-in, the incident's channel. */
    readonly slack: SlackStandIn;
    stop(): Promise<void>;
}

/** Starts what `options` asks for; whatever started is stopped again if a later one fails. */
export async function startServices(options: ServiceOptions = {}): Promise<Services> {
    const stops: Array<() => Promise<void>> = [];
    const stop = async () => {
        for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
    };
    try {
        // A key of its own, so a test can look for it wherever a secret must not appear.
        const apiKey = `rnd_rehearsal_${randomBytes(16).toString("hex")}`;
        const emulator = await startEmulator({ stepMs: options.stepMs ?? 300, apiKey });
        stops.push(() => emulator.close());
        const slack = await startSlackStandIn();
        stops.push(() => slack.close());
        let postgres: PostgresServer | undefined;
        let admin: AdminLogin | undefined;
        if (options.postgres) {
            postgres = await startPostgres();
            stops.push(() => postgres!.stop());
            admin = { user: "ahoy_admin", password: `pw-${randomBytes(12).toString("base64url")}!@#` };
            const superuser: Client = await postgres.connect();
            try {
                const asAdmin = await createAppDatabase(postgres, superuser, admin);
                await asAdmin.end();
            } finally {
                await superuser.end();
            }
            // The app's migrations made app_settings (the maintenance row's table), owned by the owner role; the admin
            // may read and write it, as the README says the admin must.
            const inApp = await postgres.connect("ahoy_prod");
            try {
                await inApp.query("SET ROLE ahoy");
                await inApp.query("CREATE TABLE app_settings (key text PRIMARY KEY, value text NOT NULL)");
                await inApp.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON app_settings TO ${admin.user}`);
            } finally {
                await inApp.end();
            }
        }
        let redis: RedisServer | undefined;
        if (options.redis) {
            redis = await startRedis(`rp-${randomBytes(12).toString("base64url")}`);
            stops.push(() => redis!.stop());
        }
        return { emulator, postgres, admin, redis, slack, stop };
    } catch (error) {
        await stop();
        throw error;
    }
}
