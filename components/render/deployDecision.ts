// Which deploy a `pulumi up` triggers and what it does to autodeploy: the release-pin rules, in one pure function.
//
// The Deploy provider looks up what the decision needs (the pin's target, the live deploy, autodeploy) and carries it
// out. The pin's grammar lives in lib/releasePin.ts, below both this and the stack config.

/** Render's setting for deploying every push to the branch. */
export type AutoDeploy = "yes" | "no";

/** The pin looked up before deciding: a deploy as Render describes it, or the commit a SHA or tag names. */
export type PinTarget =
    | {
          readonly kind: "deploy";
          /** The pin as configured. */
          readonly pin: string;
          readonly deployId: string;
          /** The commit the deploy built; undefined for an image deploy. */
          readonly commitId?: string;
          /** When Render created the deploy (RFC 3339). */
          readonly createdAt: string;
          /** How it was started: a "rollback" deploy runs an older deploy's variables, not those of its own time. */
          readonly trigger?: string;
      }
    | {
          readonly kind: "commit";
          /** The pin as configured: the SHA, or the tag that resolved to `commitId`. */
          readonly pin: string;
          readonly commitId: string;
      };

/** What the Deploy resource keeps in state while a pin is set: the pin, and the autodeploy setting it found. */
export interface PinRecord {
    readonly pin: string;
    /** Restored when the pin is removed. */
    readonly autoDeployBeforePin: AutoDeploy;
}

/** Everything the decision depends on, looked up by the Deploy provider. */
export interface DeployDecisionInput {
    /** The pin configured now, resolved; undefined when none is set. */
    readonly pin?: PinTarget;
    /** The pin recorded in state by the last `up`; undefined when none was set. */
    readonly recorded?: PinRecord;
    /** The managed variables differ from those of the last deploy this program made (true when it made none). */
    readonly variablesChanged: boolean;
    /** When the first deploy running the current managed variables was created (RFC 3339); undefined when unknown. */
    readonly variablesSince?: string;
    /** The commit the live deploy runs, if any. */
    readonly liveCommitId?: string;
    /**
     * The service's newest deploys, newest first, as Render lists them: whether `deploy_only` would reuse the build
     * that runs now. Undefined: not known, so every deploy builds.
     */
    readonly recent?: readonly DeployFacts[];
    /** The service's autodeploy setting now; needed (and looked up) only when a pin is set or was recorded. */
    readonly autoDeploy?: AutoDeploy;
}

/** What the decision needs of a deploy in Render's list. */
export interface DeployFacts {
    readonly id: string;
    readonly status: string;
    readonly trigger?: string;
    /** Undefined for an image deploy. */
    readonly commitId?: string;
}

/** The one deploy to trigger. */
export type DeployAction =
    /** POST /deploys with deployMode deploy_only: the last successful build again, with the variables stored now. */
    | { readonly kind: "deployOnly"; readonly commitId: string; readonly buildDeployId: string }
    /** POST /rollback: reuses the target's build artifact, and runs the target's variables. */
    | { readonly kind: "rollback"; readonly deployId: string; readonly commitId?: string }
    /** POST /deploys with commitId: builds that commit with the variables stored now. */
    | { readonly kind: "commit"; readonly commitId: string }
    /** POST /deploys without commitId: the branch's latest commit. */
    | { readonly kind: "branchHead" };

/**
 * Why `deploy_only` (Render's last successful build, deployed again) might not run what runs now, or undefined when it
 * certainly does: the live deploy is the newest deploy of the service that got past its build, and not a rollback
 * (which runs an older deploy's build, while Render's "last successful build" is then someone else's). Any newer
 * deploy but one whose build failed may have left a newer build behind: a commit's build that succeeded before its
 * update failed, say, which `deploy_only` would ship.
 */
export function reuseProblem(recent: readonly DeployFacts[] | undefined): string | undefined {
    if (!recent) return "the service's deploys are not known";
    const liveIndex = recent.findIndex((d) => d.status === "live");
    if (liveIndex < 0) return `the live deploy is not among the service's ${recent.length} newest deploys`;
    const live = recent[liveIndex];
    if (!live.commitId) return `the live deploy ${live.id} runs an image, not a build of a commit`;
    if (live.trigger === "rollback") {
        return `the live deploy ${live.id} is a rollback, whose build is not the one Render would reuse`;
    }
    const newer = recent.slice(0, liveIndex).find((d) => d.status !== "build_failed");
    if (newer) {
        const what = newer.commitId ? ` of commit ${short(newer.commitId)}` : "";
        return `deploy ${newer.id}${what} (${newer.status}) is newer than the live one and may have left a newer build, which a deploy without a build would ship`;
    }
    return undefined;
}

/**
 * The fastest deploy that runs `commitId` with the variables stored now: no build when the live deploy runs that
 * commit and `deploy_only` would reuse its build; otherwise a build of the commit, saying why.
 */
export function deployOf(
    commitId: string,
    input: Pick<DeployDecisionInput, "recent">,
): { action: DeployAction; how: string } {
    const live = input.recent?.find((d) => d.status === "live");
    const problem =
        live && live.commitId !== commitId
            ? `the live deploy runs ${live.commitId ? short(live.commitId) : "an image"}, not ${short(commitId)}`
            : reuseProblem(input.recent);
    if (!problem && live) {
        return {
            action: { kind: "deployOnly", commitId, buildDeployId: live.id },
            how: `no build: reuses the live build of ${short(commitId)} (${live.id})`,
        };
    }
    return { action: { kind: "commit", commitId }, how: `builds commit ${short(commitId)} again, because ${problem}` };
}

export interface DeployDecision {
    readonly action: DeployAction;
    /** PATCH autodeploy to this before deploying; undefined leaves it as it is. */
    readonly setAutoDeploy?: AutoDeploy;
    /** The pin to keep in state; undefined when no pin is set any more. */
    readonly record?: PinRecord;
    /** Why this deploy, in one line for the log. */
    readonly reason: string;
}

/**
 * The deploy to trigger, called only when a deploy is due (the variables or the pin changed):
 * - a pin to a deploy whose variables are the current ones: Render's rollback, which reuses its build (fastest);
 * - a pin to a deploy that may have run other variables: its commit, built with the current variables, since a
 *   rollback runs the target deploy's OLD variables and would silently drop a kill switch;
 * - a pin to a commit or tag: that commit;
 * - no pin: the live commit, never the branch head (a flag flip must not ship code pushed since);
 * - a pin just removed: autodeploy back to what the pin found, and the branch head, so normal service resumes.
 * While a pin is set, autodeploy is turned off so the next push cannot undo it.
 *
 * "The target ran the current variables" is known only when nothing changed in this `up`, the current variables
 * went out no later than the target was created (`variablesSince`), and the target was not itself a rollback (which
 * runs an older deploy's variables). This covers a variable changed in this `up` and one changed since the pin was
 * set, and errs towards the slower commit deploy whenever it cannot tell.
 */
export function decideDeploy(input: DeployDecisionInput): DeployDecision {
    const { pin, recorded } = input;
    if (!pin) {
        if (recorded) {
            const restore = recorded.autoDeployBeforePin;
            return {
                action: { kind: "branchHead" },
                setAutoDeploy: autoDeployOf(input) === restore ? undefined : restore,
                reason:
                    `release pin ${recorded.pin} removed: autodeploy back to "${restore}" as the pin found it, ` +
                    `and the branch head deployed so normal service resumes`,
            };
        }
        if (!input.liveCommitId) {
            throw new Error(
                `the service has no live deploy of a git commit, so there is no commit to redeploy (a variable change ` +
                    `redeploys the live commit, never the branch head); deploy the service once from Render, or set releasePin ` +
                    `to a commit, then run pulumi up again`,
            );
        }
        const { action, how } = deployOf(input.liveCommitId, input);
        return {
            action,
            reason: `variables changed: redeploying the live commit ${short(input.liveCommitId)} so they take effect; ${how}`,
        };
    }

    const autoDeploy = autoDeployOf(input);
    const record: PinRecord = { pin: pin.pin, autoDeployBeforePin: recorded?.autoDeployBeforePin ?? autoDeploy };
    const setAutoDeploy: AutoDeploy | undefined = autoDeploy === "yes" ? "no" : undefined;
    const autoDeployNote = setAutoDeploy ? "; autodeploy turned off while pinned" : "";

    if (pin.kind === "commit") {
        const named = pin.pin === pin.commitId ? "" : ` (${pin.pin})`;
        const { action, how } = deployOf(pin.commitId, input);
        return {
            action,
            setAutoDeploy,
            record,
            reason: `release pin: deploying commit ${short(pin.commitId)}${named} with the current variables; ${how}${autoDeployNote}`,
        };
    }

    const ranCurrentVariables =
        !input.variablesChanged &&
        input.variablesSince !== undefined &&
        pin.trigger !== "rollback" &&
        Date.parse(pin.createdAt) >= Date.parse(input.variablesSince);
    if (ranCurrentVariables) {
        return {
            action: { kind: "rollback", deployId: pin.deployId, commitId: pin.commitId },
            setAutoDeploy,
            record,
            reason: `release pin: rolling back to ${pin.deployId}, reusing its build (it ran the current variables)${autoDeployNote}`,
        };
    }
    if (!pin.commitId) {
        throw new Error(
            `releasePin ${pin.deployId}: the managed variables differ from those it ran (or cannot be shown to match), so ` +
                `a rollback would run its old variables and drop a kill switch, and it has no git commit to deploy with the ` +
                `current ones (an image deploy); pin a commit SHA or a git tag instead`,
        );
    }
    const why = input.variablesChanged
        ? "the variables change in this up"
        : pin.trigger === "rollback"
          ? `${pin.deployId} was itself a rollback, running an older deploy's variables`
          : `the variables changed after ${pin.deployId} was created`;
    const { action, how } = deployOf(pin.commitId, input);
    return {
        action,
        setAutoDeploy,
        record,
        reason:
            `release pin: deploying ${pin.deployId}'s commit ${short(pin.commitId)} with the current variables, not a ` +
            `rollback, because ${why} and a rollback would run its old ones; ${how}${autoDeployNote}`,
    };
}

/** When an EnvVar revision (`<ISO time>-<hex>`, see envVarProvider.ts) was written, epoch ms; undefined if unreadable. */
export function revisionTime(revision: unknown): number | undefined {
    if (typeof revision !== "string") return undefined;
    const match = /^(.+)-[0-9a-f]+$/.exec(revision);
    const at = match ? Date.parse(match[1]) : NaN;
    return Number.isNaN(at) ? undefined : at;
}

/** When the newest of the managed variables was written (epoch ms), from their revisions; undefined when none reads. */
export function newestWrite(revisions: Readonly<Record<string, unknown>> | undefined): number | undefined {
    const times = Object.values(revisions ?? {})
        .map(revisionTime)
        .filter((t): t is number => t !== undefined);
    return times.length > 0 ? Math.max(...times) : undefined;
}

/** A deploy in Render's list, with what adoption needs beyond the decision's facts. */
export interface ListedDeploy extends DeployFacts {
    /** RFC 3339, Render's clock. */
    readonly createdAt: string;
}

/** What adoption is decided on. */
export interface AdoptionInput {
    /** The service's newest deploys, newest first. */
    readonly recent: readonly ListedDeploy[];
    /** When the newest managed variable was written (epoch ms): a deploy created after it carries every write. */
    readonly newestWrite?: number;
    /** The deploy the state records: never adopted again. */
    readonly recordedDeployId?: string;
    /** The commit a pin resolves to; undefined: unpinned, the live commit's. */
    readonly pinnedCommitId?: string;
    /** The pin is a deploy id, so this up's deploy may be a rollback (trigger "rollback"). */
    readonly rollbackPin?: boolean;
}

/** A deploy's statuses before it ends: made, waiting its turn, building, or going live. */
export const IN_FLIGHT_STATUSES: readonly string[] = [
    "created",
    "queued",
    "build_in_progress",
    "pre_deploy_in_progress",
    "update_in_progress",
];

/**
 * A deploy this `up` takes for its own instead of triggering one: made through the API (or a rollback, for a deploy-id
 * pin), of the commit this up would deploy, created after the newest variable write (so it carries every write),
 * in flight or live, and not the deploy the state already records. That is the trigger of an earlier `up` whose answer
 * was lost and which Render acted on late: adopting it keeps "one deploy" true. Any other deploy (a teammate's, a push's
 * autodeploy, one that failed) is never adopted. The newest such deploy, with the others that also qualify.
 */
export function adoptableDeploy(input: AdoptionInput): { deploy: ListedDeploy; others: ListedDeploy[] } | undefined {
    if (input.newestWrite === undefined) return undefined;
    const live = input.recent.find((d) => d.status === "live");
    const candidates = input.recent.filter((d) => {
        const ours = d.trigger === "api" || (input.rollbackPin === true && d.trigger === "rollback");
        const carriesWrites = Date.parse(d.createdAt) >= input.newestWrite!;
        const running = d.status === "live" || IN_FLIGHT_STATUSES.includes(d.status);
        // Unpinned, a flag flip deploys the live commit: the one live now (or this deploy itself, once it went live).
        const commit = input.pinnedCommitId ?? (d.status === "live" ? d.commitId : live?.commitId);
        const sameCommit = commit !== undefined && d.commitId === commit;
        return ours && carriesWrites && running && d.id !== input.recordedDeployId && sameCommit;
    });
    const [deploy, ...others] = candidates;
    return deploy && { deploy, others };
}

/** The error for a rollback Render refused because the target's build artifact is gone: what would work instead. */
export function rollbackUnavailableMessage(deployId: string, commitId: string | undefined, renderSaid: string): string {
    const instead = commitId
        ? `pin its commit instead (pulumi config set releasePin ${commitId}), which builds that code again`
        : `pin a commit SHA or a git tag instead`;
    return `releasePin ${deployId}: Render cannot roll back to it (${renderSaid}); its build artifact is no longer kept: ${instead}, then run pulumi up again`;
}

function autoDeployOf(input: DeployDecisionInput): AutoDeploy {
    if (input.autoDeploy === undefined) {
        throw new Error(
            "decideDeploy: the service's autodeploy setting is needed when a release pin is set or removed",
        );
    }
    return input.autoDeploy;
}

function short(commitId: string): string {
    return commitId.slice(0, 7);
}
