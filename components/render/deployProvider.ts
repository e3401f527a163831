// The Deploy provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts).
import * as pulumi from "@pulumi/pulumi";
import {
    Deploy as RenderDeploy,
    DeployFailedError,
    describeDeploy,
    isTransient,
    RenderApiError,
    RenderClient,
} from "../../lib/render/client";
import {
    adoptableDeploy,
    AutoDeploy,
    DeployAction,
    decideDeploy,
    deployOf,
    IN_FLIGHT_STATUSES,
    type ListedDeploy,
    newestWrite,
    PinTarget,
    rollbackUnavailableMessage,
} from "./deployDecision";
import {
    DEPLOY_BUDGET_MINUTES,
    OTHER_DEPLOYS_MAX_MINUTES,
    QUEUED_MAX_MINUTES,
    TRIGGER_LOOKUP_SECONDS,
} from "../upWaits";
import { parseReleasePin, releasePinProblem } from "../../lib/releasePin";
import { isCommitSha, resolveGitRef } from "../../lib/gitRef";
import {
    configureRenderProvider,
    isUnknown,
    openRenderClient,
    RenderProvider,
    RenderProviderState,
    revealed,
    serviceChanged,
    serviceFailures,
} from "./providerSupport";

/** The inputs the Deploy provider receives. */
export interface DeployInputs {
    service: string;
    apiUrl: string;
    /**
     * Each managed variable's revision (new on every write to Render): one that differs from the recorded set is a
     * write this `up` made, which only a deploy created after it carries to the app.
     */
    revisions: Record<string, string>;
    /** The release pin as configured (deploy id, commit SHA or git tag); absent when none is set. */
    releasePin?: string;
    /** The git repository a tag pin is looked up in; absent: the one Render builds the service from. */
    repository?: string;
    /** Filled in by `check` while a pin is set: the commit it resolves to, so the preview shows it. */
    releaseCommit?: string;
    /** Filled in by `check` while a pin is set: "no", so the preview shows autodeploy will be off. */
    autoDeploy?: "no";
    /** Filled in by `check` when a deploy is due: which kind will run, as the preview shows it ("no build: ..."). */
    plan?: string;
}

/** The Deploy provider's outputs: the inputs plus the service's srv- id, the deploy last triggered, and the pin's record. */
export interface DeployOutputs extends DeployInputs {
    serviceId: string;
    deployId: string;
    commitId: string;
    status: string;
    /** While a pin is set: the autodeploy setting found when it was set, restored when it is removed. */
    autoDeployBeforePin?: AutoDeploy;
    /** When the first deploy running the current managed variables was created (RFC 3339): a rollback to an older
     * deploy would run older variables. */
    variablesSince?: string;
    /** When the deploy went live (RFC 3339, Render's clock): a session of a retired login opened after it is not the
     * old app's. */
    liveAt: string;
    /** Why the last deploy was the one it was, build or no build, as the `up` logged it (the decision's reason). */
    decided?: string;
}

// How many recent deploys a short commit SHA is looked up in, to find the full SHA Render's deploy call needs.
const SHORT_SHA_LOOKUP = 100;

/** The properties that have a value: the host's wire format (a protobuf Struct) has no `undefined`. */
function defined<T extends object>(props: T): T {
    return Object.fromEntries(Object.entries(props).filter(([, value]) => value !== undefined)) as T;
}

/** The input properties, as the engine compares them; the rest of the outputs are Render's answer and the pin's record. */
function inputsOf(props: DeployInputs): DeployInputs {
    const { service, apiUrl, revisions, releasePin, repository, releaseCommit, autoDeploy, plan } = props;
    return defined({ service, apiUrl, revisions, releasePin, repository, releaseCommit, autoDeploy, plan });
}

/** Whether a deploy is due: a write since the recorded one (or one not known until apply), or another pin. */
function deployDue(olds: Partial<DeployInputs>, news: DeployInputs): boolean {
    return (
        isUnknown(news.revisions) ||
        Object.values(news.revisions ?? {}).some(isUnknown) ||
        writtenSince(olds.revisions, news.revisions) ||
        (news.releasePin ?? "") !== (olds.releasePin ?? "") ||
        (news.releaseCommit ?? "") !== (olds.releaseCommit ?? "")
    );
}

/**
 * What the preview says of the deploy to come: no build, or a build and why. Decided again, on what Render shows then,
 * when the deploy runs; a deploy id pin's rollback depends on what the state records, so it is said as a condition.
 */
async function previewPlan(client: RenderClient, serviceId: string, inputs: DeployInputs): Promise<string> {
    const recent = (await client.listDeploys(serviceId, { limit: RECENT_DEPLOYS })).map(factsOf);
    const pinnedCommit = inputs.releaseCommit;
    if (inputs.releasePin?.startsWith("dep-")) {
        const built = pinnedCommit ? `; otherwise ${deployOf(pinnedCommit, { recent }).how}` : "";
        return `a rollback to ${inputs.releasePin} (no build) if it ran the current variables${built}`;
    }
    const commit = pinnedCommit ?? recent.find((d) => d.status === "live")?.commitId;
    return commit ? deployOf(commit, { recent }).how : "no live deploy of a commit to deploy again";
}

/**
 * Whether a managed variable was written since `olds`: a key whose revision is new or differs. A key no longer managed
 * is no write: the program let it go (`config rm databaseAppHost`, a renamed resource's old self) and its delete leaves
 * Render's value as it is, so the live deploy already runs it.
 */
function writtenSince(olds: Record<string, string> | undefined, news: Record<string, string> | undefined): boolean {
    return Object.entries(news ?? {}).some(([key, revision]) => (olds ?? {})[key] !== revision);
}

/** The same writes: every key with the same revision. */
function sameRevisions(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
    const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})]);
    return [...keys].every((key) => (a ?? {})[key] === (b ?? {})[key]);
}

/**
 * The commit a pin resolves to, for the preview: a deploy's commit (undefined for an image deploy), a full SHA as
 * given, a short SHA completed from the service's recent deploys, or a tag resolved with `git ls-remote` against
 * `repository`, else the repository Render builds the service from. Throws naming the pin when it resolves to nothing.
 */
async function resolvePinCommit(
    client: RenderClient,
    serviceId: string,
    releasePin: string,
    repository?: string,
): Promise<string | undefined> {
    const pin = parseReleasePin(releasePin);
    if (pin.kind === "deploy") {
        try {
            return (await client.getDeploy(serviceId, pin.deployId)).commit?.id;
        } catch (err) {
            if (err instanceof RenderApiError && err.status === 404) {
                throw new Error(
                    `Render has no deploy ${pin.deployId} of service ${serviceId}; pick a deploy id from the service's deploy list`,
                    {
                        cause: err,
                    },
                );
            }
            throw err;
        }
    }
    if (pin.kind === "commit") {
        if (pin.commitId.length === 40) return pin.commitId;
        const deploys = await client.listDeploys(serviceId, { limit: SHORT_SHA_LOOKUP });
        const matches = [
            ...new Set(
                deploys.map((d) => d.commit?.id).filter((id): id is string => !!id && id.startsWith(pin.commitId)),
            ),
        ];
        if (matches.length === 1) return matches[0];
        throw new Error(
            `${pin.commitId} is a short SHA, and Render's deploy call needs the full one: ` +
                (matches.length === 0
                    ? `none of the service's last ${SHORT_SHA_LOOKUP} deploys ran a commit starting with it`
                    : `${matches.length} commits start with it (${matches.join(", ")})`) +
                `; give the full 40-character SHA`,
        );
    }
    const repo = repository ?? (await client.getService(serviceId)).repo;
    if (!repo) {
        throw new Error(
            `tag ${pin.ref} needs a git repository to be looked up in, and Render names none for ${serviceId}; set repository in the stack config`,
        );
    }
    const resolved = await resolveGitRef(repo, pin.ref);
    if (!isCommitSha(resolved.commitId))
        throw new Error(`${resolved.ref} resolved to ${JSON.stringify(resolved.commitId)}, which is not a commit SHA`);
    return resolved.commitId;
}

/** The pin as the decision needs it: a deploy with its commit, time and trigger, or the commit check resolved. */
async function pinTarget(
    client: RenderClient,
    serviceId: string,
    inputs: DeployInputs,
): Promise<PinTarget | undefined> {
    const { releasePin } = inputs;
    if (!releasePin) return undefined;
    const pin = parseReleasePin(releasePin);
    if (pin.kind === "deploy") {
        const target = await client.getDeploy(serviceId, pin.deployId);
        return {
            kind: "deploy",
            pin: releasePin,
            deployId: target.id,
            commitId: target.commit?.id ?? undefined,
            createdAt: target.createdAt,
            trigger: target.trigger,
        };
    }
    // check put the resolved commit in the inputs; resolving again here keeps a direct call (no check) correct too.
    const commitId = inputs.releaseCommit ?? (await resolvePinCommit(client, serviceId, releasePin, inputs.repository));
    if (!commitId) throw new Error(`releasePin ${releasePin} resolved to no commit`);
    return { kind: "commit", pin: releasePin, commitId };
}

/** Starts the decided deploy; a rollback Render refuses (its build artifact gone) fails suggesting the commit instead. */
async function startDeploy(
    client: RenderClient,
    serviceId: string,
    action: DeployAction,
    before: RenderDeploy[],
): Promise<RenderDeploy> {
    if (action.kind === "branchHead") return client.triggerDeploy(serviceId, {}, { before });
    if (action.kind === "commit") return client.triggerDeploy(serviceId, { commitId: action.commitId }, { before });
    if (action.kind === "deployOnly") {
        // No commit may go with deploy_only: the deploy found afterwards is told apart by the commit its build is of.
        return client.triggerDeploy(
            serviceId,
            { deployMode: "deploy_only" },
            { before, expectCommit: action.commitId },
        );
    }
    try {
        return await client.rollback(serviceId, action.deployId, { before, expectCommit: action.commitId });
    } catch (err) {
        // 400/409/410/422: Render understood and refused, which for an existing deploy means its artifact is not kept.
        if (err instanceof RenderApiError && [400, 409, 410, 422].includes(err.status)) {
            throw new Error(rollbackUnavailableMessage(action.deployId, action.commitId, err.message), { cause: err });
        }
        throw err;
    }
}

function describeAction(action: DeployAction, pinned: boolean): string {
    if (action.kind === "branchHead") return "of the branch head";
    if (action.kind === "rollback") return `(a rollback to ${action.deployId}, reusing its build)`;
    if (action.kind === "deployOnly") {
        return `of the ${pinned ? "pinned" : "live"} commit ${action.commitId.slice(0, 7)} (no build: ${action.buildDeployId}'s build reused)`;
    }
    return `of the ${pinned ? "pinned" : "live"} commit ${action.commitId.slice(0, 7)}`;
}

/** What the decisions read of a deploy Render lists (deployDecision.ts). */
function factsOf(d: RenderDeploy): ListedDeploy {
    return { id: d.id, status: d.status, trigger: d.trigger, commitId: d.commit?.id, createdAt: d.createdAt };
}

// How many of the service's newest deploys are read before deciding: the live one is nearly always among them.
const RECENT_DEPLOYS = 20;
/** The Deploy step's bounds in ms (components/upWaits.ts), shrunk by a drill's AHOY_DEPLOY_WAIT_SCALE (e.g. 0.001). */
export function deployBounds(env: NodeJS.ProcessEnv): { budgetMs: number; othersMs: number; queuedMs: number } {
    const raw = env.AHOY_DEPLOY_WAIT_SCALE;
    const scale = raw === undefined || raw === "" ? 1 : Number(raw);
    if (!(scale > 0 && scale <= 1)) {
        throw new Error(
            `AHOY_DEPLOY_WAIT_SCALE: got ${JSON.stringify(raw)}; expected a number above 0 and at most 1, or unset`,
        );
    }
    return {
        budgetMs: DEPLOY_BUDGET_MINUTES * 60_000 * scale,
        othersMs: OTHER_DEPLOYS_MAX_MINUTES * 60_000 * scale,
        queuedMs: QUEUED_MAX_MINUTES * 60_000 * scale,
    };
}

/** What Render runs and has in flight now: the newest deploys (the snapshot ours is told apart by) and the live one. */
async function renderNow(
    client: RenderClient,
    serviceId: string,
): Promise<{ recent: RenderDeploy[]; live?: RenderDeploy; inFlight: RenderDeploy[] }> {
    const recent = await client.listDeploys(serviceId, { limit: RECENT_DEPLOYS });
    const live = recent.find((d) => d.status === "live") ?? (await client.liveDeploy(serviceId));
    return { recent, live, inFlight: recent.filter((d) => IN_FLIGHT_STATUSES.includes(d.status)) };
}

/**
 * Waits until deploys someone else started (a push's autodeploy, a dashboard deploy) have ended, so that a deploy of
 * "the live commit" is decided on what is live after them: queued behind a push, it would roll that push back.
 */
async function settle(
    client: RenderClient,
    serviceId: string,
    service: string,
    inFlight: RenderDeploy[],
    boundMs: number,
): Promise<void> {
    // One bound for all of them together: a queue of other deploys is waited out once, not one full wait each.
    const until = Date.now() + boundMs;
    for (const other of inFlight) {
        void pulumi.log.info(
            `${service}: ${describeDeploy(other)} is in flight; waiting for it to end before deciding what to deploy, ` +
                `so this deploy cannot undo it (at most ${formatMinutes(until - Date.now())} more)`,
        );
        try {
            await client.waitForDeploy(serviceId, other.id, { timeoutMs: until - Date.now() });
        } catch (err) {
            // Its failure is its own: what matters here is only that it is no longer in flight.
            if (!(err instanceof DeployFailedError)) throw err;
            if (err.timedOut) {
                throw new Error(
                    `${describeDeploy({ ...other, status: err.status as RenderDeploy["status"] })}, someone else's, was ` +
                        `still in flight after this up waited ${formatMinutes(boundMs)} for the deploys ahead of it to end, ` +
                        `so it deployed nothing (deploying now could undo it). The variables are written but not running: ` +
                        `let it end (or cancel it in Render), then run pulumi up again`,
                    { cause: err },
                );
            }
        }
    }
}

/**
 * Waits while our deploy is queued behind another. When that one goes live and runs a different commit than ours
 * (a push landed while we waited), deploying ours would silently roll it back: ours is canceled and the `up` fails
 * naming both commits. Only for an unpinned deploy of "the live commit"; a pinned deploy is meant to win. Polls
 * quickly: the moment to cancel is while ours builds, before it replaces the push.
 */
async function waitOurTurn(
    client: RenderClient,
    serviceId: string,
    ours: RenderDeploy,
    liveBefore: RenderDeploy | undefined,
    queuedMs: number,
): Promise<void> {
    await waitQueued(client, serviceId, ours, queuedMs);
    const live = await client.liveDeploy(serviceId);
    const ourCommit = ours.commit?.id;
    if (!live || live.id === ours.id || live.id === liveBefore?.id || live.commit?.id === ourCommit) return;
    let canceled = `canceled ${ours.id}`;
    try {
        await client.cancelDeploy(serviceId, ours.id);
    } catch (err) {
        // Too late when ours has already gone live over the newer one: that is checkNotOvertaken's failure to report.
        if ((await client.getDeploy(serviceId, ours.id)).status === "live") return;
        canceled = `tried to cancel ${ours.id} but Render said ${(err as Error).message}; cancel it in the dashboard`;
    }
    throw new Error(
        `while deploy ${ours.id} of the live commit ${short(ourCommit)} waited its turn, ${describeDeploy(live)} went ` +
            `live with commit ${short(live.commit?.id)}; deploying ${short(ourCommit)} now would roll ${short(live.commit?.id)} ` +
            `back, so this up ${canceled}. The variables are written but not running: run pulumi up again to deploy ` +
            `${short(live.commit?.id)} with them`,
    );
}

/**
 * Waits while our deploy is `queued` (behind another deploy), polling quickly: at most `boundMs`, after which the up
 * fails naming it and what it waits behind. It is left queued, carrying the variables: the next `up` adopts it.
 */
async function waitQueued(client: RenderClient, serviceId: string, ours: RenderDeploy, boundMs: number): Promise<void> {
    const until = Date.now() + boundMs;
    let status = ours.status;
    let pollMs = 100;
    // `queued` is waiting for another deploy to end; once ours leaves it, the one ahead has ended (live or not).
    while (status === "queued") {
        if (Date.now() >= until) {
            const ahead = (await client.listDeploys(serviceId, { limit: RECENT_DEPLOYS })).find(
                (d) => d.id !== ours.id && IN_FLIGHT_STATUSES.includes(d.status) && d.status !== "queued",
            );
            throw new Error(
                `deploy ${ours.id} stayed queued for ${formatMinutes(boundMs)}` +
                    (ahead ? ` behind ${describeDeploy(ahead)}` : "") +
                    `: this up stops waiting. It stays queued and carries the variables when it runs: run pulumi up ` +
                    `again to wait for it (the next up adopts it rather than deploy again), or cancel it in Render`,
            );
        }
        await sleep(Math.min(pollMs, Math.max(0, until - Date.now())));
        pollMs = Math.min(1_000, pollMs * 2);
        try {
            status = (await client.getDeploy(serviceId, ours.id)).status;
        } catch (err) {
            if (isTransient(err)) continue;
            throw err;
        }
    }
}

/**
 * After ours went live: whether another deploy of a different commit went live between our trigger and ours (too fast
 * for `waitOurTurn` to cancel ours), so that ours replaced it. Then the `up` fails saying so: the variables run, on
 * the older commit, and the newer one must be deployed again.
 */
async function checkNotOvertaken(
    client: RenderClient,
    serviceId: string,
    ours: RenderDeploy,
    liveBefore: RenderDeploy | undefined,
): Promise<void> {
    const since = Date.parse(ours.createdAt);
    const replaced = (await client.listDeploys(serviceId, { limit: RECENT_DEPLOYS })).find(
        (d) =>
            d.id !== ours.id &&
            d.id !== liveBefore?.id &&
            (d.status === "deactivated" || d.status === "live") &&
            d.commit?.id !== ours.commit?.id &&
            d.finishedAt != null &&
            Date.parse(d.finishedAt) >= since,
    );
    if (!replaced) return;
    throw new Error(
        `${describeDeploy(replaced)} went live with commit ${short(replaced.commit?.id)} while deploy ${ours.id} of ` +
            `${short(ours.commit?.id)} waited, and ${ours.id} has replaced it: the variables are live, but on the older ` +
            `commit ${short(ours.commit?.id)}. Deploy ${short(replaced.commit?.id)} again (the dashboard's "Deploy latest ` +
            `commit", or releasePin ${replaced.commit?.id ?? "<its commit>"} then unpin)`,
    );
}

/**
 * One deploy, as decideDeploy chooses it (the live commit; or, with a pin, a rollback or the pinned commit; or, once
 * the pin is removed, the branch head), after setting autodeploy as the pin requires; then waits until it is live,
 * reporting each status change. `olds` is the recorded state on update.
 */
async function deploy(
    provider: RenderProviderState,
    inputs: DeployInputs,
    olds?: DeployOutputs,
): Promise<DeployOutputs> {
    const { service, apiUrl } = inputs;
    const bounds = deployBounds(process.env);
    // Every request and wait of the step ends within its budget (components/upWaits.ts), printed at the up's start.
    const client = openRenderClient(provider, apiUrl, {
        deadline: Date.now() + bounds.budgetMs,
        triggerLookupMs: TRIGGER_LOOKUP_SECONDS * 1_000,
    });
    // diff replaces the resource when the service changes, so on update it is still the one recorded.
    const serviceId = olds?.serviceId ?? (await client.resolveServiceId(service));
    const where = `render:Deploy ${service} (${serviceId})`;
    const recorded =
        olds?.releasePin && olds.autoDeployBeforePin
            ? { pin: olds.releasePin, autoDeployBeforePin: olds.autoDeployBeforePin }
            : undefined;
    // The service's settings are read only when a pin is in play: a plain flag flip costs no extra request.
    const [settings, pin] = await Promise.all([
        inputs.releasePin || recorded ? client.getService(serviceId) : undefined,
        pinTarget(client, serviceId, inputs),
    ]);
    let now = await renderNow(client, serviceId);
    // An earlier up's trigger that Render acted on after its answer was lost: ours, so it is taken, never a second.
    const lastWrite = newestWrite(inputs.revisions);
    const adoption = adoptableDeploy({
        recent: now.recent.map(factsOf),
        newestWrite: lastWrite,
        recordedDeployId: olds?.deployId,
        pinnedCommitId: pin?.commitId,
        rollbackPin: pin?.kind === "deploy",
    });
    const adopted = adoption && now.recent.find((d) => d.id === adoption.deploy.id);
    if (!adopted && !pin && now.inFlight.length > 0) {
        await settle(client, serviceId, service, now.inFlight, bounds.othersMs);
        now = await renderNow(client, serviceId);
    }
    const variablesChanged = !olds || writtenSince(olds.revisions, inputs.revisions);
    let decision;
    try {
        decision = decideDeploy({
            pin,
            recorded,
            variablesChanged,
            variablesSince: olds?.variablesSince,
            liveCommitId: now.live?.commit?.id ?? undefined,
            recent: now.recent.map(factsOf),
            autoDeploy: settings?.autoDeploy,
        });
    } catch (err) {
        throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
    }
    void pulumi.log.info(`${service}: ${decision.reason}`);
    if (decision.setAutoDeploy) {
        // Before the deploy: a push landing meanwhile must not be deployed over the pin.
        await client.updateAutoDeploy(serviceId, decision.setAutoDeploy);
        void pulumi.log.info(`${service}: autodeploy set to "${decision.setAutoDeploy}"`);
    }
    try {
        let triggered: RenderDeploy;
        if (adopted) {
            triggered = adopted;
            const others = adoption.others.map((d) => d.id);
            void pulumi.log.info(
                `${service}: adopting ${describeDeploy(adopted)}, not triggering another: made through the API after ` +
                    `the last variable write (${new Date(lastWrite!).toISOString()}), of the commit ` +
                    `this up deploys, it carries the writes: an earlier up's trigger it could not record (its answer lost, or that up killed)` +
                    (others.length > 0 ? ` (${others.join(", ")} also qualify: check the service's deploys)` : ""),
            );
        } else {
            triggered = await startDeploy(client, serviceId, decision.action, now.recent);
            void pulumi.log.info(
                `${service}: deploy ${triggered.id} ${describeAction(decision.action, !!pin)} triggered (${triggered.status})`,
            );
        }
        const action = decision.action;
        const guarded = !pin && (action.kind === "commit" || action.kind === "deployOnly");
        if (guarded) await waitOurTurn(client, serviceId, triggered, now.live, bounds.queuedMs);
        else await waitQueued(client, serviceId, triggered, bounds.queuedMs);
        const done = await waitLive(client, serviceId, triggered, service);
        if (guarded) await checkNotOvertaken(client, serviceId, triggered, now.live);
        if (!adopted && action.kind === "deployOnly" && done.commit?.id !== action.commitId) {
            // Render reused another build than the one the decision saw running: say so, never report success.
            throw new Error(
                `deploy ${done.id} (no build) went live running commit ${short(done.commit?.id)}, not ` +
                    `${short(action.commitId)} as ${action.buildDeployId}'s build would: Render reused another build. ` +
                    `Pin ${action.commitId} (pulumi config set releasePin ${action.commitId}) to run the intended code`,
            );
        }
        return defined({
            ...inputsOf(inputs),
            serviceId,
            deployId: done.id,
            commitId: done.commit?.id ?? triggered.commit?.id ?? "",
            status: done.status,
            autoDeployBeforePin: decision.record?.autoDeployBeforePin,
            // A rollback runs its target's variables, chosen only when they are the current ones: the time stays.
            variablesSince: variablesChanged ? triggered.createdAt : olds?.variablesSince,
            liveAt: done.finishedAt ?? done.updatedAt ?? new Date().toISOString(),
            decided: decision.reason,
        });
    } catch (err) {
        const found = settings?.autoDeploy;
        let undone = "";
        if (decision.setAutoDeploy && found) {
            // The state keeps what it had before this failed `up`; autodeploy must too, or the setting the pin found
            // (to restore on unpin) would be lost.
            try {
                await client.updateAutoDeploy(serviceId, found);
                void pulumi.log.info(`${service}: autodeploy set back to "${found}" as the deploy did not go live`);
                undone = ` Autodeploy was set back to "${found}".`;
            } catch (undoErr) {
                undone = ` Setting autodeploy back to "${found}" failed too (${(undoErr as Error).message}); set it by hand in Render.`;
            }
        }
        throw new Error(`${where}: ${(err as Error).message}${undone}`, { cause: err });
    }
}

/** Waits until the deploy is live, reporting each status change; a failure names the status and the request id. */
async function waitLive(
    client: RenderClient,
    serviceId: string,
    triggered: RenderDeploy,
    service: string,
): Promise<RenderDeploy> {
    let reported = triggered.status;
    try {
        // Bounded by the client's deadline: the rest of the step's budget.
        return await client.waitForDeploy(serviceId, triggered.id, {
            onStatus: (status) => {
                // The first poll usually repeats the status the trigger answered with; report changes only.
                if (status.status !== reported) {
                    reported = status.status;
                    void pulumi.log.info(`${service}: deploy ${status.id} ${status.status}`);
                }
            },
        });
    } catch (err) {
        if (err instanceof DeployFailedError) {
            const commit = triggered.commit?.id ? ` of commit ${short(triggered.commit.id)}` : "";
            if (err.timedOut) {
                throw new Error(
                    `Render deploy ${err.deployId}${commit} was still ${err.status} when this up's deploy budget ran out ` +
                        `(request id ${err.requestId ?? "not given"}), not live yet; the variables are written and it carries ` +
                        `them. Run pulumi up again: it waits for this deploy (adopting it) rather than deploy again.`,
                    { cause: err },
                );
            }
            throw new Error(
                `Render deploy ${err.deployId}${commit} ended ${err.status} (request id ${err.requestId ?? "not given"}), not live; ` +
                    `the variables are written but not running. See the deploy's logs in Render, then run pulumi up again to retry.`,
                { cause: err },
            );
        }
        throw err;
    }
}

function short(commitId: string | undefined): string {
    return commitId ? commitId.slice(0, 7) : "(no commit)";
}

function formatMinutes(ms: number): string {
    return ms >= 60_000 ? `${Math.round(ms / 6_000) / 10} min` : `${Math.round(ms / 100) / 10} s`;
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The Deploy provider: a changed set of variable revisions (a write) or release pin deploys once.
 * `check` resolves the pin to its commit and marks autodeploy off, so `pulumi preview --diff` shows both.
 */
export const deployProvider: RenderProvider<DeployInputs, DeployOutputs> = {
    configure: configureRenderProvider,

    async check(olds, news) {
        const { service, apiUrl, revisions, releasePin, repository } = revealed(news);
        const failures = serviceFailures(service, apiUrl);
        if (
            !isUnknown(revisions) &&
            (typeof revisions !== "object" || revisions === null || Array.isArray(revisions))
        ) {
            failures.push({
                property: "revisions",
                reason: `revisions must map each managed variable to the revision of its last write, got ${typeof revisions}`,
            });
        }
        const pinned = typeof releasePin === "string" && releasePin !== "";
        if (failures.length > 0 || isUnknown(service)) return { inputs: news, failures };
        if (!pinned) {
            // Only when a deploy follows does the preview ask Render which kind it will be: a no-op asks nothing.
            if (!deployDue(revealed(olds), revealed(news)) || isUnknown(apiUrl)) return { inputs: news, failures };
            try {
                const client = openRenderClient(this, apiUrl);
                const plan = await previewPlan(client, await client.resolveServiceId(service), revealed(news));
                return { inputs: { ...news, plan }, failures };
            } catch (err) {
                // The plan only informs the preview; the deploy decides again, and fails there if Render is unreachable.
                return { inputs: { ...news, plan: `not known (${(err as Error).message})` }, failures };
            }
        }
        if (isUnknown(releasePin) || isUnknown(repository)) return { inputs: news, failures };
        const problem = releasePinProblem(releasePin);
        if (problem)
            return {
                inputs: news,
                failures: [...failures, { property: "releasePin", reason: `releasePin: ${problem}` }],
            };
        try {
            const client = openRenderClient(this, apiUrl);
            const serviceId = await client.resolveServiceId(service);
            const releaseCommit = await resolvePinCommit(client, serviceId, releasePin, repository);
            const pinnedNews = { ...revealed(news), releaseCommit };
            const plan = deployDue(revealed(olds), pinnedNews)
                ? await previewPlan(client, serviceId, pinnedNews)
                : undefined;
            return { inputs: defined({ ...news, releaseCommit, autoDeploy: "no" as const, plan }), failures };
        } catch (err) {
            return {
                inputs: news,
                failures: [{ property: "releasePin", reason: `releasePin ${releasePin}: ${(err as Error).message}` }],
            };
        }
    },

    async diff(_id, olds, news) {
        const old = revealed(olds);
        const next = revealed(news);
        // The repository a tag is looked up in deploys nothing unless the tag now resolves elsewhere (releaseCommit).
        // apiUrl deploys nothing either, but it is an update: the outputs, where refresh reads it, must follow.
        const moved = serviceChanged(old, next.service);
        // A key let go deploys nothing either, but its revision must leave the recorded set.
        const changed =
            deployDue(old, next) || next.apiUrl !== old.apiUrl || !sameRevisions(old.revisions, next.revisions);
        return { changes: moved || changed, replaces: moved ? ["service"] : [] };
    },

    async create(inputs) {
        const outs = await deploy(this, revealed(inputs));
        // The id names the service: the resource stands for "the service runs the managed variables", across deploys.
        return { id: outs.serviceId, outs };
    },

    async update(_id, olds, news) {
        const old = revealed(olds);
        const next = revealed(news);
        // Only where Render is reached, or a key let go: nothing was written, so nothing is deployed.
        if (!deployDue(old, next)) return { outs: { ...old, ...inputsOf(next) } };
        return { outs: await deploy(this, next, old) };
    },

    async read(id, props) {
        if (!props) {
            throw new Error(
                `render:Deploy ${id}: cannot refresh without its recorded state (service, deployId and apiUrl)`,
            );
        }
        const recorded = revealed(props);
        try {
            const current = await openRenderClient(this, recorded.apiUrl).getDeploy(
                recorded.serviceId,
                recorded.deployId,
            );
            return {
                id,
                props: { ...recorded, deployId: current.id, status: current.status },
                // The SDK types `inputs` as the outputs' shape; what the engine wants there is the inputs.
                inputs: inputsOf(recorded) as DeployOutputs,
            };
        } catch (err) {
            if (err instanceof RenderApiError && err.status === 404) {
                // Render no longer knows the deploy: the refresh drops it, and the next `pulumi up` deploys again.
                return {};
            }
            throw err;
        }
    },

    async delete() {
        // Nothing to undo: Render keeps a deploy's record for good, and the service keeps running what it runs.
        // A pin's autodeploy setting stays as it is: removing the pin (not the stack) is what restores it.
    },
};
