// A pull request cannot quietly redirect a credential: the preview comment starts with the credential lines, key by
// key, computed from the base's and the PR's stack config (stacks/credentialChanges.ts); secrets compared as stored and
// never shown. Tested directly, and through the workflow's own steps (their run: lines, as GitHub runs them) in a git
// repository shaped like a pull request's merge commit, against a stand-in for GitHub's comments API.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { closeServer, listenLocal } from "../emulator/http";
import { commentBody, marker } from "../scripts/preview-comment";
import { settingsMeta } from "../stacks/config";
import {
    CREDENTIAL_KEYS,
    credentialLines,
    storedStackConfig,
    type StoredStackConfig,
} from "../stacks/credentialChanges";
import { git } from "./support/git";

const run = promisify(execFile);
const root = path.join(__dirname, "..");
const project = parseYaml(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as unknown;
const prod = parseYaml(fs.readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8")) as {
    config: Record<string, unknown>;
};

/** The committed prod stack with `changes` over its config (null removes a key). */
function prodWith(changes: Record<string, unknown>): { config: Record<string, unknown> } {
    const config: Record<string, unknown> = { ...prod.config };
    for (const [key, value] of Object.entries(changes)) {
        if (value === null) delete config[key];
        else config[key] = value;
    }
    return { config };
}

const stored = (changes: Record<string, unknown> = {}, projectFile: unknown = project): StoredStackConfig =>
    storedStackConfig(projectFile, prodWith(changes));

describe("the credential lines of a pull request", () => {
    it("say none of the keys changed when none did, naming what they were compared with", () => {
        assert.deepEqual(credentialLines(stored(), stored({ "ahoy-ops:DISABLE_SIGNUP": "true" }), "main"), [
            "**Credentials: this pull request changes none of the keys that say where they go** (compared with main)",
        ]);
    });

    it("name each changed destination, old => new, and what goes there", () => {
        const base = stored({ "postgresql:host": "dpg-x.oregon-postgres.render.com" });
        const head = stored({
            "postgresql:host": "db.elsewhere.test",
            "postgresql:sslmode": "require",
            "ahoy-ops:renderApiUrl": "http://127.0.0.1:4010/v1",
        });
        assert.deepEqual(credentialLines(base, head, "main"), [
            "**:warning: Credentials: this pull request changes where they go, 3 keys** (compared with main; check each before approving the preview)",
            "- `renderApiUrl`: `https://api.render.com/v1` => `http://127.0.0.1:4010/v1`; the Render API key is sent there",
            "- `postgresql:host`: `dpg-x.oregon-postgres.render.com` => `db.elsewhere.test`; the database admin password is sent there",
            "- `postgresql:sslmode`: unset => `require`; whether the admin password's TLS checks who answers",
        ]);
    });

    it("see a destination moved through Pulumi.yaml's default, not only the stack file", () => {
        const moved = JSON.parse(JSON.stringify(project)) as { config: Record<string, { default: string }> };
        moved.config.renderApiUrl.default = "https://render.elsewhere.test/v1";
        // A stack file that leaves renderApiUrl to the project's default.
        const unset = { "ahoy-ops:renderApiUrl": null };
        const [, line] = credentialLines(stored(unset), stored(unset, moved), "main");
        assert.equal(
            line,
            "- `renderApiUrl`: `https://api.render.com/v1` => `https://render.elsewhere.test/v1`; the Render API key is sent there",
        );
    });

    it("compare secrets by their stored ciphertext and never show one, nor a secret left in plain text", () => {
        const base = stored({
            "ahoy-ops:slackWebhookUrl": { secure: "v1:AAAA:old-ciphertext" },
            "ahoy-ops:smtpUrl": { secure: "v1:BBBB:same" },
            "postgresql:password": { secure: "v1:CCCC:pw" },
        });
        const head = stored({
            "ahoy-ops:slackWebhookUrl": { secure: "v1:DDDD:new-ciphertext" },
            "ahoy-ops:smtpUrl": { secure: "v1:BBBB:same" },
            "postgresql:password": "hunter2-in-plain-text",
            "ahoy-ops:redisUrl": { secure: "v1:EEEE:redis" },
        });
        const lines = credentialLines(base, head, "main");
        assert.deepEqual(lines.slice(1), [
            "- `postgresql:password`: now in plain text (not shown; the preview refuses it); the database admin password itself",
            "- `redisUrl`: unset => a secret; the Redis password is sent there (the session flush)",
            "- `slackWebhookUrl`: a secret, changed (its encrypted value differs; not shown); the incident messages are posted there (the URL is the credential)",
        ]);
        assert.doesNotMatch(lines.join("\n"), /ciphertext|hunter2|v1:/);
    });

    it("mask a user, password or query a plain URL carries", () => {
        const [, line] = credentialLines(
            stored(),
            stored({ "ahoy-ops:repository": "https://tok3n@git.elsewhere.test/ahoy.git?key=s3cret" }),
            "main",
        );
        assert.equal(
            line,
            "- `repository`: unset => `https://***@git.elsewhere.test/ahoy.git?***`; git ls-remote asks it for tags (with any credential git holds for it)",
        );
    });

    it("cover every secret setting, marked secret as the schema marks it", () => {
        const byKey = new Map(CREDENTIAL_KEYS.map((entry) => [entry.key, entry]));
        for (const [key, meta] of settingsMeta()) {
            const entry = byKey.get(`ahoy-ops:${key}`);
            if (meta.secret) assert.equal(entry?.secret, true, `${key} is a secret setting: a credential line`);
            else if (entry) assert.ok(!entry.secret, `${key} is not a secret setting`);
        }
    });
});

describe("the preview workflow's credential and comment steps, as GitHub runs them", function () {
    this.timeout(90_000);
    const workflow = parseYaml(fs.readFileSync(path.join(root, ".github", "workflows", "preview.yml"), "utf8")) as {
        jobs: Record<string, { steps: Array<{ run?: string; env?: Record<string, string> }> }>;
    };
    const stepRunning = (job: string, text: string) => {
        const step = workflow.jobs[job].steps.find((s) => s.run?.includes(text));
        assert.ok(step?.run, `the ${job} job has a step running ${text}`);
        return step.run;
    };
    const TOKEN = "ghs_the_token_that_stays_in_the_header";
    let dir: string;
    let repo: string;
    let runnerTemp: string;
    let github: http.Server;
    let githubUrl: string;
    const comments = new Map<number, string>();
    const received: Array<{ method: string; url: string; authorization?: string }> = [];

    /** A run: line as GitHub runs it with `shell: bash` (bash -eo pipefail), in the PR's checkout. */
    const runStep = (script: string, env: NodeJS.ProcessEnv = {}) =>
        run("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
            cwd: repo,
            env: {
                ...process.env,
                RUNNER_TEMP: runnerTemp,
                GITHUB_API_URL: githubUrl,
                GITHUB_REPOSITORY: "ahoy-indie-media/ahoy-ops",
                GITHUB_EVENT_PATH: path.join(runnerTemp, "event.json"),
                GITHUB_TOKEN: TOKEN,
                ...env,
            },
        });

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ahoy-pr-"));
        repo = path.join(dir, "checkout");
        runnerTemp = path.join(dir, "runner-temp");
        fs.mkdirSync(runnerTemp);
        fs.writeFileSync(path.join(runnerTemp, "event.json"), JSON.stringify({ pull_request: { number: 7 } }));
        // The checkout of a pull request: its merge commit, whose first parent is the base branch.
        fs.mkdirSync(repo);
        git(repo, "init", "--quiet", "--initial-branch=main");
        const write = (config: { config: Record<string, unknown> }) =>
            fs.writeFileSync(path.join(repo, "Pulumi.prod.yaml"), stringifyYaml(config));
        fs.copyFileSync(path.join(root, "Pulumi.yaml"), path.join(repo, "Pulumi.yaml"));
        write(prodWith({ "postgresql:host": "dpg-x.oregon-postgres.render.com" }));
        git(repo, "add", "Pulumi.yaml", "Pulumi.prod.yaml");
        git(repo, "commit", "--quiet", "-m", "base");
        git(repo, "checkout", "--quiet", "-b", "pr");
        write(prodWith({ "postgresql:host": "db.elsewhere.test", "ahoy-ops:DISABLE_SIGNUP": "true" }));
        git(repo, "commit", "--quiet", "-am", "the pull request");
        git(repo, "checkout", "--quiet", "main");
        git(repo, "merge", "--quiet", "--no-ff", "-m", "merge pr into main", "pr");
        // The rest of the checkout: this project's code and installed packages.
        for (const entry of ["node_modules", "scripts", "stacks", "lib", "tsconfig.json"]) {
            fs.symlinkSync(path.join(root, entry), path.join(repo, entry));
        }
        fs.copyFileSync(path.join(root, "package.json"), path.join(repo, "package.json"));

        // GitHub's issue-comments API, as much as the comment step uses.
        let nextId = 100;
        github = http.createServer((req, res) => {
            let body = "";
            req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
            req.on("end", () => {
                received.push({
                    method: req.method ?? "",
                    url: req.url ?? "",
                    authorization: req.headers.authorization,
                });
                const answer = (status: number, payload: unknown) => {
                    res.writeHead(status, { "Content-Type": "application/json" });
                    res.end(JSON.stringify(payload));
                };
                const url = new URL(req.url ?? "/", "http://127.0.0.1");
                if (req.method === "GET" && url.pathname === "/repos/ahoy-indie-media/ahoy-ops/issues/7/comments") {
                    const page = Number(url.searchParams.get("page") ?? "1");
                    const all = [{ id: 1, body: "LGTM" }, ...[...comments].map(([id, text]) => ({ id, body: text }))];
                    return answer(200, page === 1 ? all : []);
                }
                if (req.method === "POST" && url.pathname === "/repos/ahoy-indie-media/ahoy-ops/issues/7/comments") {
                    const id = nextId++;
                    comments.set(id, (JSON.parse(body) as { body: string }).body);
                    return answer(201, { id });
                }
                const edit = /^\/repos\/ahoy-indie-media\/ahoy-ops\/issues\/comments\/(\d+)$/.exec(url.pathname);
                if (req.method === "PATCH" && edit && comments.has(Number(edit[1]))) {
                    comments.set(Number(edit[1]), (JSON.parse(body) as { body: string }).body);
                    return answer(200, { id: Number(edit[1]) });
                }
                answer(404, { message: "Not Found" });
            });
        });
        githubUrl = `http://127.0.0.1:${await listenLocal(github, 0)}`;
    });

    after(async () => {
        await closeServer(github);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    const HOST_LINE =
        "- `postgresql:host`: `dpg-x.oregon-postgres.render.com` => `db.elsewhere.test`; the database admin password is sent there";

    it("the credentials step prints the line for a changed postgresql:host, and nothing for a flag flip", async () => {
        const { stdout, stderr } = await runStep(stepRunning("credentials", "credential-lines"));
        assert.equal(stderr, "");
        assert.deepEqual(stdout.trim().split("\n"), [
            "**:warning: Credentials: this pull request changes where they go, 1 key** (compared with Pulumi.prod.yaml at HEAD^1; check each before approving the preview)",
            HOST_LINE,
        ]);
        assert.equal(fs.readFileSync(path.join(runnerTemp, "credential-lines.md"), "utf8"), stdout);
    });

    it("the first comment, before any approval, starts with those lines and says the preview waits for a reviewer", async () => {
        await runStep(stepRunning("credentials", "preview-comment"));
        assert.equal(comments.size, 1, "one comment");
        const [body] = comments.values();
        const lines = body.split("\n");
        assert.equal(lines[0], marker("prod"));
        assert.match(lines[1], /^\*\*:warning: Credentials: this pull request changes where they go, 1 key\*\*/);
        assert.equal(lines[2], HOST_LINE);
        assert.match(body, /waits for a reviewer to approve this run in the `preview` environment/);
    });

    it("the preview job's comment step edits the same comment: the lines first, then the preview's output", async () => {
        await runStep(stepRunning("preview", "credential-lines"));
        fs.writeFileSync(
            path.join(runnerTemp, "preview.txt"),
            'Previewing update (prod):\n  ~ pulumi-nodejs:dynamic/render:EnvVar: (update)\n      ~ value  : "false" => "true"\n<script>\n',
        );
        const commentStep = workflow.jobs.preview.steps.find((s) => s.run?.includes("preview-comment"));
        const { stdout } = await runStep(commentStep?.run ?? "", { PREVIEW_OUTCOME: "success" });
        assert.match(stdout, /preview-comment: edited the comment on pull request #7/);
        assert.equal(comments.size, 1, "edited, not duplicated");
        const [body] = comments.values();
        const lines = body.split("\n");
        assert.deepEqual(lines.slice(0, 3), [
            marker("prod"),
            "**:warning: Credentials: this pull request changes where they go, 1 key** (compared with Pulumi.prod.yaml at HEAD^1; check each before approving the preview)",
            HOST_LINE,
        ]);
        assert.match(body, /#### `pulumi preview --diff` of prod: succeeded/);
        assert.match(body, /~ value {2}: "false" =&gt; "true"\n&lt;script&gt;/, "the output, HTML escaped");
        assert.ok(body.indexOf(HOST_LINE) < body.indexOf("Previewing update"), "the lines come before the diff");
    });

    it("sends the token only in the Authorization header, and prints it nowhere", async () => {
        const { stdout, stderr } = await runStep(stepRunning("credentials", "preview-comment"), {
            GITHUB_API_URL: "http://github.elsewhere.test",
        }).catch((err: { stdout: string; stderr: string }) => err);
        assert.match(
            stderr,
            /GITHUB_API_URL must be an https URL \(or a loopback stand-in\), got http:\/\/github\.elsewhere\.test/,
        );
        assert.ok(!`${stdout}${stderr}`.includes(TOKEN));
        assert.ok(received.length >= 4);
        for (const request of received) assert.equal(request.authorization, `Bearer ${TOKEN}`);
        assert.ok(!received.some((request) => request.url.includes(TOKEN)));
    });

    it("cuts a preview too long for one comment in the middle, keeping its start and its summary", () => {
        const output = `Previewing update (prod):\n${"x".repeat(100_000)}\nResources:\n    ~ 3 to update\n`;
        const body = commentBody("prod", "**lines**", { output, outcome: "failure" });
        assert.ok(body.length < 65_536, `${body.length} characters`);
        assert.match(body, /of prod: did not succeed \(failure\)/);
        assert.match(body, /Previewing update \(prod\):/);
        assert.match(body, /\.\.\. \(40\d+ characters cut\) \.\.\./);
        assert.match(body, /Resources:\n {4}~ 3 to update/);
    });
});
