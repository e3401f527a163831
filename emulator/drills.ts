// Drills on the emulated service: an instance that crashes or runs out of memory (its last log lines, Render's
// server_failed, the restart), and the events a drill injects for what the emulator does not otherwise do.
import { eventsOf, isServiceEventType, SERVICE_EVENT_TYPES, type ServiceEvent } from "./events";
import { logsOf } from "./logs";
import { PLAN_MEMORY_BYTES } from "./metrics";
import type { FailureReason, RenderState } from "./state";

/** How an instance dies in a drill. */
export interface CrashDrill {
    /** `exit`: an uncaught exception ends the process (status 1); `oom`: it runs out of memory and is killed. */
    readonly reason?: "exit" | "oom";
    /** The exception's message for `exit`; default "Cannot read properties of undefined (reading 'id')". */
    readonly message?: string;
    /** Emulated seconds until Render has restarted it (it serves nothing meanwhile); default 10. */
    readonly restartSeconds?: number;
    /** Which instance; default the first. */
    readonly instanceId?: string;
}

/** The lines a Node app writes as it dies of `reason` (what Node prints, cut to the lines that say why). */
export function lastWords(reason: "exit" | "oom", message: string): string[] {
    if (reason === "oom") {
        return [
            "<--- Last few GCs --->",
            "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
            " 1: 0xb7a940 node::Abort() [node]",
        ];
    }
    return [
        "/opt/render/project/src/server.js:128",
        `Uncaught TypeError: ${message}`,
        "    at handleRequest (/opt/render/project/src/server.js:128:24)",
        "Node.js v20.18.0",
    ];
}

/**
 * An instance of the service dies: it writes its last lines (at level error), Render reports server_failed with the
 * reason (a non-zero exit, or an out-of-memory kill at the plan's limit), restarts it after `restartSeconds`, then
 * reports server_restarted and server_available. Meanwhile Render's edge has no instance to send requests to when it
 * was the only one. Returns the instance's id.
 */
export function crashInstance(state: RenderState, serviceId: string, drill: CrashDrill = {}): string {
    const reason = drill.reason ?? "exit";
    const instances = state.instances(serviceId);
    const target = drill.instanceId ?? instances[0]?.id;
    if (target === undefined || !instances.some((i) => i.id === target)) {
        throw new Error(
            `crash: ${target ?? "no instance"} is not running on ${serviceId} (it runs ${instances.map((i) => i.id).join(", ") || "none"})`,
        );
    }
    const logs = logsOf(state);
    for (const line of lastWords(reason, drill.message ?? "Cannot read properties of undefined (reading 'id')")) {
        logs.app(serviceId, target, "error", line);
    }
    const plan = state.service(serviceId).serviceDetails.plan;
    const failure: FailureReason =
        reason === "oom"
            ? { evicted: false, oomKilled: { memoryLimit: `${PLAN_MEMORY_BYTES[plan] / 2 ** 20}Mi` } }
            : { evicted: false, nonZeroExit: 1 };
    return state.failInstance(serviceId, failure, drill.restartSeconds ?? 10, target).id;
}

/**
 * An event Render emits for something the emulator does not do by itself (a hardware failure, an image pull that
 * failed, a zero-downtime redeploy, high disk usage): `details` as the spec describes that type's.
 */
export function injectEvent(
    state: RenderState,
    serviceId: string,
    type: string,
    details: Record<string, unknown> = {},
): ServiceEvent {
    if (!isServiceEventType(type)) {
        throw new Error(`serviceEvent: ${JSON.stringify(type)} is not one of ${SERVICE_EVENT_TYPES.join(", ")}`);
    }
    state.service(serviceId);
    return eventsOf(state).emit(serviceId, type, details);
}
