// ahoy-ops: validate the stack's config, then declare the runbook's actions against the Render service.
import * as pulumi from "@pulumi/pulumi";
import { IncidentComms } from "./components/comms/incidentComms";
import { FeatureFlags, flagVariables } from "./components/featureFlags";
import { Release } from "./components/release";
import { MaintenanceMode } from "./components/render/maintenanceMode";
import { ServiceOwner } from "./components/render/serviceOwner";
import { Timeline } from "./components/report/timeline";
import { keptWhenLetGo, SecretRotation, secretVariableKeys } from "./components/secretRotation";
import { formatUpWaits, upWaits } from "./components/upWaits";
import { verificationFromConfig } from "./components/verification";
import { loadStackConfig, stackAdminRole, stackRawValues } from "./stacks/load";
import { formatReadiness, readiness, readinessWarnings } from "./stacks/readiness";

// Parsed whole before any resource is declared: a bad value fails the preview with every problem listed.
const config = loadStackConfig();
const target = { service: config.service, apiUrl: config.renderApiUrl };
// Peacetime readiness, on every preview: what each runbook action still lacks, and the command that supplies it.
const ready = readiness(config, stackRawValues(), process.env, pulumi.getStack());
for (const warning of readinessWarnings(ready)) void pulumi.log.warn(warning);
// Every wait has a deadline: the most this up can take, said before it starts (components/upWaits.ts).
void pulumi.log.info(formatUpWaits(upWaits(config)));

// Incident comms first, depending on nothing the mitigation checks: a refused pin or rotation never holds back an
// alert, and a slow channel never delays a mitigation (the receipt that fails the up for it waits for the mitigation).
const comms = new IncidentComms("ahoy", {
    settings: config,
    facts: { switches: flagVariables(config), ...previousUp() },
    stack: `${pulumi.getProject()}/${pulumi.getStack()}`,
});
// Every resource declared from here on (the mitigation) starts once the messages are on their way: the engine starts
// nothing new after a failed step, so a write Render refuses at once would otherwise hold back the alert. It waits for
// the incident's write-ahead record only, a local write, never for a message.
pulumi.runtime.registerStackTransformation((args) =>
    args.resource instanceof pulumi.CustomResource
        ? { props: args.props, opts: pulumi.mergeOptions(args.opts, { dependsOn: [comms.started] }) }
        : undefined,
);
// One stack owns the service: claimed on the first `up` (which reads every variable before writing one), refused to
// any other stack and to a generation lower than one already started, at preview, before anything is written.
const owner = new ServiceOwner("ahoy-owner", {
    ...target,
    stack: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
    takeOverFrom: config.takeOverFrom,
    generations: {
        secretKey: config.secretKeyGeneration,
        ...(config.databaseAppHost ? { databaseCredential: config.databaseCredentialGeneration } : {}),
    },
    switches: Object.keys(flagVariables(config)),
    secrets: secretVariableKeys(config),
    kept: keptWhenLetGo(config),
});
// The fastest lever for a complete outage, waiting only on the owner's check: Render's edge serves it at once.
const maintenancePage = new MaintenanceMode(
    "ahoy-maintenance-page",
    {
        ...target,
        enabled: config.MAINTENANCE_PAGE,
        uri: config.maintenancePageUri,
        serviceUrl: config.verify ? config.serviceUrl : undefined,
    },
    { dependsOn: [owner] },
);
const flags = new FeatureFlags("ahoy", {
    ...target,
    settings: config,
    maintenanceDatabase: config.databaseAppHost && config.databaseName,
    owner,
});
const secrets = new SecretRotation("ahoy", { ...target, settings: config, adminRole: stackAdminRole(), owner });
const release = new Release("ahoy", {
    ...target,
    variables: { ...flags.variables, ...secrets.variables },
    releasePin: config.releasePin,
    repository: config.repository,
    verification: verificationFromConfig(config),
    checksAfter: [maintenancePage],
});
secrets.afterDeploy({ deploy: release.deploy, verification: release.verification });
// A channel that did not take a message fails the up after the mitigation ran, never before.
comms.receiptAfter(release.verification ?? release.deploy);
// What this `up` did, kept for `npm run report` (the stack history holds no outputs): after everything, before nothing.
new Timeline("ahoy-timeline", {
    deploy: release.deploy,
    releasePin: config.releasePin,
    verification: release.verification,
    maintenancePage,
    maintenancePageOn: config.MAINTENANCE_PAGE,
    incident: comms.record,
    readiness: ready,
});

/**
 * The previous `up`'s verification, for an incident update's Progress line, read from this stack's own last outputs
 * (this `up`'s would make every message wait for the deploy), and where the watch of its deploy is kept (this stack's
 * tags, read by the messages' step only when it writes an update). Read only while an incident is open.
 */
function previousUp() {
    if (!config.incidentSeverity) return {};
    const stack = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const self = new pulumi.StackReference(stack);
    return {
        lastVerification: self
            .getOutput("verification")
            .apply((results: unknown) => (Array.isArray(results) ? { results: results.map(String) } : undefined)),
        watchOf: self
            .getOutput("deployId")
            .apply((deployId: unknown) => (typeof deployId === "string" ? { stack, deployId } : undefined)),
    };
}

export const service = config.service;
export const maintenancePageServed = maintenancePage.seen;
export const managedVariables = flags.values;
// Stack outputs: what a reviewer reads after `pulumi up` (none left undefined, which Pulumi would only warn about).
export const activeDatabaseRole = secrets.database?.activeRole ?? "not managed (databaseAppHost unset)";
export const deployId = release.deploy.deployId;
export const deployedCommit = release.deploy.commitId;
export const deployStatus = release.deploy.status;
export const releaseCommit = release.deploy.releaseCommit.apply((commit) => commit ?? "none (no releasePin)");
export const verification = release.verification?.results ?? "off (verify: false, or the maintenance page is up)";
// What `npm run watch -- <stack>` watches after the up: the deploy, its window, the thresholds; no secret in it.
export const watch = release.watchTarget(comms.openIncident) ?? "off (verify: false, or the maintenance page is up)";
export const incident = comms.incident;
export const incidentMessages = comms.messages;
export const incidentChannels = comms.channels;
export const incidentDeadlines = comms.deadlines;
export const runbookReadiness = formatReadiness(ready);
