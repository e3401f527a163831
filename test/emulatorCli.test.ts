// The emulator's command line: --help prints its usage, --log writes one line per request to stderr, never a body.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { waitFor } from "./support/wait";

const repo = path.resolve(__dirname, "..");

function runEmulator(args: string[]) {
    const child = spawn(process.execPath, ["--import", "tsx", "emulator/main.ts", ...args], {
        cwd: repo,
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

describe("the emulator's command line", () => {
    it("--help prints the usage on stdout, naming every option, and exits 0 without starting", async function () {
        this.timeout(30_000);
        const run = runEmulator(["--help"]);
        assert.equal(await run.exited, 0, `the exit code of --help; stderr: ${run.stderr()}`);
        assert.match(run.stdout(), /^usage: npm run --silent emulator -- \[options\]/);
        for (const option of ["--port", "--app-port", "--step-ms", "--no-rate-limits", "--log", "--help"]) {
            assert.ok(run.stdout().includes(option), `the usage names ${option}`);
        }
        assert.doesNotMatch(run.stdout(), /http:\/\/127\.0\.0\.1/, "--help starts no emulator");
        assert.equal(run.stderr(), "");
    });

    it("--log writes each request to stderr (method, path, status, request id) and never a request body", async function () {
        this.timeout(30_000);
        const run = runEmulator(["--port", "0", "--log"]);
        try {
            const lines = createInterface({ input: run.child.stdout })[Symbol.asyncIterator]();
            const next = async (): Promise<string> => (await lines.next()).value as string;
            const baseUrl = await next();
            const apiKey = (await next()).replace(/^RENDER_API_KEY=/, "");
            const serviceId = (await next()).replace(/^RENDER_SERVICE_ID=/, "");
            const secret = "do-not-log-this-value-8c1f";
            const put = await fetch(`${baseUrl}/services/${serviceId}/env-vars/SECRET_KEY`, {
                method: "PUT",
                headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
                body: JSON.stringify({ value: secret }),
            });
            assert.equal(put.status, 200);
            const requestId = put.headers.get("Render-Request-Id");
            const unauthorized = await fetch(`${baseUrl}/services?limit=1`);
            assert.equal(unauthorized.status, 401);

            await waitFor("two request lines on stderr", () => run.stderr().split("\n").length > 2, {
                timeoutMs: 5_000,
                pollMs: 10,
            });
            const logged = run.stderr().trim().split("\n");
            assert.equal(logged.length, 2, `one line per request; got:\n${run.stderr()}`);
            assert.match(
                logged[0],
                new RegExp(
                    `^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z PUT /services/${serviceId}/env-vars/SECRET_KEY 200 ${requestId}$`,
                ),
            );
            assert.match(logged[1], /^\S+ GET \/services 401 [0-9a-f-]{36}$/, "the query is not logged either");
            assert.ok(!run.stderr().includes(secret), "a variable's value never reaches the log");
        } finally {
            run.child.kill("SIGTERM");
            await run.exited;
        }
    });
});
