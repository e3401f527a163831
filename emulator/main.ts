// `npm run --silent emulator -- [--port N] [--app-port N] [--step-ms MS] [--no-rate-limits] [--log]`: runs the Render
// emulator and the stand-in Ahoy app until SIGINT/SIGTERM. (`--silent` keeps npm's banner off stdout, whose first line is
// the base URL.)
import { startEmulator, type Emulator, type RecordedRequest } from "./index";

const USAGE = `usage: npm run --silent emulator -- [options]
Runs a local Render API (and a stand-in Ahoy app answering as the live deploy) until SIGINT/SIGTERM.
Prints, one per line on stdout: the API base URL (first, alone), RENDER_API_KEY=, RENDER_SERVICE_ID=, AHOY_APP_URL=,
RENDER_OWNER_ID= (the workspace GET /logs asks for).

  --port N          the API's port on 127.0.0.1 (default 0: a free port)
  --app-port N      the stand-in app's port on 127.0.0.1 (default 0: a free port)
  --step-ms MS      wall milliseconds for 30 s of a deploy (default 1000; a build is 3 min, an update 30 s)
  --no-rate-limits  do not enforce Render's rate-limit buckets (the headers are sent either way)
  --log             one line per API request on stderr: time, method, path, status, request id (never a body)
  --help            this text
`;

interface Options {
    port: number;
    appPort: number;
    stepMs?: number;
    rateLimits: boolean;
    log: boolean;
    help: boolean;
}

function parseArgs(argv: string[]): Options {
    const options: Options = { port: 0, appPort: 0, rateLimits: true, log: false, help: false };
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
        else if (arg === "--log") options.log = true;
        else if (arg === "--help" || arg === "-h") options.help = true;
        else
            throw new Error(
                `unknown argument ${JSON.stringify(arg)}; expected --port N, --app-port N, --step-ms MS, --no-rate-limits, --log or --help`,
            );
    }
    return options;
}

/** The request log line: what was asked and answered, never the body (it holds variable values) nor the query. */
function logLine(request: RecordedRequest): string {
    return `${new Date(request.at).toISOString()} ${request.method} ${request.path} ${request.status} ${request.requestId}\n`;
}

/**
 * Writes each API request to stderr as it is answered. The emulator records requests in order; this reads the records
 * it has not written yet, every few milliseconds and once more when asked to flush (before exit).
 */
function logRequests(emulator: Emulator): () => void {
    let written = 0;
    const flush = (): void => {
        const requests = emulator.requests();
        for (; written < requests.length; written++) process.stderr.write(logLine(requests[written]));
    };
    setInterval(flush, 20).unref();
    return flush;
}

async function main(): Promise<void> {
    const options = parseArgs(process.argv.slice(2));
    if (options.help) {
        process.stdout.write(USAGE);
        return;
    }
    const emulator = await startEmulator(options);
    const flushLog = options.log ? logRequests(emulator) : () => undefined;

    let stopping = false;
    const stop = (): void => {
        if (stopping) return;
        stopping = true;
        flushLog();
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
    process.stdout.write(`RENDER_OWNER_ID=${emulator.ownerId}\n`);
}

main().catch((error: unknown) => {
    console.error(`render emulator: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
});
