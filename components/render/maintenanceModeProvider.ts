// The MaintenanceMode provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts).
import * as pulumi from "@pulumi/pulumi";
import type { MaintenanceMode, RenderClient } from "../../lib/render/client";
import {
    configureRenderProvider,
    isHttpUrl,
    isUnknown,
    openRenderClient,
    RenderProvider,
    revealed,
    serviceChanged,
    serviceFailures,
} from "./providerSupport";

/** The inputs the MaintenanceMode provider receives. */
export interface MaintenanceModeInputs {
    service: string;
    apiUrl: string;
    /** `MAINTENANCE_PAGE`: the program holds Render's maintenance page on. */
    enabled: boolean;
    /** `maintenancePageUri`: the page to serve; "" for Render's default page. */
    uri: string;
    /** Where to see the page take effect (and go away); absent when verification is off. */
    serviceUrl?: string;
}

/** The outputs: the inputs, the service's srv- id, what was found before the page went on, what the check saw. */
export interface MaintenanceModeOutputs extends MaintenanceModeInputs {
    serviceId: string;
    /** The maintenance mode the service had before the program turned the page on; put back when it is turned off. */
    found?: MaintenanceMode;
    /** What the check after the change saw, e.g. "GET /healthz answered 503 with the maintenance page after 0.2 s". */
    seen: string;
}

// Render applies the mode at its edge "immediately": a minute covers its propagation with room to spare.
const CHECK_TIMEOUT_MS = 60_000;
const CHECK_POLL_MS = 250;
const REQUEST_TIMEOUT_MS = 10_000;

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One answer of a URL: status and body, or why there was none. */
interface Answer {
    status?: number;
    body: string;
    error?: string;
}

async function ask(url: string): Promise<Answer> {
    try {
        const res = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        return { status: res.status, body: await res.text() };
    } catch (err) {
        return { body: "", error: (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message };
    }
}

/**
 * Waits until the service URL shows `mode`, as Render's documentation describes it (docs.render.com/maintenance-mode):
 * while enabled, "Render responds to every incoming request with a 503 Service Unavailable status code and your
 * specified maintenance page" (the custom page's own content when `uri` is set; Render does not document its default
 * page's content, so only the 503 is checked then, on /healthz, which the app answers 200 when it serves); once off,
 * /healthz answers 200 again. Fails naming what it saw last.
 */
async function checkServed(serviceUrl: string, mode: MaintenanceMode, page?: Answer): Promise<string> {
    const url = `${serviceUrl.replace(/\/+$/, "")}/healthz`;
    const startedAt = Date.now();
    let last: Answer;
    for (;;) {
        last = await ask(url);
        const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
        if (mode.enabled && last.status === 503 && (!page || last.body === page.body)) {
            return `GET /healthz answered 503 with ${page ? `the page at ${mode.uri}` : "Render's default maintenance page"} after ${seconds} s`;
        }
        if (!mode.enabled && last.status === 200)
            return `GET /healthz answered 200 (the app serves again) after ${seconds} s`;
        if (Date.now() - startedAt > CHECK_TIMEOUT_MS) {
            const saw = last.status === undefined ? `no answer (${last.error})` : `${last.status}`;
            const wanted = mode.enabled
                ? `503 with ${page ? `the page at ${mode.uri}` : "the maintenance page"}`
                : "200 from the app";
            throw new Error(
                `${url} still answered ${saw} after ${CHECK_TIMEOUT_MS / 1000} s, expected ${wanted}: the maintenance page ` +
                    `did not take ${mode.enabled ? "effect" : "itself off"}`,
            );
        }
        await sleep(CHECK_POLL_MS);
    }
}

/**
 * The custom page as it answers now, before anything changes: Render would serve its error instead of a maintenance
 * page ("if your custom URL returns an error, Render responds with that error"), so an erring page fails the `up` first.
 */
async function customPage(mode: MaintenanceMode): Promise<Answer | undefined> {
    if (!mode.enabled || mode.uri === "") return undefined;
    const page = await ask(mode.uri);
    if (page.status === undefined || page.status >= 400) {
        throw new Error(
            `maintenancePageUri ${mode.uri} answered ${page.status ?? `nothing (${page.error})`}: Render serves that ` +
                `error instead of a maintenance page; fix the page, or unset maintenancePageUri for Render's default one`,
        );
    }
    return page;
}

/** Sets the maintenance mode (one PATCH), then checks what the service URL serves. */
async function apply(
    client: RenderClient,
    serviceId: string,
    inputs: MaintenanceModeInputs,
    mode: MaintenanceMode,
): Promise<string> {
    const page = await customPage(mode);
    await client.updateMaintenanceMode(serviceId, mode);
    void pulumi.log.info(
        `${inputs.service}: maintenance mode ${mode.enabled ? `on (${mode.uri || "Render's default page"})` : "off"}, no deploy`,
    );
    if (!inputs.serviceUrl) return `not checked (verify is off)`;
    const seen = await checkServed(inputs.serviceUrl, mode, page);
    void pulumi.log.info(
        `${inputs.service}: maintenance page ${mode.enabled ? "is live and verified" : "is off"}: ${seen}`,
    );
    return seen;
}

function modeOf(service: { serviceDetails?: { maintenanceMode?: MaintenanceMode } }): MaintenanceMode {
    return { enabled: false, uri: "", ...service.serviceDetails?.maintenanceMode };
}

/**
 * What to put back when the page goes off, read just before it goes on. A mode already exactly as wanted is taken for
 * this program's own, left by an `up` that set it and failed its check: putting that back would keep the page up.
 */
async function foundBefore(client: RenderClient, serviceId: string, wanted: MaintenanceMode): Promise<MaintenanceMode> {
    const found = modeOf(await client.getService(serviceId));
    return found.enabled && found.uri === wanted.uri ? { enabled: false, uri: found.uri } : found;
}

/** The inputs, as the engine compares them. */
function inputsOf(props: MaintenanceModeInputs): MaintenanceModeInputs {
    const { service, apiUrl, enabled, uri, serviceUrl } = props;
    return serviceUrl === undefined ? { service, apiUrl, enabled, uri } : { service, apiUrl, enabled, uri, serviceUrl };
}

/**
 * Render's maintenance page as a switch. Turning it on records the maintenance mode the service had and sets
 * `{enabled: true, uri}`; turning it off puts back exactly what was found. Never a deploy: the edge answers at once.
 * Off from the start, it touches nothing (a maintenance mode set by hand is left alone).
 */
export const maintenanceModeProvider: RenderProvider<MaintenanceModeInputs, MaintenanceModeOutputs> = {
    configure: configureRenderProvider,

    async check(_olds, news) {
        const { service, apiUrl, enabled, uri, serviceUrl } = revealed(news);
        const failures = serviceFailures(service, apiUrl);
        if (!isUnknown(enabled) && typeof enabled !== "boolean") {
            failures.push({
                property: "enabled",
                reason: `enabled must be true or false, got ${JSON.stringify(enabled)}`,
            });
        }
        if (!isUnknown(uri) && (typeof uri !== "string" || (uri !== "" && !isHttpUrl(uri)))) {
            failures.push({ property: "uri", reason: `uri must be an http(s) URL or "", got ${JSON.stringify(uri)}` });
        }
        if (serviceUrl !== undefined && !isUnknown(serviceUrl) && !isHttpUrl(serviceUrl)) {
            failures.push({
                property: "serviceUrl",
                reason: `serviceUrl must be an http(s) URL, got ${JSON.stringify(serviceUrl)}`,
            });
        }
        return { inputs: news, failures };
    },

    async diff(_id, olds, news) {
        const old = revealed(olds);
        const next = revealed(news);
        const moved = serviceChanged(old, next.service);
        // A new apiUrl or serviceUrl changes nothing at Render, but the outputs must follow.
        const changed =
            next.enabled !== old.enabled ||
            (next.enabled && next.uri !== old.uri) ||
            next.apiUrl !== old.apiUrl ||
            next.serviceUrl !== old.serviceUrl;
        return { changes: moved || changed, replaces: moved ? ["service"] : [] };
    },

    async create(inputs) {
        const news = revealed(inputs);
        const client = openRenderClient(this, news.apiUrl);
        const serviceId = await client.resolveServiceId(news.service);
        if (!news.enabled)
            return { id: serviceId, outs: { ...inputsOf(news), serviceId, seen: "off: nothing changed" } };
        const wanted = { enabled: true, uri: news.uri };
        const found = await foundBefore(client, serviceId, wanted);
        const seen = await apply(client, serviceId, news, wanted);
        return { id: serviceId, outs: { ...inputsOf(news), serviceId, found, seen } };
    },

    async update(_id, olds, news) {
        const old = revealed(olds);
        const next = revealed(news);
        const client = openRenderClient(this, next.apiUrl);
        const base = { ...inputsOf(next), serviceId: old.serviceId };
        if (next.enabled) {
            if (old.enabled && next.uri === old.uri) return { outs: { ...base, found: old.found, seen: old.seen } };
            // Found only when the page goes on: a new page while it is on keeps what was there before it.
            const wanted = { enabled: true, uri: next.uri };
            const found = old.enabled ? old.found : await foundBefore(client, old.serviceId, wanted);
            const seen = await apply(client, old.serviceId, next, wanted);
            return { outs: { ...base, found, seen } };
        }
        if (!old.enabled) return { outs: { ...base, seen: old.seen } };
        const restore = old.found ?? { enabled: false, uri: "" };
        const seen = await apply(client, old.serviceId, next, restore);
        return { outs: { ...base, seen: `put back as found (${restore.enabled ? "on" : "off"}): ${seen}` } };
    },

    async read(id, props) {
        if (!props) throw new Error(`render:MaintenanceMode ${id}: cannot refresh without its recorded state`);
        const recorded = revealed(props);
        const mode = modeOf(await openRenderClient(this, recorded.apiUrl).getService(recorded.serviceId));
        // What Render has now, as the program would declare it: a page switched off (or on) by hand shows as drift.
        const current = { ...inputsOf(recorded), enabled: mode.enabled, uri: mode.enabled ? mode.uri : recorded.uri };
        return { id, props: { ...recorded, ...current }, inputs: current as MaintenanceModeOutputs };
    },

    async delete(_id, props) {
        const recorded = revealed(props);
        if (!recorded.enabled) return;
        // The stack going away while it holds the page on: put back what it found.
        const client = openRenderClient(this, recorded.apiUrl);
        await client.updateMaintenanceMode(recorded.serviceId, recorded.found ?? { enabled: false, uri: "" });
    },
};
