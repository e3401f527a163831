// The GitHub workflows: actionlint finds nothing, and the preview/up design holds (triggers, environment, concurrency,
// the stack, the pinned CLI, permissions) with every secret passed only through env: and never printed.
import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { METRICS_LAG_GRACE_SECONDS, WATCH_MAX_WINDOWS } from "../components/verification/plan";
import { parseStackConfig } from "../stacks/config";

const root = path.join(__dirname, "..");
const workflowsDir = path.join(root, ".github", "workflows");

/** The secrets the workflows need, as the issue names them. */
const SECRETS = ["PULUMI_ACCESS_TOKEN", "RENDER_API_KEY", "PGPASSWORD"];

interface Step {
    name?: string;
    id?: string;
    if?: string;
    shell?: string;
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
}

interface Job {
    if?: string;
    needs?: string | string[];
    environment?: string | { name: string };
    permissions?: unknown;
    concurrency?: { group: string; "cancel-in-progress"?: boolean };
    env?: Record<string, string>;
    steps: Step[];
}

interface Workflow {
    on: Record<string, { branches?: string[]; paths?: string[]; "paths-ignore"?: string[] } | null>;
    permissions?: unknown;
    concurrency?: { group: string; "cancel-in-progress"?: boolean };
    env?: Record<string, string>;
    jobs: Record<string, Job>;
}

function load(file: string): { text: string; workflow: Workflow } {
    const text = fs.readFileSync(path.join(workflowsDir, file), "utf8");
    return { text, workflow: parseYaml(text) as Workflow };
}

/** A GitHub paths filter pattern as a regular expression: `**` crosses directories, `*` does not. */
function globPattern(glob: string): RegExp {
    const source = glob
        .split(/(\*\*\/?|\*|\?)/)
        .map((part) => {
            if (part === "**/" || part === "**") return ".*";
            if (part === "*") return "[^/]*";
            if (part === "?") return "[^/]";
            return part.replace(/[.+^${}()|[\]\\]/g, "\\$&");
        })
        .join("");
    return new RegExp(`^${source}$`);
}

/** Every pulumi/actions step of the workflow. */
function pulumiSteps(workflow: Workflow): Step[] {
    return Object.values(workflow.jobs).flatMap((job) =>
        job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@")),
    );
}

/** Every string in `node`, with the path of keys that leads to it. */
function* strings(node: unknown, at: string[] = []): Generator<{ at: string[]; value: string }> {
    if (typeof node === "string") yield { at, value: node };
    else if (Array.isArray(node)) for (const [i, item] of node.entries()) yield* strings(item, [...at, String(i)]);
    else if (node !== null && typeof node === "object") {
        for (const [key, value] of Object.entries(node)) yield* strings(value, [...at, key]);
    }
}

/** The program's files and the stack files: every one must trigger both workflows. */
function programFiles(): string[] {
    const tracked = execFileSync("git", ["ls-files", "--", "index.ts", "components", "stacks", "lib"], {
        cwd: root,
        encoding: "utf8",
    })
        .split("\n")
        .filter(Boolean);
    const stacks = fs.readdirSync(root).filter((file) => /^Pulumi\.[^/]+\.yaml$/.test(file));
    // Also files that do not exist yet but must trigger a preview when they appear.
    const future = [
        "components/comms/slack.ts",
        "lib/new/thing.ts",
        "stacks/settings/incident.ts",
        "Pulumi.staging.yaml",
    ];
    return [...tracked, ...stacks, ...future, "Pulumi.yaml", "package.json", "package-lock.json"];
}

describe("the GitHub workflows", () => {
    const files = fs.readdirSync(workflowsDir).filter((file) => file.endsWith(".yml"));
    const preview = load("preview.yml");
    const up = load("up.yml");
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
        dependencies: Record<string, string>;
    };

    it("pass actionlint (built by scripts/actionlint)", function () {
        this.timeout(30_000);
        const script = fs.readFileSync(path.join(root, "scripts", "actionlint"), "utf8");
        const version = /^version=(\S+)$/m.exec(script)?.[1];
        assert.ok(version, "scripts/actionlint names its version as version=vX.Y.Z");
        const cache = process.env.AHOY_TOOLCHAIN_CACHE || path.join(os.homedir(), ".cache", "ahoy-ops");
        const binary = path.join(cache, `actionlint-${version}`, "actionlint");
        assert.ok(
            fs.existsSync(binary),
            `actionlint ${version} is not built (no ${binary}): run scripts/actionlint, which builds it once from ` +
                "the Go module proxy (./scripts/setup does too)",
        );
        const run = spawnSync(
            path.join(root, "scripts", "actionlint"),
            ["-color=false", ...files.map((f) => path.join(".github", "workflows", f))],
            { cwd: root, encoding: "utf8" },
        );
        assert.equal(run.status, 0, `actionlint found problems:\n${run.stdout}${run.stderr}`);
    });

    it("preview every pull request that touches the program or a stack, and run up on a push to main", () => {
        assert.deepEqual(Object.keys(preview.workflow.on), ["pull_request"]);
        assert.deepEqual(up.workflow.on.push?.branches, ["main"]);
        for (const [name, trigger] of [
            ["preview", preview.workflow.on.pull_request],
            ["up", up.workflow.on.push],
        ] as const) {
            assert.ok(trigger?.paths, `${name}: the trigger has a paths filter`);
            assert.equal(trigger["paths-ignore"], undefined, `${name}: no paths-ignore`);
            const patterns = trigger.paths.map(globPattern);
            for (const file of programFiles()) {
                assert.ok(
                    patterns.some((p) => p.test(file)),
                    `${name}: a change to ${file} does not trigger it`,
                );
            }
            for (const required of [
                "index.ts",
                "components/**",
                "stacks/**",
                "lib/**",
                "Pulumi.yaml",
                "Pulumi.*.yaml",
                "package*.json",
            ]) {
                assert.ok(trigger.paths.includes(required), `${name}: paths lists ${required}`);
            }
        }
    });

    it("run up in the production environment, one at a time, never canceled mid-way; previews per pull request", () => {
        const [upJob] = Object.values(up.workflow.jobs);
        const environment = typeof upJob.environment === "string" ? upJob.environment : upJob.environment?.name;
        assert.equal(environment, "production", "the up job's environment (required reviewers live there)");
        assert.match(up.text, /required reviewers/i, "up.yml says the environment's reviewers are set in GitHub");
        assert.match(upJob.if ?? "", /github\.ref == 'refs\/heads\/main'/, "the up job runs on main only");

        const upConcurrency = up.workflow.concurrency ?? upJob.concurrency;
        assert.ok(upConcurrency, "up.yml has a concurrency group");
        assert.doesNotMatch(upConcurrency.group, /\$\{\{/, "the up group is fixed, so every up shares it");
        assert.equal(upConcurrency["cancel-in-progress"], false, "a queued up waits; a running one is never canceled");

        const previewConcurrency = preview.workflow.concurrency;
        assert.ok(previewConcurrency, "preview.yml has a concurrency group");
        assert.match(previewConcurrency.group, /github\.event\.pull_request\.number/, "one group per pull request");
    });

    it("watch the rest of the window in a job of its own after the up, in no concurrency group, so the next up never waits for it", () => {
        const jobs = Object.entries(up.workflow.jobs);
        assert.deepEqual(
            jobs.map(([name]) => name),
            ["up", "watch"],
        );
        const [, upJob] = jobs[0];
        const [, watchJob] = jobs[1] as [string, Job & { needs?: string; "timeout-minutes"?: number }];
        assert.equal(up.workflow.concurrency, undefined, "a run-wide group would make the next up wait for the watch");
        assert.ok(upJob.concurrency, "the up job keeps its group");
        assert.equal(watchJob.concurrency, undefined, "the watch is in no group");
        assert.equal(watchJob.needs, "up", "it watches the deploy the up made");
        const environment =
            typeof watchJob.environment === "string" ? watchJob.environment : watchJob.environment?.name;
        assert.notEqual(environment, "production", "no second approval holds the watch back");
        assert.ok(
            watchJob.steps.some((s) => s.run === "npm run watch -- prod || test $? -eq 3"),
            "it runs npm run watch -- prod; exit 3 (figures Render never reported) is not a failure",
        );
        // Two windows of the longest stabilityWindowSeconds, Render's late metrics, and five minutes of set-up.
        assert.throws(() => parseStackConfig({ serviceUrl: "https://a.onrender.com", stabilityWindowSeconds: "3601" }));
        const longest = parseStackConfig({
            serviceUrl: "https://a.onrender.com",
            stabilityWindowSeconds: "3600",
        }).stabilityWindowSeconds;
        assert.equal(
            watchJob["timeout-minutes"],
            Math.ceil((WATCH_MAX_WINDOWS * longest + METRICS_LAG_GRACE_SECONDS) / 60) + 5,
            "timeout-minutes derived from the longest window",
        );
    });

    it("up runs pulumi/actions v6 on prod; the preview installs the CLI with it and comments `pulumi preview --diff` of prod", () => {
        const [upStep] = pulumiSteps(up.workflow);
        assert.equal(upStep?.uses, "pulumi/actions@v6");
        assert.deepEqual([upStep.with?.command, upStep.with?.["stack-name"]], ["up", "prod"]);
        const [install] = pulumiSteps(preview.workflow);
        assert.equal(install?.uses, "pulumi/actions@v6");
        assert.equal(install.with?.command, undefined, "the preview's pulumi/actions step only installs the CLI");
        const steps = preview.workflow.jobs.preview.steps;
        const previewStep = steps.find((s) => s.run?.includes("pulumi preview"));
        assert.ok(previewStep, "the preview job runs pulumi preview");
        assert.equal(
            previewStep.run?.trim(),
            'pulumi preview --diff --stack prod --color never 2>&1 | tee "$RUNNER_TEMP/preview.txt"',
        );
        // `shell: bash` is bash -eo pipefail: the preview's own exit code fails the step, not tee's.
        assert.equal(previewStep.shell, "bash");
        assert.ok(steps.indexOf(install) < steps.indexOf(previewStep), "the CLI is installed first");
        const comment = steps[steps.indexOf(previewStep) + 1];
        assert.equal(
            comment?.run?.trim(),
            'npm run --silent preview-comment -- prod "$RUNNER_TEMP/credential-lines.md" "$RUNNER_TEMP/preview.txt"',
        );
        assert.equal(
            comment.if,
            `always() && steps.${previewStep.id}.outcome != 'skipped'`,
            "a failed preview is commented too",
        );
        assert.equal(comment.env?.PREVIEW_OUTCOME, `\${{ steps.${previewStep.id}.outcome }}`);
        // A pulumi command run by hand must name the stack too.
        for (const { workflow } of [preview, up]) {
            for (const step of Object.values(workflow.jobs).flatMap((job) => job.steps)) {
                if (step.run && /\bpulumi\s/.test(step.run)) assert.match(step.run, /--stack prod\b/, step.run);
            }
        }
    });

    it("hand production credentials only to reviewed runs: the preview job's environment, after a job without secrets comments the credential lines", () => {
        for (const file of files) {
            const { workflow } = load(file);
            assert.ok(!("pull_request_target" in workflow.on), `${file} never runs on pull_request_target`);
        }
        const { credentials, preview: previewJob, ...others } = preview.workflow.jobs;
        assert.deepEqual(Object.keys(others), [], "the two jobs and no other");
        const environment =
            typeof previewJob.environment === "string" ? previewJob.environment : previewJob.environment?.name;
        assert.equal(environment, "preview", "the preview job's environment, whose reviewers approve each run");
        assert.equal(previewJob.needs, "credentials", "it starts after the credential lines are commented");
        assert.match(preview.text, /required reviewers/i);
        assert.match(preview.text, /Environment secrets/, "the secrets are the environment's, not the repository's");

        assert.equal(credentials.environment, undefined);
        assert.ok(
            ![...strings(credentials)].some(({ value }) => value.includes("secrets.")),
            "the credentials job holds no secret",
        );
        const lines = credentials.steps.find((s) => s.run?.includes("credential-lines"));
        assert.equal(
            lines?.run?.trim(),
            'npm run --silent credential-lines -- prod --base HEAD^1 | tee "$RUNNER_TEMP/credential-lines.md"',
        );
        assert.equal(lines.shell, "bash");
        const checkout = credentials.steps.find((s) => s.uses?.startsWith("actions/checkout@"));
        assert.equal(checkout?.with?.["fetch-depth"], 2, "the merge commit and its base parent");
        const comment = credentials.steps[credentials.steps.indexOf(lines) + 1];
        assert.equal(
            comment?.run?.trim(),
            'npm run --silent preview-comment -- prod "$RUNNER_TEMP/credential-lines.md"',
        );
        assert.equal(comment.env?.GITHUB_TOKEN, "${{ github.token }}");

        const previewLines = previewJob.steps.findIndex((s) => s.run?.includes("credential-lines"));
        const firstPulumi = previewJob.steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
        assert.ok(previewLines >= 0 && previewLines < firstPulumi, "the preview job computes the lines before the CLI");
    });

    it("install the Pulumi CLI at the version package.json pins @pulumi/pulumi to, on Node 20 with npm ci", () => {
        const pinned = pkg.dependencies["@pulumi/pulumi"];
        assert.match(pinned, /^\d+\.\d+\.\d+$/, "package.json pins @pulumi/pulumi exactly");
        for (const [name, { workflow }] of [
            ["preview", preview],
            ["up", up],
        ] as const) {
            for (const step of pulumiSteps(workflow)) {
                assert.equal(
                    step.with?.["pulumi-version"],
                    pinned,
                    `${name}: pulumi-version of ${step.name ?? step.uses}`,
                );
            }
            const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
            const node = steps.find((s) => s.uses?.startsWith("actions/setup-node@"));
            assert.equal(String(node?.with?.["node-version"]), "20", `${name}: Node 20`);
            assert.ok(
                steps.some((s) => s.run?.trim() === "npm ci"),
                `${name}: installs with npm ci`,
            );
            assert.ok(
                steps.some((s) => s.run?.includes("npm run readiness -- prod")),
                `${name}: runs npm run readiness -- prod`,
            );
        }
    });

    it("ask for no more permissions than reading the code and, for the preview, commenting on the pull request", () => {
        assert.deepEqual(preview.workflow.permissions, { contents: "read", "pull-requests": "write" });
        assert.deepEqual(up.workflow.permissions, { contents: "read" });
        for (const { workflow } of [preview, up]) {
            for (const [name, job] of Object.entries(workflow.jobs)) {
                assert.equal(job.permissions, undefined, `job ${name} widens no permission`);
            }
        }
    });

    it("name each secret once per job, in an env: map, list them at the top, and never interpolate or print them", () => {
        for (const file of files) {
            const { text, workflow } = load(file);
            const header = text.split("\n").filter((line) => line.startsWith("#"));
            const byJob = new Map<string, string[]>();
            for (const { at, value } of strings(workflow)) {
                for (const match of value.matchAll(/\bsecrets\.(\w+)/g)) {
                    assert.equal(
                        at.at(-2),
                        "env",
                        `${file}: secrets.${match[1]} appears outside env:, at ${at.join(".")}`,
                    );
                    assert.equal(
                        value.trim(),
                        `\${{ secrets.${match[1]} }}`,
                        `${file}: ${at.join(".")} is the secret alone`,
                    );
                    const job = at[0] === "jobs" ? at[1] : "(every job)";
                    byJob.set(job, [...(byJob.get(job) ?? []), match[1]]);
                }
            }
            for (const [job, named] of byJob) {
                assert.equal(new Set(named).size, named.length, `${file}: job ${job} names each secret once`);
            }
            const all = [...new Set([...byJob.values()].flat())].sort();
            assert.deepEqual(all, [...SECRETS].sort(), `${file}: the secrets named`);
            if (file === "up.yml") {
                assert.deepEqual(
                    byJob.get("watch")?.sort(),
                    ["PULUMI_ACCESS_TOKEN", "RENDER_API_KEY"],
                    "the watch gets no database password: it reads only Render and the stack",
                );
            }
            for (const secret of SECRETS) {
                assert.ok(
                    header.some((line) => line.includes(secret)),
                    `${file}: the comment block at the top lists ${secret}`,
                );
            }
            // Variables that carry a secret, by whatever name the env: map gives them.
            const secretVariables = [...strings(workflow)]
                .filter(({ at, value }) => at.at(-2) === "env" && value.includes("secrets."))
                .map(({ at }) => at.at(-1) as string);
            for (const { at, value } of strings(workflow)) {
                if (at.at(-1) !== "run") continue;
                assert.doesNotMatch(value, /\$\{\{\s*secrets\./, `${file}: a run: line interpolates a secret`);
                assert.doesNotMatch(value, /\bprintenv\b/, `${file}: a run: line prints the environment`);
                assert.doesNotMatch(value, /\bset\s+-\w*x/, `${file}: a run: line turns on shell tracing`);
                assert.doesNotMatch(
                    value,
                    /(^|[;&|]\s*)env\s*($|[;&|])/m,
                    `${file}: a run: line prints the environment`,
                );
                for (const variable of secretVariables) {
                    assert.ok(
                        !new RegExp(`\\$\\{?${variable}\\b`).test(value),
                        `${file}: a run: line expands ${variable} (echo it and it is in the log): ${value}`,
                    );
                }
            }
        }
    });

    it("CODEOWNERS asks an on-call lead to review Pulumi.prod.yaml, after a default owner", () => {
        const text = fs.readFileSync(path.join(root, ".github", "CODEOWNERS"), "utf8");
        const rules = text
            .split("\n")
            .map((line) => line.trim())
            .filter((line) => line && !line.startsWith("#"))
            .map((line) => line.split(/\s+/));
        assert.equal(rules[0][0], "*", "the default owner comes first (the last matching line wins)");
        assert.ok(rules[0].length > 1, "the default line names an owner");
        const prod = [...rules]
            .reverse()
            .find((rule) => globPattern(rule[0].replace(/^\//, "")).test("Pulumi.prod.yaml"));
        assert.deepEqual(prod, ["/Pulumi.prod.yaml", "@ahoy-indie-media/oncall-leads"]);
        assert.match(
            text,
            /Require review from Code Owners/,
            "it says branch protection must require code-owner review",
        );
    });
});
