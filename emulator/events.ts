// Render's service events (GET /services/{id}/events) as the emulator answers them: what the account's deploys,
// instances and settings did (told by the state as it happens), and events a drill injects.
import { badRequest } from "./errors";
import { iso, newId } from "./ids";
import type { Deploy, FailureReason, RenderState, StateChange } from "./state";

/** The event types of the spec's `eventTypeParam`, and the one Render added after it (see render/README.md). */
export const SERVICE_EVENT_TYPES = [
    "autoscaling_config_changed",
    "autoscaling_ended",
    "autoscaling_started",
    "branch_deleted",
    "build_ended",
    "build_started",
    "commit_ignored",
    "cron_job_run_ended",
    "cron_job_run_started",
    "deploy_ended",
    "deploy_started",
    "disk_created",
    "disk_updated",
    "disk_deleted",
    "image_pull_failed",
    "initial_deploy_hook_ended",
    "initial_deploy_hook_started",
    "instance_count_changed",
    "job_run_ended",
    "maintenance_mode_enabled",
    "maintenance_mode_uri_updated",
    "maintenance_ended",
    "maintenance_started",
    "pipeline_minutes_exhausted",
    "plan_changed",
    "pre_deploy_ended",
    "pre_deploy_started",
    "server_available",
    "server_failed",
    "server_hardware_failure",
    "server_restarted",
    "server_unhealthy",
    "service_resumed",
    "service_suspended",
    "suspender_added",
    "suspender_removed",
    "zero_downtime_redeploy_ended",
    "zero_downtime_redeploy_started",
    "service_disk_usage_high",
] as const;
export type ServiceEventType = (typeof SERVICE_EVENT_TYPES)[number];

/** A service event as the API lists it. */
export interface ServiceEvent {
    id: string;
    timestamp: string;
    serviceId: string;
    type: ServiceEventType;
    details: Record<string, unknown>;
}

interface EventRecord {
    seq: number;
    at: number;
    event: ServiceEvent;
}

/** The deprecated numeric `status` of build_ended/deploy_ended, beside the named one. */
const NUMERIC_STATUS = { succeeded: 2, failed: 3, canceled: 4 } as const;

/** The events of the emulated account: one model per RenderState, fed by its changes. */
export class EventsModel {
    private readonly events: EventRecord[] = [];
    private seq = 0;

    constructor(state: RenderState) {
        state.observe((change) => this.record(change));
    }

    /** Adds one event now (a drill's: a hardware failure, an image pull that failed, ...). */
    emit(serviceId: string, type: ServiceEventType, details: Record<string, unknown>, at = Date.now()): ServiceEvent {
        const event: ServiceEvent = { id: newId("evt"), timestamp: iso(at), serviceId, type, details };
        this.events.push({ seq: ++this.seq, at, event });
        return structuredClone(event);
    }

    /** The service's events, newest first, with the sequence number a cursor names. */
    list(serviceId: string): Array<{ seq: number; at: number; item: ServiceEvent }> {
        return this.events
            .filter(({ event }) => event.serviceId === serviceId)
            .reverse()
            .map(({ seq, at, event }) => ({ seq, at, item: structuredClone(event) }));
    }

    /** Render's events for one change in the account. */
    private record(change: StateChange): void {
        const { serviceId } = change;
        switch (change.kind) {
            case "deploy_started":
                this.emit(serviceId, "deploy_started", {
                    deployId: change.deploy.id,
                    trigger: deployTrigger(change.deploy, change.rollbackOf),
                });
                return;
            case "build_started":
                this.emit(serviceId, "build_started", {
                    buildId: change.buildId,
                    trigger: deployTrigger(change.deploy),
                });
                return;
            case "build_ended":
                this.emit(serviceId, "build_ended", {
                    buildId: change.buildId,
                    buildStatus: change.outcome,
                    reason:
                        change.outcome === "succeeded"
                            ? { newBuild: { id: change.buildId } }
                            : change.outcome === "failed"
                              ? { buildFailed: { id: change.buildId } }
                              : {},
                    status: NUMERIC_STATUS[change.outcome],
                });
                return;
            case "pre_deploy_started":
                this.emit(serviceId, "pre_deploy_started", {
                    deployCommandExecutionId: change.executionId,
                    deployId: change.deploy.id,
                });
                return;
            case "pre_deploy_ended":
                this.emit(serviceId, "pre_deploy_ended", {
                    deployCommandExecutionId: change.executionId,
                    deployId: change.deploy.id,
                    preDeployStatus: "succeeded",
                    reason: {},
                    status: NUMERIC_STATUS.succeeded,
                });
                return;
            case "deploy_ended":
                this.emit(serviceId, "deploy_ended", {
                    deployId: change.deploy.id,
                    deployStatus: change.outcome,
                    reason: change.outcome === "succeeded" ? { newDeploy: { id: change.deploy.id } } : {},
                    status: NUMERIC_STATUS[change.outcome],
                });
                return;
            case "instance_failed":
                this.emit(serviceId, "server_failed", {
                    instanceID: change.instance.id,
                    reason: failureReason(change.reason),
                });
                return;
            case "instance_restarted":
                this.emit(serviceId, "server_restarted", { triggeredByUser: change.byUser });
                this.emit(serviceId, "server_available", {});
                return;
            case "scaled":
                this.emit(serviceId, "instance_count_changed", { fromInstances: change.from, toInstances: change.to });
                return;
            case "service_updated": {
                const before = change.before.serviceDetails;
                const after = change.after.serviceDetails;
                const wasOn = before.maintenanceMode?.enabled ?? false;
                const isOn = after.maintenanceMode?.enabled ?? false;
                if (isOn !== wasOn) this.emit(serviceId, "maintenance_mode_enabled", { enabled: isOn });
                const fromURI = before.maintenanceMode?.uri ?? "";
                const toURI = after.maintenanceMode?.uri ?? "";
                if (toURI !== fromURI) this.emit(serviceId, "maintenance_mode_uri_updated", { fromURI, toURI });
                if (after.plan !== before.plan)
                    this.emit(serviceId, "plan_changed", { from: before.plan, to: after.plan });
                return;
            }
            case "instances_started":
            case "instances_stopped":
                // A deploy's switch of instances is told by its deploy_ended; a scaling by instance_count_changed.
                return;
        }
    }
}

/** The `trigger` of deploy_started and build_started: what started the deploy, as the spec's flags say it. */
function deployTrigger(deploy: Deploy, rollbackOf?: string): Record<string, unknown> {
    return {
        firstBuild: false,
        envUpdated: false,
        manual: deploy.trigger === "manual",
        deployedByRender: false,
        clearCache: false,
        rollback: deploy.trigger === "rollback",
        ...(rollbackOf !== undefined && { rollbackTargetDeployId: rollbackOf }),
        ...(deploy.trigger === "new_commit" && { newCommit: deploy.commit.id }),
    };
}

/** The spec's failure reason: `evicted` always, the rest only when they say something. */
function failureReason(reason: FailureReason): Record<string, unknown> {
    return Object.fromEntries(Object.entries(reason).filter(([, value]) => value !== undefined));
}

// The model lives beside the account's state, as the metrics do (see ./metrics.ts).
const MODELS = new WeakMap<RenderState, EventsModel>();

/** The events model of an emulated account; created (and observing the state) on first use. */
export function eventsOf(state: RenderState): EventsModel {
    let model = MODELS.get(state);
    if (!model) MODELS.set(state, (model = new EventsModel(state)));
    return model;
}

/** Whether `type` is an event type Render lists (see SERVICE_EVENT_TYPES). */
export function isServiceEventType(type: string): type is ServiceEventType {
    return (SERVICE_EVENT_TYPES as readonly string[]).includes(type);
}

/** The `type` filter: one or more event types, repeated or comma-separated; 400 for any other word. */
export function eventTypesFilter(values: readonly string[]): ServiceEventType[] {
    for (const value of values) {
        if (!isServiceEventType(value)) {
            throw badRequest(
                `type ${JSON.stringify(value)} is not a service event type; expected one of ${SERVICE_EVENT_TYPES.join(", ")}`,
            );
        }
    }
    return values as ServiceEventType[];
}
