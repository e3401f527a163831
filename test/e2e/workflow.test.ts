// The pull-request check of .github/workflows/preview.yml, its steps run here against a rehearsal stack through the
// real CLI: the readiness report (`npm run readiness -- <stack>`, with the exit code the workflow tolerates) and the
// preview step's `pulumi preview --diff` of the stack; a config error fails the check, and a renderApiUrl elsewhere than
// Render or a loopback emulator is one, before any request carries the key.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import { Rehearsal } from "../../scripts/rehearsal/rehearsal";
import { startRecordingListener } from "../support/recordingListener";
import { convergedRehearsal, toolchainOrSkip } from "./support";

const run = promisify(execFile);
const root = path.join(__dirname, "..", "..");

interface Step {
    run?: string;
    uses?: string;
    with?: Record<string, unknown>;
}

const workflow = parseYaml(fs.readFileSync(path.join(root, ".github", "workflows", "preview.yml"), "utf8")) as {
    jobs: Record<string, { steps: Step[] }>;
};
const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);

describe("e2e: the pull-request check's steps, against a rehearsal stack", function () {
    this.timeout(120_000);
    let rehearsal: Rehearsal | undefined;
    let stack = "";

    before(async function () {
        this.timeout(180_000);
        toolchainOrSkip(this);
        stack = `e2e-workflow-${process.pid}`;
        rehearsal = await convergedRehearsal({ stack, verify: false, stepMs: 100, postgres: false, redis: false });
    });

    after(async () => {
        await rehearsal?.close();
    });

    it("the readiness step: the report of the stack, exit 1 when an action is not ready, which the step tolerates", async () => {
        const readinessStep = steps.find((s) => s.run?.includes("npm run readiness"));
        assert.ok(readinessStep?.run, "the workflow runs the readiness report");
        assert.match(readinessStep.run, /npm run readiness -- prod \|\| test \$\? -eq 1/);
        const result = await run("npm", ["run", "--silent", "readiness", "--", stack], { cwd: root }).catch(
            (err: { code: number; stdout: string }) => err,
        );
        const code = "code" in result ? result.code : 0;
        assert.ok(code === 0 || code === 1, `readiness exited ${code}, which fails the workflow's step`);
        assert.match(result.stdout, /runbook actions/);
    });

    it("the preview step: `pulumi preview --diff` of the stack, as its run: line asks, shows the flip", async () => {
        const step = steps.find((s) => s.run?.includes("pulumi preview"));
        assert.match(step?.run ?? "", /^pulumi preview --diff --stack prod /);
        const record = await rehearsal!.action("the PR's preview of a flag flip", async (a) => {
            await a.configSet("DISABLE_SIGNUP", "true");
            const preview = await a.pulumi(["preview", "--diff"]);
            a.check(
                "the preview shows the variable",
                /~ value\s+: "false" => "true"/.test(preview.output),
                preview.output,
            );
            a.check("and the deploy after it", /render:Deploy: \(update\)/.test(preview.output), preview.output);
            a.check(
                "nothing is written by a preview",
                a.writes()["PUT env-vars/{key}"] === undefined,
                JSON.stringify(a.writes()),
            );
        });
        assert.ok(!Rehearsal.failed(record), JSON.stringify(record));
    });

    it("a PR pointing renderApiUrl elsewhere fails the preview before any request: the listener there hears nothing", async () => {
        const listener = await startRecordingListener();
        // Every node process the CLI starts (the program, the provider hosts) resolves *.attacker.test to the listener.
        const nodeOptions = process.env.NODE_OPTIONS;
        process.env.NODE_OPTIONS = `--require ${path.join(__dirname, "..", "support", "attackerDns.js")}`;
        try {
            const record = await rehearsal!.action("the PR's preview of a redirected renderApiUrl", async (a) => {
                const apiUrl = await a.pulumi(["config", "get", "renderApiUrl"]);
                await a.pulumi([
                    "config",
                    "set",
                    "renderApiUrl",
                    `http://api.render.com.attacker.test:${listener.port}/v1`,
                ]);
                await a.pulumi(["config", "set", "DISABLE_SIGNUP", "true"]);
                const preview = await a.pulumi(["preview", "--diff"], { allowFailure: true });
                a.check("the preview fails", preview.code !== 0, `exit ${preview.code}`);
                a.check(
                    "naming the key and where the key would have gone",
                    /renderApiUrl: got "http:\/\/api\.render\.com\.attacker\.test:\d+\/v1": would send the Render API key to api\.render\.com\.attacker\.test/.test(
                        preview.output,
                    ),
                    preview.output,
                );
                a.check(
                    "the listener received nothing",
                    listener.received().length === 0,
                    JSON.stringify(listener.received()),
                );
                await a.pulumi(["config", "set", "renderApiUrl", apiUrl.stdout.trim()]);
                await a.pulumi(["config", "set", "DISABLE_SIGNUP", "false"]);
            });
            assert.ok(!Rehearsal.failed(record), JSON.stringify(record));
        } finally {
            if (nodeOptions === undefined) delete process.env.NODE_OPTIONS;
            else process.env.NODE_OPTIONS = nodeOptions;
            await listener.close();
        }
    });

    it("a config error fails the preview step, with the problem list", async () => {
        const record = await rehearsal!.action("the PR's preview of a typo", async (a) => {
            await a.pulumi(["config", "set", "SIGNED_URL_EXPIRY", "10"]);
            const preview = await a.pulumi(["preview", "--diff"], { allowFailure: true });
            a.check("the preview fails", preview.code !== 0, `exit ${preview.code}`);
            a.check(
                "naming the key and what it expects",
                /SIGNED_URL_EXPIRY: got "10": expected whole seconds from 60 to 604800/.test(preview.output),
                preview.output,
            );
            a.check("with no stack trace", !/^\s+at .*\.(ts|js):\d+/m.test(preview.output), preview.output);
            await a.pulumi(["config", "set", "SIGNED_URL_EXPIRY", "3600"]);
        });
        assert.ok(!Rehearsal.failed(record), JSON.stringify(record));
    });
});
