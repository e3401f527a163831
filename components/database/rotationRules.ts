// The rules the RotationGate applies before a generation changes any password: pure, over what the stack recorded, what
// it wants and what the database says of the roles involved.
import { lowerGeneration } from "../render/ownership";

/** What the gate is given and records: the generation, and the login roles by name. */
export interface GateRoles {
    readonly generation: number;
    /** The role this generation activates (gets a new password, then goes live). */
    readonly activeRole: string;
    /** The role the other slot would have under this generation's prefix. */
    readonly standbyRole: string;
    /**
     * The role the other slot holds now: the login the previous generation went live with, which the retirement takes
     * LOGIN from and which keeps its name until a later generation activates its slot (set by the gate; older states
     * lack it, and then it is `standbyRole`).
     */
    readonly retiring?: string;
}

/** What the database says of a role: absent (undefined), or whether it can log in. */
export type RoleFacts = Readonly<Record<string, { readonly canLogin: boolean } | undefined>>;

/** The gate's answer: the role the standby slot holds, or why this generation must not start. */
export interface GateDecision {
    readonly retiring: string;
    readonly refusal?: string;
}

/** The roles whose state the decision needs, for one query. */
export function rolesToAsk(olds: Partial<GateRoles>, news: GateRoles): string[] {
    if (olds.generation === undefined) return [news.activeRole];
    if (news.generation !== olds.generation + 1) return [];
    return [...new Set([olds.retiring ?? olds.standbyRole!, news.activeRole])];
}

/**
 * Whether `news` may start, given what the stack recorded (`olds`, none on the first `up`) and the roles' state:
 * - a first `up` refuses an active role that exists and can log in (something may use it);
 * - a lower generation is refused (a retired password must never come back), and so is a jump of more than one (it
 *   would give the live login a new password);
 * - the same generation under another role prefix is refused: it would rename the live login before a new
 *   DATABASE_URL is live; a new prefix goes live as a rotation, with a bump;
 * - the next generation activates the slot the previous one retired: refused while that role can still log in (the
 *   previous generation never went live), or when it is to be renamed to a name another role has.
 */
export function gateDecision(olds: Partial<GateRoles>, news: GateRoles, roles: RoleFacts): GateDecision {
    if (olds.generation === undefined) {
        const active = roles[news.activeRole];
        return {
            retiring: news.standbyRole,
            refusal: active?.canLogin
                ? `generation ${news.generation} would give ${news.activeRole} a new password, but ${news.activeRole} ` +
                  `already exists and can log in, so something may use it; if nothing does, run ALTER ROLE ` +
                  `${news.activeRole} NOLOGIN, then pulumi up again`
                : undefined,
        };
    }
    const recorded = olds.generation;
    const holding = olds.retiring ?? olds.standbyRole!;
    if (news.generation < recorded) {
        return {
            retiring: holding,
            refusal: lowerGeneration("databaseCredentialGeneration", news.generation, recorded, "this stack's state"),
        };
    }
    if (news.generation === recorded) {
        if (news.activeRole === olds.activeRole) return { retiring: holding };
        return {
            retiring: holding,
            refusal:
                `databaseRolePrefix: the live login is ${olds.activeRole} (generation ${recorded}); a new prefix would ` +
                `rename it to ${news.activeRole} before any DATABASE_URL with that name is live, cutting the app off. ` +
                `A new prefix goes live as a rotation: change it together with ` +
                `\`pulumi config set databaseCredentialGeneration ${recorded + 1}\`; the standby role takes the new ` +
                `prefix, proves its login and goes live, then ${olds.activeRole} is retired (it moves to the new ` +
                "prefix at the bump after)",
        };
    }
    if (news.generation > recorded + 1) {
        return {
            retiring: holding,
            refusal:
                `databaseCredentialGeneration: got ${news.generation}, but generation ${recorded} is the last one ` +
                `started: rotation goes one generation at a time (generation ${news.generation} would give ` +
                `${news.activeRole}, possibly the live login, a new password); set it to ${recorded + 1}`,
        };
    }
    // The next generation: the slot the previous one retired goes live again, under the name it holds now.
    const from = roles[holding];
    if (from?.canLogin) {
        return {
            retiring: olds.activeRole!,
            refusal:
                `generation ${news.generation} would give ${holding} a new password, but ${holding} can still log ` +
                `in: generation ${recorded} never went live (its deploy, verification or login proof failed, so ` +
                `${holding} was never retired) and the app may still run on it. Finish generation ${recorded} ` +
                `first: set databaseCredentialGeneration back to ${recorded}, run pulumi up until it succeeds, then bump it`,
        };
    }
    if (holding !== news.activeRole && roles[news.activeRole] !== undefined) {
        return {
            retiring: olds.activeRole!,
            refusal:
                `generation ${news.generation} renames ${holding} to ${news.activeRole} (a new databaseRolePrefix), ` +
                `but a role ${news.activeRole} exists already; drop it if nothing uses it, or choose another prefix`,
        };
    }
    return { retiring: olds.activeRole! };
}
