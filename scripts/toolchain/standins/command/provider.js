// TEST-ONLY stand-in for the command provider plugin: command:local:Command, the one type the program declares.
//
// As pulumi-command's local.Command behaves: `create` runs on create (and on a replacement, which a `triggers` change
// forces), `update` on any other change (`create` again when `update` is unset), `delete` on delete; each through the
// interpreter (default `/bin/sh -c`) in `dir` (default the provider's working directory, which is the program's), with
// the provider's environment plus `environment`, and on update and delete the previous output in
// PULUMI_COMMAND_STDOUT/STDERR (addPreviousOutputInEnv, default true). The output is returned as stdout and stderr
// (a trailing newline cut), and is logged under the resource unless `logging` says otherwise ("none": nothing).
// Nothing runs in a preview. A failing command fails the step with its exit status and output. stdout and stderr are
// returned as secrets when any input holds a secret. Not implemented: stdin is passed, assetPaths/archivePaths are not.
"use strict";

const { spawn } = require("node:child_process");
const { changedKeys, containsSecret, engineLog, reveal, secret, serve } = require("../serve");

const ARGS = [
    "create",
    "update",
    "delete",
    "dir",
    "environment",
    "interpreter",
    "stdin",
    "logging",
    "triggers",
    "addPreviousOutputInEnv",
];

/** Runs `command` as the resource says; resolves { stdout, stderr } or rejects with the status and the output. */
function run(urn, command, inputs, previous) {
    const p = reveal(inputs);
    const [file, ...args] = p.interpreter && p.interpreter.length > 0 ? p.interpreter : ["/bin/sh", "-c"];
    const env = { ...process.env, ...(p.environment ?? {}) };
    if (previous && p.addPreviousOutputInEnv !== false) {
        env.PULUMI_COMMAND_STDOUT = reveal(previous.stdout) ?? "";
        env.PULUMI_COMMAND_STDERR = reveal(previous.stderr) ?? "";
    }
    const logging = p.logging ?? "stdoutAndStderr";
    const logs = [];
    return new Promise((resolve, reject) => {
        const child = spawn(file, [...args, command], {
            cwd: p.dir || process.cwd(),
            env,
            stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        let combined = "";
        const logLines = (text, stream) => {
            if (logging === "none" || (logging !== "stdoutAndStderr" && logging !== stream)) return;
            for (const line of text.split("\n")) if (line !== "") logs.push(engineLog(urn, line));
        };
        child.stdout.on("data", (chunk) => {
            const text = chunk.toString("utf8");
            stdout += text;
            combined += text;
            logLines(text, "stdout");
        });
        child.stderr.on("data", (chunk) => {
            const text = chunk.toString("utf8");
            stderr += text;
            combined += text;
            logLines(text, "stderr");
        });
        child.stdin.on("error", () => undefined);
        child.stdin.end(p.stdin ?? "");
        child.once("error", reject);
        child.once("close", async (code, signal) => {
            await Promise.all(logs);
            if (code === 0) {
                resolve({ stdout: stdout.replace(/\n$/, ""), stderr: stderr.replace(/\n$/, "") });
            } else {
                const status = signal ? `signal: ${signal}` : `exit status ${code}`;
                reject(new Error(`${status}: running ${JSON.stringify(command)}:\n${combined}`));
            }
        });
    });
}

/** The outputs: the inputs as given (secrets still wrapped), and the command's output, secret if any input is. */
function outputs(inputs, result) {
    const wrap = containsSecret(inputs) ? secret : (v) => v;
    return { ...inputs, stdout: wrap(result.stdout), stderr: wrap(result.stderr) };
}

const command = {
    async diff(_id, _urn, olds, news) {
        const changed = changedKeys(ARGS, olds, news);
        return { changes: changed.length > 0, replaces: changed.filter((k) => k === "triggers") };
    },
    async create(urn, inputs) {
        const create = reveal(inputs.create);
        const result = create ? await run(urn, create, inputs) : { stdout: "", stderr: "" };
        return {
            id: `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`,
            outs: outputs(inputs, result),
        };
    },
    async update(_id, urn, olds, news) {
        const text = reveal(news.update) || reveal(news.create);
        const result = text ? await run(urn, text, news, olds) : { stdout: "", stderr: "" };
        return { outs: outputs(news, result) };
    },
    async delete(_id, urn, props) {
        const text = reveal(props.delete);
        if (text) await run(urn, text, props, props);
    },
};

const resources = { "command:local:Command": command };
module.exports = { resources };
if (require.main === module) serve({ pkg: "command", resources });
