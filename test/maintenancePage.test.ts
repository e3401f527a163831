// Render's maintenance page through the dynamic-provider host against the emulator's edge: one PATCH to turn it on
// and one to turn it off, no deploy, the service URL serving 503 and the page, and what was there before put back.
import { strict as assert } from "node:assert";
import * as http from "node:http";
import { DEFAULT_MAINTENANCE_PAGE } from "../emulator/app";
import { startEmulator, type Emulator } from "../emulator";
import { closeServer, listenLocal } from "../emulator/http";
import { maintenanceModeProvider } from "../components/render/maintenanceMode";
import { RENDER_API_KEY_CONFIG } from "../components/render/envVar";
import { RenderClient } from "../lib/render/client";
import { EngineStack, UpFailed, type Step } from "./support/engine";
import { renderRequestKind, secretWire, startProviderHost, type ProviderHost } from "./support/providerHost";

describe("Render's maintenance page (MAINTENANCE_PAGE) through the dynamic-provider host", function () {
    this.timeout(60_000);
    let emulator: Emulator;
    let host: ProviderHost;
    let stack: EngineStack;
    let pages: http.Server;
    let pagesUrl: string;
    let pageStatus = 200;
    const PAGE = "<h1>Ahoy is down for maintenance; back soon</h1>";

    const program = (enabled: boolean, uri = ""): Step[] => [
        {
            name: "ahoy-maintenance-page",
            provider: maintenanceModeProvider,
            inputs: () => ({
                service: "ahoy-indie-media",
                apiUrl: emulator.baseUrl,
                enabled,
                uri,
                serviceUrl: emulator.appUrl,
            }),
        },
    ];
    const writes = () =>
        emulator
            .requests()
            .filter((r) => r.method !== "GET")
            .map(renderRequestKind);
    const healthz = async () => {
        const res = await fetch(`${emulator.appUrl}/healthz`);
        return { status: res.status, body: await res.text() };
    };

    before(async () => {
        // Render's PATCH bucket (10 a minute, shared with deploys), over a 2 s window: the drills PATCH more often.
        emulator = await startEmulator({ port: 0, stepMs: 40, rateLimitWindowMs: 2_000 });
        host = await startProviderHost();
        await host.configure({ [RENDER_API_KEY_CONFIG]: secretWire(emulator.apiKey) });
        stack = new EngineStack(host);
        // A static site holding the custom page, elsewhere than the service (Render requires it).
        pages = http.createServer((_req, res) => {
            res.writeHead(pageStatus, { "Content-Type": "text/html" });
            res.end(pageStatus === 200 ? PAGE : "gone");
        });
        pagesUrl = `http://127.0.0.1:${await listenLocal(pages, 0)}/maintenance.html`;
    });

    after(async () => {
        await host?.close();
        await emulator?.close();
        if (pages) await closeServer(pages);
    });

    it("off from the start touches nothing: no request that writes, the app answers", async () => {
        emulator.clearRequests();
        const result = await stack.up(program(false));
        assert.equal(result.ops["ahoy-maintenance-page"], "create");
        assert.deepEqual(writes(), []);
        assert.equal((await healthz()).status, 200);
    });

    it("on: one PATCH of the maintenance mode, no deploy; every request gets 503 and Render's default page, checked", async () => {
        const deploysBefore = emulator.deploys().length;
        emulator.clearRequests();
        await stack.up(program(true));
        assert.deepEqual(writes(), ["PATCH /services/{id}"], "one PATCH, nothing else");
        const patch = emulator.requests().find((r) => r.method === "PATCH");
        assert.deepEqual(patch?.body, { serviceDetails: { maintenanceMode: { enabled: true, uri: "" } } });
        assert.equal(emulator.deploys().length, deploysBefore, "no deploy");
        assert.deepEqual(await healthz(), { status: 503, body: DEFAULT_MAINTENANCE_PAGE });
        assert.match(
            String(stack.outputs("ahoy-maintenance-page").seen),
            /GET \/healthz answered 503 with Render's default maintenance page/,
        );
        assert.equal((await stack.up(program(true))).ops["ahoy-maintenance-page"], "same", "a re-run changes nothing");
    });

    it("a custom page while on: served as the page, and checked to be that page's content", async () => {
        emulator.clearRequests();
        await stack.up(program(true, pagesUrl));
        assert.deepEqual(writes(), ["PATCH /services/{id}"]);
        assert.deepEqual(await healthz(), { status: 503, body: PAGE });
        assert.match(
            String(stack.outputs("ahoy-maintenance-page").seen),
            /503 with the page at http:\/\/127\.0\.0\.1:\d+\/maintenance\.html/,
        );
    });

    it("off: puts back exactly what was found before the page went on (a page set by hand, disabled), one PATCH", async () => {
        // Start again from a service whose maintenance mode was set up by hand: disabled, with a page of its own.
        await stack.up(program(false));
        const render = new RenderClient({ apiKey: emulator.apiKey, baseUrl: emulator.baseUrl });
        await render.updateMaintenanceMode(emulator.serviceId, { enabled: false, uri: "https://status.ahoy.example/" });
        await stack.up(program(true));
        assert.deepEqual(emulator.maintenanceMode(), { enabled: true, uri: "" });
        emulator.clearRequests();
        await stack.up(program(false));
        assert.deepEqual(writes(), ["PATCH /services/{id}"]);
        assert.deepEqual(emulator.maintenanceMode(), { enabled: false, uri: "https://status.ahoy.example/" });
        assert.equal((await healthz()).status, 200, "the app serves again");
        assert.match(
            String(stack.outputs("ahoy-maintenance-page").seen),
            /put back as found \(off\): GET \/healthz answered 200/,
        );
    });

    it("a custom page that answers an error fails the up before anything changes: Render would serve that error", async () => {
        pageStatus = 404;
        emulator.clearRequests();
        try {
            const failed = await stack.up(program(true, pagesUrl)).catch((err: unknown) => err);
            assert.ok(failed instanceof UpFailed, `expected the up to fail, got ${String(failed)}`);
            assert.match(
                failed.message,
                /maintenancePageUri http:\/\/.* answered 404: Render serves that error instead of a maintenance page/,
            );
            assert.deepEqual(writes(), [], "nothing was changed at Render");
        } finally {
            pageStatus = 200;
        }
        // The page was set (Render took it); once the page is fixed, the re-run checks it and converges.
        await stack.up(program(true, pagesUrl));
        assert.deepEqual(await healthz(), { status: 503, body: PAGE });
        await stack.up(program(false));
    });

    it("refresh shows a page switched off by hand as drift, and the next up puts it back on", async () => {
        await stack.up(program(true));
        const render = new RenderClient({ apiKey: emulator.apiKey, baseUrl: emulator.baseUrl });
        await render.updateMaintenanceMode(emulator.serviceId, { enabled: false, uri: "" });
        const state = stack.states.get("ahoy-maintenance-page")!;
        const read = await host.read(state.id, state.urn, state.outputs, state.inputs);
        assert.equal(read.properties.enabled, false);
        stack.states.set("ahoy-maintenance-page", {
            ...state,
            inputs: read.inputs ?? state.inputs,
            outputs: read.properties,
        });
        const result = await stack.up(program(true));
        assert.equal(result.ops["ahoy-maintenance-page"], "update");
        assert.equal(emulator.maintenanceMode().enabled, true);
        await stack.up(program(false));
    });
});
