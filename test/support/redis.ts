// A throwaway redis-server on 127.0.0.1 for one test file: no persistence, stopped and gone afterwards.
import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "./postgres";

const START_TIMEOUT_MS = 15000;

export interface RedisServer {
    readonly port: number;
    /** `redis://...` for the server, with `password` (required by the server when given to `startRedis`). */
    readonly url: string;
    stop(): Promise<void>;
}

/**
 * Starts `redis-server` on a free port. With `password`, the server requires it (`--requirepass`), so a test proves
 * the URL's credentials reach the client. Fails with the install hint when redis-server is missing.
 */
export async function startRedis(password?: string): Promise<RedisServer> {
    const port = await freePort();
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
    // The password goes to the server on stdin as a config line, so it is never on a command line.
    const child: ChildProcess = spawn("redis-server", password === undefined ? args : ["-", ...args], {
        stdio: ["pipe", "pipe", "pipe"],
    });
    if (password !== undefined) child.stdin?.end(`requirepass "${password.replace(/["\\]/g, (c) => `\\${c}`)}"\n`);
    else child.stdin?.end();
    let output = "";
    await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            reject(
                new Error(`redis-server did not accept connections within ${START_TIMEOUT_MS} ms; output:\n${output}`),
            );
        }, START_TIMEOUT_MS);
        const onData = (chunk: Buffer) => {
            output += chunk.toString("utf8");
            if (output.includes("Ready to accept connections")) {
                clearTimeout(timer);
                resolve();
            }
        };
        child.stdout?.on("data", onData);
        child.stderr?.on("data", onData);
        child.once("error", (err) => {
            clearTimeout(timer);
            const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
            reject(
                new Error(
                    missing
                        ? "redis-server is not installed: apt-get install -y redis-server"
                        : `redis-server failed to start: ${err.message}`,
                ),
            );
        });
        child.once("exit", (code, signal) => {
            clearTimeout(timer);
            reject(
                new Error(
                    `redis-server exited (code ${code}, signal ${signal}) before accepting connections; output:\n${output}`,
                ),
            );
        });
    });
    const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once("exit", () => resolve());
    });
    const kill = () => child.kill("SIGKILL");
    // If the test process dies without its `after` hook, the server must not outlive it.
    process.once("exit", kill);
    const auth = password === undefined ? "" : `:${encodeURIComponent(password)}@`;
    return {
        port,
        url: `redis://${auth}127.0.0.1:${port}/0`,
        async stop() {
            process.removeListener("exit", kill);
            child.kill("SIGTERM");
            await exited;
        },
    };
}
