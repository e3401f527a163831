// ahoy-ops: validate the stack's config, then declare the runbook's actions against the Render service.
import { FeatureFlags } from "./components/featureFlags";
import { Release } from "./components/release";
import { SecretRotation } from "./components/secretRotation";
import { verificationFromConfig } from "./components/verification";
import { loadStackConfig, stackAdminRole } from "./stacks/load";

// Parsed whole before any resource is declared: a bad value fails the preview with every problem listed.
const config = loadStackConfig();
const target = { service: config.service, apiUrl: config.renderApiUrl };

const flags = new FeatureFlags("ahoy", {
    ...target,
    settings: config,
    maintenanceDatabase: config.databaseAppHost && config.databaseName,
});
const secrets = new SecretRotation("ahoy", { ...target, settings: config, adminRole: stackAdminRole() });
const release = new Release("ahoy", {
    ...target,
    variables: { ...flags.variables, ...secrets.variables },
    releasePin: config.releasePin,
    repository: config.repository,
    verification: verificationFromConfig(config),
});
secrets.afterDeploy({ deploy: release.deploy, verification: release.verification });

export const service = config.service;
export const managedVariables = flags.values;
// Stack outputs: what a reviewer reads after `pulumi up` (none left undefined, which Pulumi would only warn about).
export const activeDatabaseRole = secrets.database?.activeRole ?? "not managed (databaseAppHost unset)";
export const deployId = release.deploy.deployId;
export const deployedCommit = release.deploy.commitId;
export const deployStatus = release.deploy.status;
export const releaseCommit = release.deploy.releaseCommit.apply((commit) => commit ?? "none (no releasePin)");
export const verification = release.verification?.results ?? "off (verify: false)";
