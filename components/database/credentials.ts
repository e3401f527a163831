// The app's database login, rotated by alternating two roles: the standby gets a new password and goes live,
// and only after the deploy carrying it is live does the previous role lose LOGIN and its sessions.
import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
    activeSlot,
    databaseUrl,
    ownerRoleProblem,
    roleName,
    slotKeeper,
    standbySlot,
    type Slot,
} from "../../stacks/rotation";
import { TerminateSessions } from "./terminateSessions";

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
}

/** What `retireStandby` declares. */
export interface Retirement {
    /** The standby role, declared with `login: false` after the deploy. */
    readonly role: postgresql.Role;
    /** Ends the standby role's remaining sessions once it has lost LOGIN. */
    readonly sessions: TerminateSessions;
}

export class DatabaseCredentials extends pulumi.ComponentResource {
    /** The role the app logs in as from this generation on. */
    public readonly activeRole: string;
    /** The role that stands by (and, after `retireStandby`, cannot log in). */
    public readonly standbyRole: string;
    /** The active role's resource: anything that needs its password in the database depends on it. */
    public readonly active: postgresql.Role;
    /** Each slot's password, kept by the last generation that activated the slot. */
    public readonly passwords: Readonly<Record<Slot, random.RandomPassword>>;
    /** The app's DATABASE_URL (secret), available only once the active role holds its password. */
    public readonly databaseUrl: pulumi.Output<string>;

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
        const ownerProblem = ownerRoleProblem(args.rolePrefix, args.ownerRole);
        if (ownerProblem) throw new RangeError(`databaseOwnerRole: ${ownerProblem}`);

        this.passwords = {
            blue: this.password("blue"),
            green: this.password("green"),
        };
        this.active = this.role(active, true, []);

        // Built from the role's own outputs: the URL exists only after the database holds this password.
        const { host, port, database, sslMode } = args;
        this.databaseUrl = pulumi.secret(
            pulumi.all([this.active.name, this.active.password]).apply(([user, password]) => {
                if (!password)
                    throw new Error(`role ${user} has no password in the state; expected the slot's RandomPassword`);
                return databaseUrl({ user, password, host, port, database, sslMode });
            }),
        );
        this.registerOutputs({ databaseUrl: this.databaseUrl });
    }

    /**
     * Declares the standby role without LOGIN, after `afterDeploy` (the deploy that puts the new DATABASE_URL live),
     * then ends its remaining sessions. Call it exactly once: a slot that is not declared would be dropped.
     */
    retireStandby(afterDeploy: pulumi.Resource): Retirement {
        if (this.retirement)
            throw new Error(`${this.baseName}: retireStandby was already called; the standby role is declared once`);
        const standby = standbySlot(this.args.generation);
        const role = this.role(standby, false, [afterDeploy]);
        const sessions = new TerminateSessions(
            `${this.baseName}-retired-sessions`,
            { database: this.args.database, role: role.name, generation: this.args.generation },
            { parent: this, dependsOn: [role] },
        );
        this.retirement = { role, sessions };
        return this.retirement;
    }

    /** A slot's password: a new one only when a generation activates the slot. */
    private password(slot: Slot): random.RandomPassword {
        return new random.RandomPassword(
            `${this.baseName}-${slot}-password`,
            {
                length: 32,
                // Reserved URL characters among them, so the URL's percent-encoding is always exercised.
                special: true,
                minSpecial: 2,
                keepers: { generation: String(slotKeeper(this.args.generation, slot)) },
            },
            { parent: this },
        );
    }

    /**
     * A slot's login role. It owns nothing: as a member of the owner role that switches to it at login
     * (`ALTER ROLE ... SET role`), whatever the app creates belongs to the owner, so the slots can alternate.
     * Named by slot, never by generation: a rotation only updates `password` and `login` in place.
     */
    private role(slot: Slot, login: boolean, dependsOn: pulumi.Resource[]): postgresql.Role {
        return new postgresql.Role(
            `${this.baseName}-${slot}`,
            {
                name: roleName(this.args.rolePrefix, slot),
                login,
                password: pulumi.secret(this.passwords[slot].result),
                roles: [this.args.ownerRole],
                assumeRole: this.args.ownerRole,
            },
            { parent: this, dependsOn },
        );
    }
}
