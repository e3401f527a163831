// The Deploy provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts).
import * as pulumi from "@pulumi/pulumi";
import { Deploy as RenderDeploy, DeployFailedError, RenderApiError, RenderClient } from "../../lib/render/client";
import { AutoDeploy, DeployAction, decideDeploy, PinTarget, rollbackUnavailableMessage } from "./deployDecision";
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
    trigger: string;
    /** The release pin as configured (deploy id, commit SHA or git tag); absent when none is set. */
    releasePin?: string;
    /** The git repository a tag pin is looked up in; absent: the one Render builds the service from. */
    repository?: string;
    /** Filled in by `check` while a pin is set: the commit it resolves to, so the preview shows it. */
    releaseCommit?: string;
    /** Filled in by `check` while a pin is set: "no", so the preview shows autodeploy will be off. */
    autoDeploy?: "no";
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
}

// How many recent deploys a short commit SHA is looked up in, to find the full SHA Render's deploy call needs.
const SHORT_SHA_LOOKUP = 100;

/** The properties that have a value: the host's wire format (a protobuf Struct) has no `undefined`. */
function defined<T extends object>(props: T): T {
    return Object.fromEntries(Object.entries(props).filter(([, value]) => value !== undefined)) as T;
}

/** The input properties, as the engine compares them; the rest of the outputs are Render's answer and the pin's record. */
function inputsOf(props: DeployInputs): DeployInputs {
    const { service, apiUrl, trigger, releasePin, repository, releaseCommit, autoDeploy } = props;
    return defined({ service, apiUrl, trigger, releasePin, repository, releaseCommit, autoDeploy });
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
async function startDeploy(client: RenderClient, serviceId: string, action: DeployAction): Promise<RenderDeploy> {
    if (action.kind === "branchHead") return client.triggerDeploy(serviceId);
    if (action.kind === "commit") return client.triggerDeploy(serviceId, { commitId: action.commitId });
    try {
        return await client.rollback(serviceId, action.deployId);
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
    return `of the ${pinned ? "pinned" : "live"} commit ${action.commitId.slice(0, 7)}`;
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
    const client = openRenderClient(provider, apiUrl);
    // diff replaces the resource when the service changes, so on update it is still the one recorded.
    const serviceId = olds?.serviceId ?? (await client.resolveServiceId(service));
    const where = `render:Deploy ${service} (${serviceId})`;
    const recorded =
        olds?.releasePin && olds.autoDeployBeforePin
            ? { pin: olds.releasePin, autoDeployBeforePin: olds.autoDeployBeforePin }
            : undefined;
    // The service's settings are read only when a pin is in play: a plain flag flip costs no extra request.
    const [live, settings, pin] = await Promise.all([
        client.liveDeploy(serviceId),
        inputs.releasePin || recorded ? client.getService(serviceId) : undefined,
        pinTarget(client, serviceId, inputs),
    ]);
    const variablesChanged = !olds || olds.trigger !== inputs.trigger;
    let decision;
    try {
        decision = decideDeploy({
            pin,
            recorded,
            variablesChanged,
            variablesSince: olds?.variablesSince,
            liveCommitId: live?.commit?.id ?? undefined,
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
        const { triggered, done } = await deployAndWait(client, serviceId, decision.action, service, !!pin);
        return defined({
            ...inputsOf(inputs),
            serviceId,
            deployId: done.id,
            commitId: done.commit?.id ?? triggered.commit?.id ?? "",
            status: done.status,
            autoDeployBeforePin: decision.record?.autoDeployBeforePin,
            // A rollback runs its target's variables, chosen only when they are the current ones: the time stays.
            variablesSince: variablesChanged ? triggered.createdAt : olds?.variablesSince,
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

/** Starts the deploy and waits until it is live, reporting each status change; a failure names status and request id. */
async function deployAndWait(
    client: RenderClient,
    serviceId: string,
    action: DeployAction,
    service: string,
    pinned: boolean,
): Promise<{ triggered: RenderDeploy; done: RenderDeploy }> {
    const triggered = await startDeploy(client, serviceId, action);
    void pulumi.log.info(
        `${service}: deploy ${triggered.id} ${describeAction(action, pinned)} triggered (${triggered.status})`,
    );
    let reported = triggered.status;
    try {
        const done = await client.waitForDeploy(serviceId, triggered.id, {
            onStatus: (status) => {
                // The first poll usually repeats the status the trigger answered with; report changes only.
                if (status.status !== reported) {
                    reported = status.status;
                    void pulumi.log.info(`${service}: deploy ${status.id} ${status.status}`);
                }
            },
        });
        return { triggered, done };
    } catch (err) {
        if (err instanceof DeployFailedError) {
            const commit = triggered.commit?.id ? ` of commit ${triggered.commit.id.slice(0, 7)}` : "";
            const outcome = err.timedOut ? `was still ${err.status} when the wait ran out` : `ended ${err.status}`;
            throw new Error(
                `Render deploy ${err.deployId}${commit} ${outcome} (request id ${err.requestId ?? "not given"}), not live; ` +
                    `the variables are written but not running. See the deploy's logs in Render, then run pulumi up again to retry.`,
                { cause: err },
            );
        }
        throw err;
    }
}

/**
 * The Deploy provider: a changed trigger (the digest of the managed variables) or release pin deploys once.
 * `check` resolves the pin to its commit and marks autodeploy off, so `pulumi preview --diff` shows both.
 */
export const deployProvider: RenderProvider<DeployInputs, DeployOutputs> = {
    configure: configureRenderProvider,

    async check(_olds, news) {
        const { service, apiUrl, trigger, releasePin, repository } = revealed(news);
        const failures = serviceFailures(service, apiUrl);
        if (!isUnknown(trigger) && (typeof trigger !== "string" || trigger === "")) {
            failures.push({
                property: "trigger",
                reason: `trigger must be a non-empty string (a variables digest), got ${typeof trigger}`,
            });
        }
        const pinned = typeof releasePin === "string" && releasePin !== "";
        if (!pinned || isUnknown(releasePin) || isUnknown(service) || isUnknown(repository) || failures.length > 0) {
            // Without a pin, nothing is looked up: a preview of a flag flip asks Render nothing.
            return { inputs: news, failures };
        }
        const problem = releasePinProblem(releasePin);
        if (problem)
            return {
                inputs: news,
                failures: [...failures, { property: "releasePin", reason: `releasePin: ${problem}` }],
            };
        try {
            const client = openRenderClient(this, apiUrl);
            const releaseCommit = await resolvePinCommit(
                client,
                await client.resolveServiceId(service),
                releasePin,
                repository,
            );
            return { inputs: { ...news, releaseCommit, autoDeploy: "no" }, failures };
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
        // apiUrl alone is where Render is reached, not what runs there: it deploys nothing. Nor does the repository a tag
        // is looked up in, unless the tag now resolves elsewhere (releaseCommit).
        const moved = serviceChanged(old, next.service);
        const changed =
            next.trigger !== old.trigger ||
            (next.releasePin ?? "") !== (old.releasePin ?? "") ||
            (next.releaseCommit ?? "") !== (old.releaseCommit ?? "");
        return { changes: moved || changed, replaces: moved ? ["service"] : [] };
    },

    async create(inputs) {
        const outs = await deploy(this, revealed(inputs));
        // The id names the service: the resource stands for "the service runs the managed variables", across deploys.
        return { id: outs.serviceId, outs };
    },

    async update(_id, olds, news) {
        return { outs: await deploy(this, revealed(news), revealed(olds)) };
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
