// The AppSetting provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts).
import type * as pulumi from "@pulumi/pulumi";
import { adminSettings, connectAdmin, describeAdmin, rememberAdminConfig, sqlState } from "./sql";

/** What the program declares: one key and the value every row with that key must hold. */
export interface AppSettingInputs {
    /** The database holding `app_settings` (the app's database). */
    readonly database: string;
    /** `app_settings.key`, e.g. `maintenance_mode`. */
    readonly key: string;
    /** `app_settings.value`, e.g. `true` or `false`. */
    readonly value: string;
}

/** What the state records: the inputs as found in the database, and how many rows carry the key. */
export interface AppSettingOutputs extends AppSettingInputs {
    /** Rows with this key after the write (more than one only where `app_settings.key` is not unique). */
    readonly rows: number;
}

/** What `read` reports when rows sharing a key disagree; never a value the program writes, so the next `up` repairs it. */
export const CONFLICTING_VALUES = "<rows disagree>";

/** The message for a missing table, naming where it was looked for and the way out. */
function missingTable(database: string): Error {
    return new Error(
        `table app_settings does not exist in database "${database}" (as seen by ${describeAdmin(adminSettings(database))}); ` +
            "create it (CREATE TABLE app_settings (key text PRIMARY KEY, value text NOT NULL)) or run the app's migrations, then retry",
    );
}

/** Rethrows a SQL error as one that says what is wrong with the table or the admin user's rights. */
function explain(err: unknown, database: string, action: string): never {
    if (sqlState(err) === "42P01") throw missingTable(database);
    if (sqlState(err) === "42703") {
        throw new Error(
            `app_settings in database "${database}" lacks a column the runbook's row needs: ${(err as Error).message}; expected columns key and value`,
        );
    }
    if (sqlState(err) === "42501") {
        const who = adminSettings(database).user;
        throw new Error(
            `${who} may not ${action} app_settings in database "${database}"; ` +
                `grant it SELECT, INSERT, UPDATE, DELETE ON app_settings (or make it a member of the table's owner)`,
        );
    }
    throw err;
}

/**
 * Makes every row with `key` hold `value`, inserting one row if there is none; the same whether or not
 * `app_settings.key` is unique. Rows duplicated by hand are all rewritten, so whichever the app reads, it reads `value`.
 */
async function writeSetting(inputs: AppSettingInputs): Promise<number> {
    const client = await connectAdmin(inputs.database);
    try {
        await client.query("BEGIN");
        // Two `up`s at once must not both find no row and both insert one where the key is not unique.
        await client.query("SELECT pg_advisory_xact_lock(hashtext('ahoy-ops:app_settings'), hashtext($1))", [
            inputs.key,
        ]);
        let rows =
            (await client.query("UPDATE app_settings SET value = $2 WHERE key = $1", [inputs.key, inputs.value]))
                .rowCount ?? 0;
        if (rows === 0) {
            // No conflict target: with a unique key a row inserted meanwhile by the app is skipped (and updated below);
            // without one nothing can conflict.
            rows =
                (
                    await client.query("INSERT INTO app_settings (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
                        inputs.key,
                        inputs.value,
                    ])
                ).rowCount ?? 0;
            if (rows === 0) {
                rows =
                    (
                        await client.query("UPDATE app_settings SET value = $2 WHERE key = $1", [
                            inputs.key,
                            inputs.value,
                        ])
                    ).rowCount ?? 0;
            }
        }
        await client.query("COMMIT");
        return rows;
    } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        return explain(err, inputs.database, "write");
    } finally {
        await client.end();
    }
}

/** The values stored under `key`, one per row. */
async function readSetting(database: string, key: string): Promise<string[]> {
    const client = await connectAdmin(database);
    try {
        const result = await client.query<{ value: string | null }>(
            "SELECT value::text AS value FROM app_settings WHERE key = $1",
            [key],
        );
        return result.rows.map((row) => row.value ?? "");
    } catch (err) {
        return explain(err, database, "read");
    } finally {
        await client.end();
    }
}

function settingId(inputs: AppSettingInputs): string {
    return `${inputs.database}/app_settings/${inputs.key}`;
}

/** The provider: the admin connection read inside each method, from `configure` or libpq's PG* variables. */
export const appSettingProvider: pulumi.dynamic.ResourceProvider<AppSettingInputs, AppSettingOutputs> = {
    async configure(req) {
        rememberAdminConfig(req.config);
    },

    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        for (const property of ["database", "key", "value"] as const) {
            if (typeof news[property] !== "string") {
                failures.push({ property, reason: `expected a string; got ${typeof news[property]}` });
            }
        }
        if (typeof news.key === "string" && news.key === "")
            failures.push({ property: "key", reason: "expected a non-empty key" });
        return { inputs: news, failures };
    },

    async diff(_id, olds, news) {
        // The key and database say which row this is; a different one is a different row.
        const replaces = (["database", "key"] as const).filter((property) => olds[property] !== news[property]);
        const changed = replaces.length > 0 || olds.value !== news.value;
        return { changes: changed, replaces, deleteBeforeReplace: true };
    },

    async create(inputs) {
        const rows = await writeSetting(inputs);
        const outs = {
            database: inputs.database,
            key: inputs.key,
            value: inputs.value,
            rows,
        } satisfies AppSettingOutputs;
        return { id: settingId(inputs), outs };
    },

    async update(_id, _olds, news) {
        const rows = await writeSetting(news);
        return {
            outs: { database: news.database, key: news.key, value: news.value, rows } satisfies AppSettingOutputs,
        };
    },

    async read(id, props) {
        if (!props) throw new Error(`cannot import app_settings row ${id}: declare it in the program instead`);
        const values = await readSetting(props.database, props.key);
        // No row any more: an empty id tells the engine the resource is gone, and the next `up` writes it again.
        if (values.length === 0) return { id: "" };
        const distinct = [...new Set(values)];
        const value = distinct.length === 1 ? distinct[0] : CONFLICTING_VALUES;
        const found: AppSettingInputs = { database: props.database, key: props.key, value };
        // The SDK types `inputs` as the outputs' shape; what the engine wants there is the inputs, so a refresh leaves
        // no false diff on `rows`.
        return {
            id,
            props: { ...found, rows: values.length } satisfies AppSettingOutputs,
            inputs: found as AppSettingOutputs,
        };
    },

    async delete(_id, props) {
        // Removing the resource removes the row(s) it wrote: the app then falls back to its own default.
        const client = await connectAdmin(props.database);
        try {
            await client.query("DELETE FROM app_settings WHERE key = $1", [props.key]);
        } catch (err) {
            // No table, no row to remove.
            if (sqlState(err) !== "42P01") explain(err, props.database, "delete from");
        } finally {
            await client.end();
        }
    },
};
