// The rules the RotationGate applies before a generation changes any password: pure, over what the stack recorded, what
// it wants and what the database says of the roles involved.
import { lowerGeneration } from "../render/ownership";

/** What the gate is given and records: the generation, and the login roles by name. */
export interface GateRoles {
    readonly generation: number;
    /** The role this generation activates (gets a new password, then goes live). */
    readonly activeRole: string;
    /** The other slot's role: the one the previous generation went live with, retired once this one is live. */
    readonly standbyRole: string;
}

/** What the database says of a role: absent (undefined), or whether it can log in. */
export type RoleFacts = Readonly<Record<string, { readonly canLogin: boolean } | undefined>>;

/** The roles whose state the decision needs, for one query (none for what the state alone decides). */
export function rolesToAsk(olds: Partial<GateRoles>, news: GateRoles): string[] {
    if (olds.generation === undefined) return [news.activeRole];
    return news.generation === olds.generation + 1 && !renames(olds, news) ? [news.activeRole] : [];
}

/** True when `news` names the login roles otherwise than the state does: a changed databaseRolePrefix. */
function renames(olds: Partial<GateRoles>, news: GateRoles): boolean {
    const names = (r: Partial<GateRoles>) => [r.activeRole, r.standbyRole].sort().join(" ");
    return names(olds) !== names(news);
}

/**
 * Why `news` must not start, given what the stack recorded (`olds`, none on the first `up`) and the roles' state, or
 * undefined when it may:
 * - a first `up` refuses an active role that exists and can log in (something may use it);
 * - a lower generation is refused (a retired password must never come back), and so is a jump of more than one (it
 *   would give the live login a new password);
 * - a changed role prefix is refused, with the way to move to new roles: the provider would rename the live login in
 *   place, before any DATABASE_URL with the new name is live, and could not follow a renamed role afterwards (the
 *   engine never changes a resource's id: pulumi/pulumi#3729);
 * - the next generation activates the slot the previous one retired: refused while that role can still log in (the
 *   previous generation never went live).
 */
export function gateRefusal(olds: Partial<GateRoles>, news: GateRoles, roles: RoleFacts): string | undefined {
    if (olds.generation === undefined) {
        return roles[news.activeRole]?.canLogin
            ? `generation ${news.generation} would give ${news.activeRole} a new password, but ${news.activeRole} ` +
                  `already exists and can log in, so something may use it; if nothing does, run ALTER ROLE ` +
                  `${news.activeRole} NOLOGIN, then pulumi up again`
            : undefined;
    }
    const recorded = olds.generation;
    if (news.generation < recorded) {
        return lowerGeneration("databaseCredentialGeneration", news.generation, recorded, "this stack's state");
    }
    if (renames(olds, news)) return prefixRefusal(olds as GateRoles, news);
    if (news.generation === recorded) return undefined;
    if (news.generation > recorded + 1) {
        return (
            `databaseCredentialGeneration: got ${news.generation}, but generation ${recorded} is the last one started: ` +
            `rotation goes one generation at a time (generation ${news.generation} would give ${news.activeRole}, ` +
            `possibly the live login, a new password); set it to ${recorded + 1}`
        );
    }
    if (roles[news.activeRole]?.canLogin) {
        return (
            `generation ${news.generation} would give ${news.activeRole} a new password, but ${news.activeRole} can ` +
            `still log in: generation ${recorded} never went live (its deploy, verification or login proof failed, so ` +
            `${news.activeRole} was never retired) and the app may still run on it. Finish generation ${recorded} ` +
            `first: set databaseCredentialGeneration back to ${recorded}, run pulumi up until it succeeds, then bump it`
        );
    }
    return undefined;
}

/** The refusal of a new role prefix, with the steps that move the app to new roles without cutting it off. */
function prefixRefusal(olds: GateRoles, news: GateRoles): string {
    return (
        `databaseRolePrefix: the login roles are ${olds.activeRole} (live, generation ${olds.generation}) and ` +
        `${olds.standbyRole}; the new prefix would rename them in place (${news.activeRole}, ${news.standbyRole}), ` +
        `the live login before any DATABASE_URL with its new name is live, and the provider cannot follow a renamed ` +
        `role afterwards. Keep the prefix, or move to new roles in three steps: (1) \`pulumi config rm ` +
        `databaseAppHost\` and \`pulumi config rm databaseCredentialGeneration\`, then pulumi up (the program lets ` +
        `go of the database: DATABASE_URL and both roles stay); (2) set databaseRolePrefix to the new prefix, ` +
        `databaseAppHost again and \`pulumi config set databaseCredentialGeneration ${olds.generation + 1}\`, then ` +
        `pulumi up (new roles, the new login proved, then live); (3) once the app runs on it, retire the old login ` +
        `by hand: ALTER ROLE ${olds.activeRole} NOLOGIN PASSWORD NULL`
    );
}
