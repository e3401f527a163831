// The account the emulator starts with: Ahoy Indie Media's web service, live on its first commit.
import { randomBytes } from "node:crypto";
import { newId } from "./ids";
import { RenderState } from "./state";

export const SEEDED_SERVICE_NAME = "ahoy-indie-media";

/** What the on-call set by hand in the dashboard before any stack managed the service: a blocked address (TEST-NET-1). */
export const HAND_SET_BLOCKED_IPS = "192.0.2.7";

/**
 * Adds the seeded service and returns its id. Its variables are what a real account shows before a stack adopts it:
 * the app's own SECRET_KEY and DATABASE_URL, a variable the program never manages, and a switch (BLOCKED_IPS) set by
 * hand in the dashboard.
 */
export function seedAhoy(state: RenderState): string {
    return state.addService({
        name: SEEDED_SERVICE_NAME,
        ownerId: newId("tea"),
        repo: "https://github.com/ahoy/ahoy-indie-media",
        branch: "main",
        serviceDetails: {
            env: "node",
            runtime: "node",
            envSpecificDetails: { buildCommand: "npm ci && npm run build", startCommand: "npm start" },
            healthCheckPath: "/healthz",
            numInstances: 1,
            openPorts: [{ port: 10000, protocol: "TCP" }],
            plan: "starter",
            region: "oregon",
            buildPlan: "starter",
            pullRequestPreviewsEnabled: "no",
            previews: { generation: "off" },
            maxShutdownDelaySeconds: 30,
            renderSubdomainPolicy: "enabled",
        },
        envVars: {
            DATABASE_URL: `postgres://ahoy_app_a:${randomBytes(12).toString("hex")}@dpg-ahoy-a.oregon-postgres.render.com/ahoy`,
            SECRET_KEY: randomBytes(32).toString("base64"),
            SOME_HAND_SET_VAR: "set-by-hand-in-the-dashboard",
            BLOCKED_IPS: HAND_SET_BLOCKED_IPS,
        },
        initialCommitMessage: "Initial release",
        ageMs: 24 * 60 * 60 * 1000,
    });
}
