// Render's own maintenance page, the fastest lever for a complete outage: one PATCH, served at Render's edge, no deploy.
import * as pulumi from "@pulumi/pulumi";
import { ModuleResource, moduleProvider } from "../dynamicProvider";

export type { MaintenanceModeInputs, MaintenanceModeOutputs } from "./maintenanceModeProvider";

/** The provider every resource of this type carries in the state: it requires the implementation in the provider host. */
export const maintenanceModeProvider = moduleProvider("render", "MaintenanceMode");

export interface MaintenanceModeArgs {
    /** Render service name or srv- id. */
    readonly service: pulumi.Input<string>;
    /** Render API base URL. */
    readonly apiUrl: pulumi.Input<string>;
    /** `MAINTENANCE_PAGE`: hold the maintenance page on. */
    readonly enabled: boolean;
    /** `maintenancePageUri`: the page to serve; "" or undefined for Render's default page. */
    readonly uri?: string;
    /** The app's public URL, where the page is checked to take effect; undefined when verification is off. */
    readonly serviceUrl?: string;
}

/**
 * Render's maintenance mode for the service: on, every request gets 503 and the page at once; off, what the service
 * had before is put back. Each change is checked at the service URL.
 */
export class MaintenanceMode extends ModuleResource {
    declare public readonly serviceId: pulumi.Output<string>;
    /** What the check after the last change saw. */
    declare public readonly seen: pulumi.Output<string>;

    constructor(name: string, args: MaintenanceModeArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            service: args.service,
            apiUrl: args.apiUrl,
            enabled: args.enabled,
            uri: args.uri ?? "",
            serviceUrl: args.serviceUrl,
            serviceId: undefined,
            found: undefined,
            seen: undefined,
        };
        super(maintenanceModeProvider, name, props, opts);
    }
}
