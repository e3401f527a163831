// A row of the app's `app_settings (key, value)` table, as the runbook writes it by hand (`maintenance_mode` = 'true').
import * as pulumi from "@pulumi/pulumi";
import { ModuleResource, moduleProvider } from "../dynamicProvider";

export type { AppSettingInputs, AppSettingOutputs } from "./appSettingProvider";

/**
 * The provider every resource of this type carries in the state: it requires the implementation (and with it `pg`) in the provider
 * host, so the program's start-up never loads either, and the state carries the module's name, not the SQL.
 */
export const appSettingProvider = moduleProvider("postgres", "AppSetting");

export interface AppSettingArgs {
    /** The database holding `app_settings` (the app's database). */
    readonly database: pulumi.Input<string>;
    /** `app_settings.key`, e.g. `maintenance_mode`. */
    readonly key: pulumi.Input<string>;
    /** `app_settings.value`, e.g. `true` or `false`. */
    readonly value: pulumi.Input<string>;
}

/** One `app_settings` row kept at the declared value; `pulumi refresh` reads it back. */
export class AppSetting extends ModuleResource {
    declare public readonly database: pulumi.Output<string>;
    declare public readonly key: pulumi.Output<string>;
    declare public readonly value: pulumi.Output<string>;
    declare public readonly rows: pulumi.Output<number>;

    constructor(name: string, args: AppSettingArgs, opts?: pulumi.CustomResourceOptions) {
        // Delete removes every row with the key: on any replacement (`up --replace` included) it must run first, or it
        // would remove the row the replacement has just written.
        super(
            appSettingProvider,
            name,
            { ...args, rows: undefined },
            pulumi.mergeOptions(opts, { deleteBeforeReplace: true }),
        );
    }
}
