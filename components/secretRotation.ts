// The runbook's secret rotation: SECRET_KEY and DATABASE_URL as Render variables, the roles behind the URL, and the
// steps that must wait for the deploy (retiring the old role, clearing sessions).
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../stacks/config";
import type { DatabaseCredentials, RetirementProof } from "./database/credentials";
import { EnvVar } from "./render/envVar";
import { SecretKey } from "./secretKey";

// The database roles and the session flush (and with them the postgresql and command SDKs) are loaded only by a stack
// that uses them: start-up is on the critical path of every preview.
const credentialsModule = () => require("./database/credentials") as typeof import("./database/credentials");
const sessionsModule = () => require("./sessions") as typeof import("./sessions");

/** The settings rotation reads. */
export type RotationSettings = Pick<
    StackConfig,
    | "secretKeyGeneration"
    | "sessionStore"
    | "sessionKeyPattern"
    | "redisUrl"
    | "databaseCredentialGeneration"
    | "databaseRolePrefix"
    | "databaseOwnerRole"
    | "databaseAppHost"
    | "databasePort"
    | "databaseName"
    | "databaseSslMode"
    | "service"
>;

export interface SecretRotationArgs {
    /** The Render service's name or srv- id. */
    readonly service: pulumi.Input<string>;
    /** Render's API base URL. */
    readonly apiUrl: pulumi.Input<string>;
    /** The parsed rotation settings. */
    readonly settings: RotationSettings;
    /** The admin role the database is managed as (postgresql:username, else PGUSER, else postgres). */
    readonly adminRole?: string;
    /** The stack's claim on the service: nothing here reads or writes before it (a second stack refuses there). */
    readonly owner?: pulumi.Resource;
}

/** The secret variables the program manages for `settings`: kept as they are when the service is let go. */
export function secretVariableKeys(settings: Pick<RotationSettings, "databaseAppHost">): string[] {
    return ["SECRET_KEY", ...(settings.databaseAppHost ? ["DATABASE_URL"] : [])];
}

/** What else letting go keeps, for the preview: the login roles, which the program never drops. */
export function keptWhenLetGo(
    settings: Pick<RotationSettings, "databaseAppHost" | "databaseRolePrefix">,
): Record<string, string> {
    if (!settings.databaseAppHost) return {};
    const roles = `${settings.databaseRolePrefix}_blue, ${settings.databaseRolePrefix}_green`;
    return { [roles]: "kept: the login roles are never dropped (the live DATABASE_URL logs in as one)" };
}

/**
 * SECRET_KEY always; DATABASE_URL and its alternating login roles when `databaseAppHost` is set. Call `afterDeploy`
 * with the deploy that carries the new values: only then does the old role lose its login and do sessions go.
 */
export class SecretRotation extends pulumi.ComponentResource {
    /** The secret variables this component manages, by key. */
    public readonly variables: Record<string, EnvVar>;
    public readonly secretKey: SecretKey;
    public readonly database?: DatabaseCredentials;

    private readonly name: string;
    private readonly settings: RotationSettings;

    constructor(name: string, args: SecretRotationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ahoy:secrets:SecretRotation", name, {}, opts);
        this.name = name;
        this.settings = args.settings;
        const afterOwner = args.owner ? [args.owner] : [];
        const variable = (key: string, value: pulumi.Output<string>) =>
            new EnvVar(
                `${name}-${key}`,
                { service: args.service, apiUrl: args.apiUrl, key, value, secret: true },
                { parent: this, dependsOn: afterOwner },
            );

        this.secretKey = new SecretKey(
            `${name}-secret-key`,
            { service: args.service, apiUrl: args.apiUrl, generation: args.settings.secretKeyGeneration },
            { parent: this, dependsOn: afterOwner },
        );
        this.variables = { SECRET_KEY: variable("SECRET_KEY", this.secretKey.value) };

        const s = args.settings;
        if (s.databaseAppHost) {
            this.database = new (credentialsModule().DatabaseCredentials)(
                `${name}-db`,
                {
                    generation: s.databaseCredentialGeneration,
                    rolePrefix: s.databaseRolePrefix,
                    ownerRole: s.databaseOwnerRole,
                    host: s.databaseAppHost,
                    port: s.databasePort,
                    database: s.databaseName,
                    sslMode: s.databaseSslMode,
                    applicationName: s.service,
                    adminRole: args.adminRole,
                },
                { parent: this, dependsOn: afterOwner },
            );
            // The URL is built from the active role's outputs and the login proof's, so this write waits for both.
            this.variables.DATABASE_URL = variable("DATABASE_URL", this.database.databaseUrl);
        }
        this.registerOutputs({ activeDatabaseRole: this.database?.activeRole });
    }

    /**
     * Declares what may only happen once `proof.deploy` is live: the standby role retired (after the verification too,
     * and a fresh login with the new URL), the sessions cleared.
     */
    afterDeploy(proof: RetirementProof): void {
        this.database?.retireStandby(proof);
        const s = this.settings;
        if (s.sessionStore === "redis" && s.redisUrl) {
            new (sessionsModule().SessionFlush)(
                `${this.name}-sessions`,
                {
                    generation: s.secretKeyGeneration,
                    redisUrl: s.redisUrl,
                    keyPattern: s.sessionKeyPattern,
                    afterDeploy: proof.deploy,
                },
                { parent: this },
            );
        }
    }
}
