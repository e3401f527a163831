// Bench: what flipping one kill switch costs at Render, through Pulumi's provider host against the emulator, beside the minimum.
import { performance } from "node:perf_hooks";
import { startEmulator, type Emulator } from "../emulator";
import { envVarProvider, RENDER_API_KEY_CONFIG } from "../components/render/envVar";
import { deployProvider } from "../components/render/deploy";
import {
    dynamicUrn,
    PROVIDER_KEY,
    type ProviderHost,
    renderRequestKind,
    type ResourceState,
    secretWire,
    startProviderHost,
    type StepOp,
    upResource,
} from "../test/support/providerHost";

// Each in-flight deploy status lasts this long: small enough for a quick run, large enough that polling shows.
const STEP_MS = 200;
const SERVICE = "ahoy-indie-media";

const KILL_SWITCHES = {
    DISABLE_SIGNUP: "false",
    MAINTENANCE_MODE: "false",
    ENABLE_SIGNED_URLS: "false",
    BLOCK_DIRECT_MEDIA: "false",
    SIGNED_URL_EXPIRY: "3600",
};
type KillSwitches = typeof KILL_SWITCHES;

// The least a flip can cost: the one changed variable, and one deploy so it takes effect.
const MINIMUM_WRITES: Record<string, number> = {
    "PUT /services/{id}/env-vars/{key}": 1,
    "POST /services/{id}/deploys": 1,
};

/** A stack of the kill switches plus the service's deploy, applied as `pulumi up` applies it: resource by resource. */
class KillSwitchStack {
    private readonly state = new Map<string, ResourceState>();

    constructor(
        private readonly host: ProviderHost,
        private readonly emulator: Emulator,
        private readonly providers: { envVar: string; deploy: string },
    ) {}

    /** Check and Diff every resource, Create or Update the changed ones; the deploy last, after the writes. */
    async up(vars: KillSwitches): Promise<Record<string, StepOp>> {
        const ops: Record<string, StepOp> = {};
        for (const [key, value] of Object.entries(vars)) {
            const inputs = {
                service: SERVICE,
                key,
                value,
                apiUrl: this.emulator.baseUrl,
                [PROVIDER_KEY]: this.providers.envVar,
            };
            ops[key] = await this.apply(dynamicUrn("render:EnvVar", key), inputs);
        }
        const revisions = Object.fromEntries(
            Object.keys(vars).map((key) => [key, this.state.get(dynamicUrn("render:EnvVar", key))?.outputs.revision]),
        );
        const deployInputs = {
            service: SERVICE,
            apiUrl: this.emulator.baseUrl,
            revisions,
            [PROVIDER_KEY]: this.providers.deploy,
        };
        ops.deploy = await this.apply(dynamicUrn("render:Deploy", SERVICE), deployInputs);
        return ops;
    }

    private async apply(urn: string, inputs: Record<string, unknown>): Promise<StepOp> {
        const { op, state } = await upResource(this.host, urn, inputs, this.state.get(urn));
        this.state.set(urn, state);
        return op;
    }
}

function requestTable(emulator: Emulator): { lines: string[]; excess: string[] } {
    const counts = new Map<string, number>();
    for (const request of emulator.requests()) {
        const kind = renderRequestKind(request);
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
    const lines = [...counts]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([kind, n]) => {
            const minimum = kind.startsWith("GET ") ? "read" : String(MINIMUM_WRITES[kind] ?? 0);
            return `  ${kind.padEnd(45)} ${String(n).padStart(4)}   minimum ${minimum}`;
        });
    const excess = [...counts]
        .filter(([kind, n]) => !kind.startsWith("GET ") && n > (MINIMUM_WRITES[kind] ?? 0))
        .map(([kind, n]) => `${kind}: ${n} > ${MINIMUM_WRITES[kind] ?? 0}`);
    return { lines, excess };
}

async function main(): Promise<number> {
    const emulator = await startEmulator({ port: 0, stepMs: STEP_MS });
    let host: ProviderHost | undefined;
    try {
        host = await startProviderHost({});
        await host.configure({ [RENDER_API_KEY_CONFIG]: secretWire(emulator.apiKey) });
        const stack = new KillSwitchStack(host, emulator, {
            envVar: envVarProvider.source,
            deploy: deployProvider.source,
        });

        let started = performance.now();
        await stack.up(KILL_SWITCHES);
        console.log(
            `converged ${Object.keys(KILL_SWITCHES).length} kill switches and a deploy in ${Math.round(performance.now() - started)} ms`,
        );

        emulator.clearRequests();
        started = performance.now();
        const ops = await stack.up({ ...KILL_SWITCHES, DISABLE_SIGNUP: "true" });
        const toLive = Math.round(performance.now() - started);
        const flip = requestTable(emulator);
        const changed = Object.entries(ops)
            .filter(([, op]) => op !== "same")
            .map(([name, op]) => `${name} ${op}`);
        console.log(`\nflip DISABLE_SIGNUP=true (stepMs ${STEP_MS}): ${changed.join(", ")}; live after ${toLive} ms`);
        console.log(`Render requests (${emulator.requests().length}):`);
        console.log(flip.lines.join("\n"));

        emulator.clearRequests();
        await stack.up({ ...KILL_SWITCHES, DISABLE_SIGNUP: "true" });
        const rerun = requestTable(emulator);
        console.log(`\nre-run with nothing changed: ${emulator.requests().length} Render requests (minimum 0)`);
        if (rerun.lines.length > 0) {
            console.log(rerun.lines.join("\n"));
        }

        const problems = [...flip.excess, ...rerun.excess.map((e) => `re-run ${e}`)];
        if (emulator.liveEnv().DISABLE_SIGNUP !== "true") {
            problems.push(`the live deploy runs DISABLE_SIGNUP=${emulator.liveEnv().DISABLE_SIGNUP}, not true`);
        }
        if (problems.length > 0) {
            console.error(`\nFAIL: more than the minimum: ${problems.join("; ")}`);
            return 1;
        }
        console.log("\nOK: one variable write and one deploy trigger per flip; none on a re-run");
        return 0;
    } finally {
        await host?.close();
        await emulator.close();
    }
}

main().then(
    (code) => process.exit(code),
    (err: unknown) => {
        console.error(err instanceof Error ? err.message : err);
        process.exit(1);
    },
);
