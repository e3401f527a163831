// The runbook's feature-flag controls: each kill switch, media lockdown and rate-limit setting as one Render variable.
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../stacks/config";
import { AppSetting } from "./database/appSetting";
import { EnvVar } from "./render/envVar";

/** The settings that become variables on the service, named as the app reads them. */
export type FlagSettings = Pick<
    StackConfig,
    | "DISABLE_SIGNUP"
    | "MAINTENANCE_MODE"
    | "ENABLE_SIGNED_URLS"
    | "BLOCK_DIRECT_MEDIA"
    | "SIGNED_URL_EXPIRY"
    | "RATE_LIMIT_DEFAULT"
    | "RATE_LIMIT_AUTH"
    | "BLOCKED_IPS"
>;

/** Each managed variable's value on Render; undefined means the variable must be absent. */
export function flagVariables(settings: FlagSettings): Record<keyof FlagSettings, string | undefined> {
    return {
        DISABLE_SIGNUP: String(settings.DISABLE_SIGNUP),
        MAINTENANCE_MODE: String(settings.MAINTENANCE_MODE),
        ENABLE_SIGNED_URLS: String(settings.ENABLE_SIGNED_URLS),
        BLOCK_DIRECT_MEDIA: String(settings.BLOCK_DIRECT_MEDIA),
        SIGNED_URL_EXPIRY: String(settings.SIGNED_URL_EXPIRY),
        RATE_LIMIT_DEFAULT: settings.RATE_LIMIT_DEFAULT,
        RATE_LIMIT_AUTH: settings.RATE_LIMIT_AUTH,
        BLOCKED_IPS: settings.BLOCKED_IPS,
    };
}

export interface FeatureFlagsArgs {
    /** The Render service's name or srv- id. */
    readonly service: pulumi.Input<string>;
    /** Render's API base URL. */
    readonly apiUrl: pulumi.Input<string>;
    /** The parsed switches. */
    readonly settings: FlagSettings;
    /** The app's database: MAINTENANCE_MODE is also written as the runbook's `app_settings` row there. */
    readonly maintenanceDatabase?: string;
    /** The stack's claim on the service: no switch is written before it (a second stack refuses there). */
    readonly owner?: pulumi.Resource;
}

/**
 * One EnvVar per switch, always declared: a switch left unset is an EnvVar whose value is absent, so lifting a rate
 * limit deletes the variable in an update the deploy follows in the same `up`. (Declaring nothing would leave the
 * delete to the engine's last steps, after the deploy: the app would keep the limit.)
 */
export class FeatureFlags extends pulumi.ComponentResource {
    /** The variables this component manages, by key. */
    public readonly variables: Record<string, EnvVar>;
    /** The value each managed key should have (undefined: absent), for the deploy trigger. */
    public readonly values: Record<string, string | undefined>;
    /** The runbook's `maintenance_mode` row in `app_settings`, when the database is managed. */
    public readonly maintenanceRow?: AppSetting;

    constructor(name: string, args: FeatureFlagsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ahoy:flags:FeatureFlags", name, {}, opts);
        this.values = flagVariables(args.settings);
        this.variables = {};
        const afterOwner = args.owner ? [args.owner] : [];
        for (const [key, value] of Object.entries(this.values)) {
            this.variables[key] = new EnvVar(
                `${name}-${key}`,
                { service: args.service, apiUrl: args.apiUrl, key, value },
                { parent: this, dependsOn: afterOwner },
            );
        }
        if (args.maintenanceDatabase) {
            this.maintenanceRow = new AppSetting(
                `${name}-maintenance-row`,
                {
                    database: args.maintenanceDatabase,
                    key: "maintenance_mode",
                    value: String(args.settings.MAINTENANCE_MODE),
                },
                { parent: this, dependsOn: afterOwner },
            );
        }
        this.registerOutputs({ values: this.values });
    }
}
