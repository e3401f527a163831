// The Deploy provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts).
import type * as pulumi from "@pulumi/pulumi";
import { DeployFailedError, RenderApiError } from "./client";
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
}

/** The Deploy provider's outputs: the inputs plus the service's srv- id and the deploy last triggered. */
export interface DeployOutputs extends DeployInputs {
  serviceId: string;
  deployId: string;
  commitId: string;
  status: string;
}

/**
 * Trigger a deploy of the commit that is live now (never the branch head: a variable change must not ship code pushed
 * since) and wait until it is live, reporting each status change. `serviceId` is passed when already known.
 */
async function deployLiveCommit(provider: RenderProviderState, inputs: DeployInputs, serviceId?: string): Promise<DeployOutputs> {
  const { log } = require("@pulumi/pulumi") as typeof pulumi;
  const { service, apiUrl, trigger } = inputs;
  const client = openRenderClient(provider, apiUrl);
  const id = serviceId ?? (await client.resolveServiceId(service));
  const live = await client.liveDeploy(id);
  const commitId = live?.commit?.id;
  if (!live || !commitId) {
    throw new Error(
      `render:Deploy ${service} (${id}): ` +
        (live ? `the live deploy ${live.id} has no git commit (an image deploy)` : "the service has no live deploy") +
        `, so there is no commit to redeploy; a variable change redeploys the live commit, never the branch head. ` +
        `Deploy the service once from Render, then run pulumi up again`,
    );
  }
  const triggered = await client.triggerDeploy(id, { commitId });
  void log.info(`${service}: deploy ${triggered.id} of the live commit ${commitId.slice(0, 7)} triggered (${triggered.status})`);
  let reported = triggered.status;
  try {
    const done = await client.waitForDeploy(id, triggered.id, {
      onStatus: (deploy) => {
        // The first poll usually repeats the status the trigger answered with; report changes only.
        if (deploy.status !== reported) {
          reported = deploy.status;
          void log.info(`${service}: deploy ${deploy.id} ${deploy.status}`);
        }
      },
    });
    return { service, apiUrl, trigger, serviceId: id, deployId: done.id, commitId, status: done.status };
  } catch (err) {
    if (err instanceof DeployFailedError) {
      const outcome = err.timedOut ? `was still ${err.status} when the wait ran out` : `ended ${err.status}`;
      throw new Error(
        `render:Deploy ${service}: Render deploy ${err.deployId} of commit ${commitId.slice(0, 7)} ${outcome} ` +
          `(request id ${err.requestId ?? "not given"}), not live; the variables are written but not running. ` +
          `See the deploy's logs in Render, then run pulumi up again to retry`,
        { cause: err },
      );
    }
    throw err;
  }
}

/** The Deploy provider: a changed trigger (the digest of the managed variables) redeploys the live commit once. */
export const deployProvider: RenderProvider<DeployInputs, DeployOutputs> = {
  configure: configureRenderProvider,

  async check(_olds, news) {
    const { service, apiUrl, trigger } = revealed(news);
    const failures = serviceFailures(service, apiUrl);
    if (!isUnknown(trigger) && (typeof trigger !== "string" || trigger === "")) {
      failures.push({ property: "trigger", reason: `trigger must be a non-empty string (a variables digest), got ${typeof trigger}` });
    }
    return { inputs: news, failures };
  },

  async diff(_id, olds, news) {
    const old = revealed(olds);
    const next = revealed(news);
    // apiUrl alone is where Render is reached, not what runs there: it deploys nothing.
    const moved = serviceChanged(old, next.service);
    return { changes: moved || next.trigger !== old.trigger, replaces: moved ? ["service"] : [] };
  },

  async create(inputs) {
    const outs = await deployLiveCommit(this, revealed(inputs));
    // The id names the service: the resource stands for "the service runs the managed variables", across deploys.
    return { id: outs.serviceId, outs };
  },

  async update(_id, olds, news) {
    // diff replaces the resource when the service changes, so it is still the one recorded: no lookup needed.
    return { outs: await deployLiveCommit(this, revealed(news), revealed(olds).serviceId) };
  },

  async read(id, props) {
    if (!props) {
      throw new Error(`render:Deploy ${id}: cannot refresh without its recorded state (service, deployId and apiUrl)`);
    }
    const recorded = revealed(props);
    try {
      const deploy = await openRenderClient(this, recorded.apiUrl).getDeploy(recorded.serviceId, recorded.deployId);
      const { service, apiUrl, trigger } = recorded;
      return {
        id,
        props: { service, apiUrl, trigger, serviceId: recorded.serviceId, deployId: deploy.id, commitId: recorded.commitId, status: deploy.status },
        // The SDK types `inputs` as the outputs' shape; what the engine wants there is the inputs.
        inputs: { service, apiUrl, trigger } satisfies DeployInputs as DeployOutputs,
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
  },
};
