// `npm run emulator -- [--port N] [--app-port N] [--step-ms MS] [--no-rate-limits]`: runs the Render emulator and the
// stand-in Ahoy app until SIGINT/SIGTERM.
import { startEmulator } from "./index";

function parseArgs(argv: string[]): { port: number; appPort: number; stepMs?: number; rateLimits: boolean } {
    const options: { port: number; appPort: number; stepMs?: number; rateLimits: boolean } = {
        port: 0,
        appPort: 0,
        rateLimits: true,
    };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const number = (name: string): number => {
            const raw = argv[++i];
            const value = Number(raw);
            if (raw === undefined || !Number.isInteger(value) || value < 0) {
                throw new Error(
                    `${name} needs a whole number, got ${raw === undefined ? "nothing" : JSON.stringify(raw)}`,
                );
            }
            return value;
        };
        if (arg === "--port") options.port = number("--port");
        else if (arg === "--app-port") options.appPort = number("--app-port");
        else if (arg === "--step-ms") options.stepMs = number("--step-ms");
        else if (arg === "--no-rate-limits") options.rateLimits = false;
        else
            throw new Error(
                `unknown argument ${JSON.stringify(arg)}; expected --port N, --app-port N, --step-ms MS or --no-rate-limits`,
            );
    }
    return options;
}

async function main(): Promise<void> {
    const emulator = await startEmulator(parseArgs(process.argv.slice(2)));

    let stopping = false;
    const stop = (): void => {
        if (stopping) return;
        stopping = true;
        emulator.close().then(
            () => process.exit(0),
            (error: unknown) => {
                console.error("render emulator: failed to close", error);
                process.exit(1);
            },
        );
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);

    // Printed only once the signal handlers are in place: a script may signal as soon as it has read the URL.
    // The base URL comes first, alone on its line, so scripts can read it with `head -1`.
    process.stdout.write(`${emulator.baseUrl}\n`);
    process.stdout.write(`RENDER_API_KEY=${emulator.apiKey}\n`);
    process.stdout.write(`RENDER_SERVICE_ID=${emulator.serviceId}\n`);
    process.stdout.write(`AHOY_APP_URL=${emulator.appUrl}\n`);
}

main().catch((error: unknown) => {
    console.error(`render emulator: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
});
