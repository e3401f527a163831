// The app's database login, rotated by alternating two roles: the standby gets a new password, proves it logs in, goes
// live, and only once the deploy carrying it is live and verified does the previous role lose LOGIN, its sessions and
// its password. Neither role is ever dropped by the program: letting go (destroy, databaseAppHost unset) leaves both.
import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { activeSlot, databaseUrl, ownerRoleProblem, roleName, standbySlot, type Slot } from "../../stacks/rotation";
import { LoginProof } from "./loginProof";
import { RetireLogin } from "./retireLogin";
import { RotationGate } from "./rotationGate";

export interface DatabaseCredentialsArgs {
    /** `databaseCredentialGeneration`: odd activates `<prefix>_blue`, even `<prefix>_green`. */
    readonly generation: number;
    /** `databaseRolePrefix`: the login roles are `<prefix>_blue` and `<prefix>_green`. */
    readonly rolePrefix: string;
    /** `databaseOwnerRole`: the existing role that owns the tables; both login roles act as it, the program never changes it. */
    readonly ownerRole: string;
    /** `databaseAppHost`: the host the APP connects to (it may differ from the admin connection's). */
    readonly host: string;
    /** `databasePort`. */
    readonly port: number;
    /** `databaseName`: the app's database. */
    readonly database: string;
    /** `databaseSslMode`: the `sslmode` in the app's DATABASE_URL. */
    readonly sslMode: string;
    /** The `application_name` in the app's DATABASE_URL (the service's name): how its sessions are told apart. */
    readonly applicationName: string;
    /** The admin role (postgresql:username, else PGUSER): never acceptable as the owner role. */
    readonly adminRole?: string;
}

/** What `retireStandby` declares. */
export interface Retirement {
    /** Takes LOGIN from the previously active role and ends the old app's sessions, on proof. */
    readonly retire: RetireLogin;
    /** The standby role, declared with `login: false` once retired. */
    readonly role: postgresql.Role;
}

/** What has to be true before the previous login is retired. */
export interface RetirementProof {
    /** The deploy that puts the new DATABASE_URL live; its `liveAt` dates the old app's sessions. */
    readonly deploy: pulumi.Resource & { readonly liveAt: pulumi.Output<string> };
    /** The runbook's checks of that deploy, when verification is on. */
    readonly verification?: pulumi.Resource;
}

export class DatabaseCredentials extends pulumi.ComponentResource {
    /** The role the app logs in as from this generation on. */
    public readonly activeRole: string;
    /** The role that stands by: the previous generation's login, retired once this one is live (no LOGIN, no password). */
    public readonly standbyRole: string;
    /** The active role's resource: anything that needs its password in the database depends on it. */
    public readonly active: postgresql.Role;
    /**
     * The active role's password: new for every generation (kept by it). The retired slot has none declared, so a
     * generation that activates it again, or a forced revert, always gets a password never seen before.
     */
    public readonly password: random.RandomPassword;
    /** The app's DATABASE_URL (secret), available only once the active role holds its password and logged in with it. */
    public readonly databaseUrl: pulumi.Output<string>;
    /** Refuses a generation while the previous one has not gone live. */
    public readonly gate: RotationGate;
    /** The login with the new credentials that DATABASE_URL is written only after. */
    public readonly proof: LoginProof;

    private readonly baseName: string;
    private readonly args: DatabaseCredentialsArgs;
    private retirement?: Retirement;

    constructor(name: string, args: DatabaseCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ahoy:database:Credentials", name, {}, opts);
        this.baseName = name;
        this.args = args;
        const active = activeSlot(args.generation);
        this.activeRole = roleName(args.rolePrefix, active);
        this.standbyRole = roleName(args.rolePrefix, standbySlot(args.generation));
        const ownerProblem = ownerRoleProblem(args.rolePrefix, args.ownerRole, args.adminRole);
        if (ownerProblem) throw new RangeError(`databaseOwnerRole: ${ownerProblem}`);

        // Before any password changes: the role about to get one must not be the login the app may still run on.
        this.gate = new RotationGate(
            `${name}-gate`,
            {
                database: args.database,
                generation: args.generation,
                activeRole: this.activeRole,
                standbyRole: this.standbyRole,
            },
            { parent: this },
        );
        this.password = this.newPassword(active);
        this.active = this.role(active, this.activeRole, this.password, []);

        // Built from the role's own outputs: the URL exists only after the database holds this password.
        const { host, port, database, sslMode, applicationName } = args;
        const url = pulumi.secret(
            pulumi.all([this.active.name, this.active.password]).apply(([user, password]) => {
                if (!password)
                    throw new Error(`role ${user} has no password in the state; expected the slot's RandomPassword`);
                return databaseUrl({ user, password, host, port, database, sslMode, applicationName });
            }),
        );
        // The runbook's "test connection with new credentials", before DATABASE_URL is written with them.
        this.proof = new LoginProof(`${name}-login-proof`, { databaseUrl: url }, { parent: this });
        // The URL as an output of the proof too, so whatever takes it (the DATABASE_URL write) waits for the proof.
        this.databaseUrl = pulumi.secret(pulumi.all([url, this.proof.provedAt]).apply(([value]) => value));
        this.registerOutputs({ databaseUrl: this.databaseUrl });
    }

    /**
     * Retires the previously active role once `proof.deploy` (the deploy that puts the new DATABASE_URL live) is live,
     * `proof.verification` passed and the new URL logs in once more: RetireLogin takes LOGIN away and ends the old
     * app's sessions, or fails naming any other client on that login; the standby Role is declared without LOGIN
     * after it. Call it exactly once: a slot that is not declared would be dropped.
     */
    retireStandby(proof: RetirementProof): Retirement {
        if (this.retirement)
            throw new Error(`${this.baseName}: retireStandby was already called; the standby role is declared once`);
        const retire = new RetireLogin(
            `${this.baseName}-retire`,
            {
                database: this.args.database,
                role: this.standbyRole,
                databaseUrl: this.databaseUrl,
                generation: this.args.generation,
                applicationName: this.args.applicationName,
                liveSince: proof.deploy.liveAt,
            },
            {
                parent: this,
                dependsOn: [proof.deploy, ...(proof.verification ? [proof.verification] : []), this.proof],
            },
        );
        // Without LOGIN and without a password once retired: even a forced LOGIN could not bring the old one back.
        const role = this.role(standbySlot(this.args.generation), this.standbyRole, undefined, [retire]);
        this.retirement = { retire, role };
        return this.retirement;
    }

    /** The active slot's password: new for each generation, and only once the gate found the slot unused. */
    private newPassword(slot: Slot): random.RandomPassword {
        return new random.RandomPassword(
            `${this.baseName}-${slot}-password`,
            {
                length: 32,
                // Reserved URL characters among them, so the URL's percent-encoding is always exercised.
                special: true,
                minSpecial: 2,
                keepers: { generation: String(this.args.generation) },
            },
            { parent: this, dependsOn: [this.gate] },
        );
    }

    /**
     * A slot's login role: with LOGIN and `password` when active, neither once retired. It owns nothing: as a member of
     * the owner role that switches to it at login (`ALTER ROLE ... SET role`), whatever the app creates belongs to the
     * owner, so the slots can alternate. Named by slot, never by generation: a rotation only updates it in place (the
     * gate refuses a new prefix, which would rename it). Never dropped by the program
     * (`retainOnDelete`): `pulumi destroy` or unsetting databaseAppHost leaves the login the live DATABASE_URL uses.
     */
    private role(
        slot: Slot,
        name: string,
        password: random.RandomPassword | undefined,
        dependsOn: pulumi.Resource[],
    ): postgresql.Role {
        return new postgresql.Role(
            `${this.baseName}-${slot}`,
            {
                name,
                login: password !== undefined,
                ...(password ? { password: pulumi.secret(password.result) } : {}),
                roles: [this.args.ownerRole],
                assumeRole: this.args.ownerRole,
            },
            { parent: this, dependsOn, retainOnDelete: true },
        );
    }
}
