// The emulated account around its services: the API key's user, the workspaces (owners) it belongs to, and the
// Render Postgres instances, as /users, /owners, /projects, /postgres and /key-value answer them.
import { iso, newId } from "./ids";
import type { RenderState } from "./state";

/** The API key's user, as GET /users answers it. */
export interface User {
    name: string;
    email: string;
}

/** A workspace: the user's own, or a team. */
export interface Owner {
    id: string;
    name: string;
    email: string;
    /** Only for a user's own workspace. */
    twoFactorAuthEnabled?: boolean;
    type: "user" | "team";
}

/** A Render Postgres instance as GET /postgres lists it (the fields the spec requires, and the disk). */
export interface Postgres {
    id: string;
    ipAllowList: Array<{ cidrBlock: string; description: string }>;
    createdAt: string;
    updatedAt: string;
    databaseName: string;
    databaseUser: string;
    highAvailabilityEnabled: boolean;
    name: string;
    owner: Owner;
    plan: "basic_1gb";
    diskSizeGB: number;
    region: "oregon";
    readReplicas: Array<{ id: string; name: string }>;
    role: "primary";
    status: "available";
    version: "15";
    suspended: "not_suspended";
    suspenders: string[];
    dashboardUrl: string;
}

/** The account of one emulated Render: its user and workspaces, and the databases beside the services. */
export class AccountModel {
    /** The API key belongs to this user, whose own workspace is `userOwner`. */
    readonly user: User = { name: "Ahoy On-call", email: "oncall@ahoy-indie.media" };
    readonly userOwner: Owner;
    private readonly postgres: Array<{ seq: number; item: Postgres }> = [];
    private seq = 0;

    constructor(private readonly state: RenderState) {
        this.userOwner = {
            id: newId("usr"),
            name: this.user.name,
            email: this.user.email,
            twoFactorAuthEnabled: true,
            type: "user",
        };
    }

    /** The workspaces: the user's own, then every team that owns a service (the seeded one: Ahoy Indie Media). */
    owners(): Array<{ seq: number; item: Owner }> {
        const teams = new Set(
            this.state
                .listServices()
                .map(({ item }) => item.ownerId)
                .filter((id) => id !== this.userOwner.id),
        );
        return [this.userOwner, ...[...teams].sort().map((id) => this.team(id))].map((item, i) => ({
            seq: i + 1,
            item,
        }));
    }

    owner(ownerId: string): Owner | undefined {
        return this.owners().find(({ item }) => item.id === ownerId)?.item;
    }

    /** Adds a Render Postgres instance owned by `ownerId`; returns it. */
    addPostgres(input: { id: string; ownerId: string; name: string; databaseName: string; ageMs: number }): Postgres {
        const at = iso(Date.now() - input.ageMs);
        const owner = this.owner(input.ownerId) ?? this.team(input.ownerId);
        const item: Postgres = {
            id: input.id,
            ipAllowList: [{ cidrBlock: "0.0.0.0/0", description: "everywhere" }],
            createdAt: at,
            updatedAt: at,
            databaseName: input.databaseName,
            databaseUser: input.databaseName,
            highAvailabilityEnabled: false,
            name: input.name,
            owner,
            plan: "basic_1gb",
            diskSizeGB: 15,
            region: "oregon",
            readReplicas: [],
            role: "primary",
            status: "available",
            version: "15",
            suspended: "not_suspended",
            suspenders: [],
            dashboardUrl: `https://dashboard.render.com/d/${input.id}`,
        };
        this.postgres.push({ seq: ++this.seq, item });
        return structuredClone(item);
    }

    /** Newest first, as Render's lists are. */
    listPostgres(): Array<{ seq: number; item: Postgres }> {
        return [...this.postgres].reverse().map(({ seq, item }) => ({ seq, item: structuredClone(item) }));
    }

    /** The owner of a service or Postgres id, or undefined for an id the account does not have. */
    ownerOf(resourceId: string): string | undefined {
        if (this.state.hasService(resourceId)) return this.state.service(resourceId).ownerId;
        return this.postgres.find(({ item }) => item.id === resourceId)?.item.owner.id;
    }

    private team(id: string): Owner {
        return { id, name: "Ahoy Indie Media", email: "ops@ahoy-indie.media", type: "team" };
    }
}

// The model lives beside the account's state, as the metrics do (see ./metrics.ts).
const MODELS = new WeakMap<RenderState, AccountModel>();

export function accountOf(state: RenderState): AccountModel {
    let model = MODELS.get(state);
    if (!model) MODELS.set(state, (model = new AccountModel(state)));
    return model;
}
