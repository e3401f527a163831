// Every dynamic resource type's implementation, by the type token its `__provider` text names (see dynamicProvider.ts).
// Required lazily: a provider host loads only the implementation (and its client) that it is asked for.
import type * as pulumi from "@pulumi/pulumi";

type Implementation = pulumi.dynamic.ResourceProvider<never, never> & Record<string, unknown>;

const IMPLEMENTATIONS: Record<string, () => Implementation> = {
    "render:EnvVar": () => require("./render/envVarProvider").envVarProvider,
    "render:Deploy": () => require("./render/deployProvider").deployProvider,
    "render:MaintenanceMode": () => require("./render/maintenanceModeProvider").maintenanceModeProvider,
    "render:ServiceOwner": () => require("./render/serviceOwnerProvider").serviceOwnerProvider,
    "secrets:SecretKey": () => require("./secretKeyProvider").secretKeySourceProvider,
    "verify:Verification": () => require("./verification/provider").verificationProvider,
    "postgres:AppSetting": () => require("./database/appSettingProvider").appSettingProvider,
    "comms:Intent": () => require("./comms/intentProvider").intentProvider,
    "comms:Incident": () => require("./comms/incidentProvider").incidentProvider,
    "comms:Started": () => require("./comms/startedProvider").commsStartedProvider,
    "comms:Receipt": () => require("./comms/receiptProvider").receiptProvider,
    "postgres:RotationGate": () => require("./database/rotationGateProvider").rotationGateProvider,
    "postgres:LoginProof": () => require("./database/loginProofProvider").loginProofProvider,
    "postgres:RetireLogin": () => require("./database/retireLoginProvider").retireLoginProvider,
    "report:Timeline": () => require("./report/timelineProvider").timelineProvider,
    // Retired type (RetireLogin does its work now): states written before still hold one, which the engine deletes,
    // and deleting it never undid anything.
    "postgres:TerminateSessions": () => ({ async delete() {} }) as unknown as Implementation,
};

/** The implementation of `typeToken` (`<module>:<type>`); throws naming the known ones when there is none. */
export function providerFor(typeToken: string): Implementation {
    const load = IMPLEMENTATIONS[typeToken];
    if (!load) {
        throw new Error(
            `no dynamic provider implementation for ${typeToken}; known: ${Object.keys(IMPLEMENTATIONS).join(", ")}`,
        );
    }
    return load();
}
