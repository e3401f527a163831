// Runbook readiness: what each runbook action lacks in a stack's config and the command that supplies it, over the
// committed Pulumi.prod.yaml and tables of incomplete configs; and `npm run readiness`'s output and exit codes.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseStackConfig } from "../stacks/config";
import {
    formatReadiness,
    readiness,
    readinessWarnings,
    type ReadinessEnvironment,
    type ReadinessRow,
} from "../stacks/readiness";
import { stackReadiness } from "../scripts/readiness";

const root = path.join(__dirname, "..");
const SERVICE_URL = "https://ahoy-indie-media.onrender.com";

/** The rows for `values` (serviceUrl included unless overridden), with `raw` defaulting to the same values. */
function rowsOf(
    values: Record<string, string | undefined>,
    environment: ReadinessEnvironment = {},
    extraRaw: Record<string, string> = {},
): ReadinessRow[] {
    const all = { serviceUrl: SERVICE_URL, ...values };
    const config = parseStackConfig(all, new Set(["redisUrl", "postgresql:password"]), providerConfigOf(extraRaw));
    return readiness(config, { ...all, ...extraRaw }, environment, "prod");
}

function providerConfigOf(raw: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(raw).filter(([key]) => key.includes(":")));
}

function rowOf(rows: readonly ReadinessRow[], id: string): ReadinessRow {
    const row = rows.find((r) => r.id === id);
    assert.ok(row, `no readiness row ${id}; rows: ${rows.map((r) => r.id).join(", ")}`);
    return row;
}

/** The statuses by id, for a whole-table comparison. */
function statuses(rows: readonly ReadinessRow[]): Record<string, string> {
    return Object.fromEntries(rows.map((r) => [r.id, r.status]));
}

const ADMIN = {
    "postgresql:host": "dpg-admin.oregon-postgres.render.com",
    "postgresql:username": "ahoy_admin",
    "postgresql:password": "[secret]",
};

describe("runbook readiness", () => {
    describe("over the committed Pulumi.prod.yaml", () => {
        const rows = stackReadiness(root, "prod", {});

        it("lists every runbook action, in the runbook's order, each ready or not ready", () => {
            assert.deepEqual(
                rows.map((r) => r.action),
                [
                    "Complete outage (Severity 1): Render's maintenance page",
                    "Render.com Rollback",
                    "Git Tag Rollback",
                    "Verify and Monitor (5 minutes)",
                    "Disable User Signup",
                    "Add maintenance mode flag (app_settings)",
                    "Enable Signed URLs",
                    "Restrict Direct Access (BLOCK_DIRECT_MEDIA)",
                    "Emergency Rate Limiting",
                    "Block Specific IPs",
                    "Rotate SECRET_KEY",
                    "Invalidate Sessions",
                    "Rotate Database Credentials",
                    "Communication Templates (Alert Channels)",
                ],
            );
            for (const r of rows) {
                assert.ok(r.status === "ready" || r.status === "not ready", `${r.action}: ${r.status}`);
                assert.equal(r.lacks.length === 0, r.status === "ready", `${r.action}: lacks something iff not ready`);
                if (r.status === "not ready") assert.ok(r.commands.length > 0, `${r.action}: a command supplies it`);
            }
        });

        it("says what prod says today: no media probe, no database, no Redis, no incident channel", () => {
            assert.deepEqual(statuses(rows), {
                maintenancePage: "ready",
                renderRollback: "ready",
                gitTagRollback: "ready",
                verify: "ready",
                disableSignup: "ready",
                maintenanceRow: "not ready",
                signedUrls: "ready",
                blockDirectMedia: "not ready",
                rateLimits: "ready",
                blockedIps: "ready",
                rotateSecretKey: "ready",
                invalidateSessions: "not ready",
                rotateDatabaseCredentials: "not ready",
                incidentComms: "not ready",
            });
        });

        it("BLOCK_DIRECT_MEDIA is not ready for lack of mediaProbePath, with the command that sets it", () => {
            const media = rowOf(rows, "blockDirectMedia");
            assert.equal(media.status, "not ready");
            assert.equal(media.lacks.length, 1);
            assert.match(media.lacks[0], /^mediaProbePath\b/);
            assert.deepEqual(media.commands, ["pulumi config set mediaProbePath /media/<a real upload> --stack prod"]);
        });

        it("a tag pin is ready if Render names the service's repository, and says to set repository to be sure", () => {
            const tag = rowOf(rows, "gitTagRollback");
            assert.equal(tag.status, "ready");
            assert.equal(tag.note, "ready if Render names the service's repository; set repository to be sure");
            assert.deepEqual(tag.commands, ["pulumi config set repository <the service's git URL> --stack prod"]);
        });

        it("the database actions name databaseAppHost and each part of the admin connection, password as a secret", () => {
            for (const id of ["maintenanceRow", "rotateDatabaseCredentials"]) {
                const row = rowOf(rows, id);
                assert.deepEqual(row.commands, [
                    "pulumi config set databaseAppHost <its internal host on Render> --stack prod",
                    "pulumi config set postgresql:host <its external host> --stack prod",
                    "pulumi config set postgresql:username <admin role> --stack prod",
                    "pulumi config set --secret postgresql:password <admin password> --stack prod",
                ]);
                assert.match(row.lacks.join("\n"), /PGHOST, PGUSER, PGPASSWORD in the environment/);
            }
        });
    });

    describe("over incomplete configs", () => {
        it("the media probe is needed only while verification is on", () => {
            const cases: Array<[Record<string, string>, string]> = [
                [{}, "not ready"],
                [{ BLOCK_DIRECT_MEDIA: "true", mediaProbePath: "/media/uploads/probe.jpg" }, "ready"],
                [{ mediaProbePath: "/media/uploads/probe.jpg" }, "ready"],
                [{ verify: "false" }, "ready"],
            ];
            for (const [values, status] of cases) {
                assert.equal(rowOf(rowsOf(values), "blockDirectMedia").status, status, JSON.stringify(values));
            }
        });

        it("verification needs serviceUrl, and is not ready when verify is false", () => {
            const off = rowOf(rowsOf({ serviceUrl: undefined, verify: "false" }), "verify");
            assert.equal(off.status, "not ready");
            assert.deepEqual(off.commands, ["pulumi config set verify true --stack prod"]);
            assert.equal(rowOf(rowsOf({}), "verify").status, "ready");
            // An unparsed config may lack it (the parser itself refuses that): the row says which command sets it.
            const config = parseStackConfig({ serviceUrl: SERVICE_URL });
            const missing = rowOf(readiness({ ...config, serviceUrl: undefined }, {}, {}, "prod"), "verify");
            assert.equal(missing.status, "not ready");
            assert.deepEqual(missing.commands, [
                "pulumi config set serviceUrl <the app's public https URL> --stack prod",
            ]);
        });

        it("the database actions take each part of the admin connection from the stack or from libpq's variables", () => {
            const host = { databaseAppHost: "dpg-app-a" };
            const cases: Array<[string, Record<string, string>, Record<string, string>, ReadinessEnvironment, string]> =
                [
                    ["nothing", {}, {}, {}, "not ready"],
                    ["the admin connection but no app host", {}, ADMIN, {}, "not ready"],
                    ["the app host and the admin connection in the stack", host, ADMIN, {}, "ready"],
                    [
                        "the app host, the admin connection in the environment",
                        host,
                        {},
                        { PGHOST: "db", PGUSER: "admin", PGPASSWORD: "pw" },
                        "ready",
                    ],
                    [
                        "host and user in the stack, PGPASSWORD in the environment (as the workflows pass it)",
                        host,
                        { "postgresql:host": "db", "postgresql:username": "admin" },
                        { PGPASSWORD: "pw" },
                        "ready",
                    ],
                    [
                        "no password anywhere",
                        host,
                        { "postgresql:host": "db", "postgresql:username": "admin" },
                        {},
                        "not ready",
                    ],
                ];
            for (const [what, values, provider, environment, status] of cases) {
                const rows = rowsOf(values, environment, provider);
                for (const id of ["maintenanceRow", "rotateDatabaseCredentials"]) {
                    assert.equal(rowOf(rows, id).status, status, `${id} with ${what}`);
                }
            }
            const noPassword = rowOf(
                rowsOf(host, {}, { "postgresql:host": "db", "postgresql:username": "admin" }),
                "rotateDatabaseCredentials",
            );
            assert.deepEqual(noPassword.commands, [
                "pulumi config set --secret postgresql:password <admin password> --stack prod",
            ]);
            assert.deepEqual(noPassword.lacks, [
                "the admin connection's postgresql:password (or PGPASSWORD in the environment)",
            ]);
        });

        it('says "TLS not verified" beside the database actions while a password goes over TLS that checks no certificate', () => {
            const host = { databaseAppHost: "dpg-app-a" };
            const unverified = rowOf(rowsOf(host, {}, ADMIN), "rotateDatabaseCredentials");
            assert.equal(unverified.status, "ready", "the action can run; the note says what it risks");
            assert.equal(
                unverified.note,
                "TLS not verified: the admin connection to dpg-admin.oregon-postgres.render.com uses sslmode prefer " +
                    "(libpq's default: neither postgresql:sslmode nor PGSSLMODE is set), which accepts any certificate; " +
                    "the app's DATABASE_URL to dpg-app-a uses sslmode require (databaseSslMode), so whoever answers at " +
                    "that address gets the password; verify the server's certificate",
            );
            assert.deepEqual(unverified.commands, [
                "pulumi config set postgresql:sslmode verify-full --stack prod",
                "pulumi config set databaseSslMode verify-full --stack prod",
            ]);
            assert.deepEqual(rowOf(rowsOf(host, {}, ADMIN), "maintenanceRow").commands, unverified.commands);
            assert.match(formatReadiness([unverified]), /TLS not verified: the admin connection/);

            const fromEnvironment = rowOf(
                rowsOf(
                    { ...host, databaseSslMode: "verify-full" },
                    { PGHOST: "db.example.net", PGUSER: "admin", PGPASSWORD: "pw", PGSSLMODE: "require" },
                ),
                "rotateDatabaseCredentials",
            );
            assert.match(
                fromEnvironment.note ?? "",
                /the admin connection to db\.example\.net uses sslmode require \(PGSSLMODE\)/,
            );

            const verified = [
                rowsOf(
                    { ...host, databaseSslMode: "verify-full" },
                    {},
                    { ...ADMIN, "postgresql:sslmode": "verify-full" },
                ),
                // require with a CA to check against verifies the chain (libpq's rule); a loopback host never leaves.
                rowsOf(
                    { ...host, databaseSslMode: "verify-ca" },
                    {},
                    { ...ADMIN, "postgresql:sslmode": "require", "postgresql:sslrootcert": "/etc/ahoy/ca.pem" },
                ),
                rowsOf(
                    { databaseAppHost: "127.0.0.1", databaseSslMode: "disable" },
                    {},
                    { ...ADMIN, "postgresql:host": "localhost", "postgresql:sslmode": "disable" },
                ),
            ];
            for (const rows of verified) {
                assert.equal(rowOf(rows, "rotateDatabaseCredentials").note, undefined);
            }
        });

        it("session invalidation needs sessionStore redis and redisUrl", () => {
            const none = rowOf(rowsOf({}), "invalidateSessions");
            assert.deepEqual(none.commands, [
                "pulumi config set sessionStore redis --stack prod",
                "pulumi config set --secret redisUrl <rediss://...> --stack prod",
            ]);
            const ready = rowOf(
                rowsOf({ sessionStore: "redis", redisUrl: "rediss://red-a:6379" }),
                "invalidateSessions",
            );
            assert.equal(ready.status, "ready");
            // A redisUrl known only as a secret the script could not decrypt still counts.
            const config = parseStackConfig({ serviceUrl: SERVICE_URL });
            const secure = readiness(
                { ...config, sessionStore: "redis" },
                { serviceUrl: SERVICE_URL, redisUrl: "[secret]" },
                {},
            );
            assert.equal(rowOf(secure, "invalidateSessions").status, "ready");
        });

        it("incident comms need one channel in the stack: Slack, PagerDuty, or email with SMTP", () => {
            // The channel keys are read from the raw values, so this holds before and after the schema declares them.
            const cases: Array<[string, Record<string, string>, string]> = [
                ["nothing", {}, "not ready"],
                ["slackWebhookUrl", { slackWebhookUrl: "[secret]" }, "ready"],
                ["pagerDutyRoutingKey", { "ahoy-ops:pagerDutyRoutingKey": "[secret]" }, "ready"],
                ["alertEmail without smtpUrl", { alertEmail: "oncall@ahoy.example" }, "not ready"],
                ["smtpUrl without alertEmail", { smtpUrl: "[secret]" }, "not ready"],
                ["alertEmail with smtpUrl", { alertEmail: "oncall@ahoy.example", smtpUrl: "[secret]" }, "ready"],
            ];
            const config = parseStackConfig({ serviceUrl: SERVICE_URL });
            for (const [what, raw, status] of cases) {
                const row = rowOf(readiness(config, raw, {}, "prod"), "incidentComms");
                assert.equal(row.status, status, what);
            }
            // The program reads the channels from the stack only: the workflows' AHOY_* variables do not make one.
            const fromEnvironment: NodeJS.ProcessEnv = {
                AHOY_SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T/B/X",
            };
            assert.equal(rowOf(readiness(config, {}, fromEnvironment, "prod"), "incidentComms").status, "not ready");
            const none = rowOf(readiness(config, {}, {}, "prod"), "incidentComms");
            assert.deepEqual(none.commands, [
                "pulumi config set --secret slackWebhookUrl <its webhook URL> --stack prod",
                "pulumi config set --secret pagerDutyRoutingKey <routing key> --stack prod",
                "pulumi config set alertEmail oncall@ahoy.example --stack prod",
                "pulumi config set --secret smtpUrl <smtps://user:pass@host> --stack prod",
            ]);
            const halfEmail = rowOf(readiness(config, { alertEmail: "a@b.c" }, {}, "prod"), "incidentComms");
            assert.match(halfEmail.lacks[0], /alertEmail is set, smtpUrl is not/);
            assert.ok(!halfEmail.commands.some((c) => c.includes(" alertEmail ")), "no command for what is set");
        });

        it("a fully configured stack is ready everywhere, and no tag-pin note once repository is set", () => {
            const rows = rowsOf(
                {
                    mediaProbePath: "/media/uploads/probe.jpg",
                    repository: "https://github.com/ahoy-indie-media/ahoy.git",
                    sessionStore: "redis",
                    redisUrl: "rediss://red-a:6379",
                    databaseAppHost: "dpg-app-a",
                },
                {},
                { ...ADMIN, slackWebhookUrl: "[secret]" },
            );
            assert.deepEqual(
                rows.filter((r) => r.status !== "ready"),
                [],
            );
            assert.deepEqual(rowOf(rows, "gitTagRollback"), {
                id: "gitTagRollback",
                action: "Git Tag Rollback",
                status: "ready",
                lacks: [],
                commands: [],
            });
            assert.deepEqual(readinessWarnings(rows), []);
            assert.match(formatReadiness(rows), /All 14 runbook actions are ready\.\n$/);
        });

        it("names the stack in every command; --secret exactly for the secret keys", () => {
            const rows = readiness(parseStackConfig({ serviceUrl: SERVICE_URL }), {}, {}, "rehearsal");
            const commands = rows.flatMap((r) => r.commands);
            assert.ok(commands.length > 10);
            const secret = new Set([
                "redisUrl",
                "postgresql:password",
                "slackWebhookUrl",
                "pagerDutyRoutingKey",
                "smtpUrl",
            ]);
            for (const command of commands) {
                const match = /^pulumi config set (--secret )?(\S+) .+ --stack rehearsal$/.exec(command);
                assert.ok(match, `a pulumi config set command for the stack: ${command}`);
                assert.equal(Boolean(match[1]), secret.has(match[2]), `--secret for ${match[2]}: ${command}`);
            }
        });
    });

    describe("for a terminal and a preview", () => {
        const config = parseStackConfig({ serviceUrl: SERVICE_URL });
        const rows = readiness(
            { ...config, verify: true, serviceUrl: undefined },
            { alertEmail: "oncall@ahoy.example" },
            {},
            "prod",
        );

        it("formats one status line per action, what it lacks and the commands beneath, every line under 100 columns", () => {
            const text = formatReadiness(rows);
            const lines = text.split("\n");
            for (const line of lines) assert.ok(line.length < 100, `${line.length} columns: ${line}`);
            assert.equal(lines.filter((l) => /^(ready|not ready) {2,}\S/.test(l)).length, rows.length);
            assert.ok(lines.includes("not ready  Restrict Direct Access (BLOCK_DIRECT_MEDIA)"), text);
            assert.ok(
                lines.includes("           $ pulumi config set mediaProbePath /media/<a real upload> --stack prod"),
                text,
            );
            assert.match(text, /\n6 of 14 runbook actions not ready\.\n$/);
        });

        it("gives one warning line per action that is not ready, with its commands", () => {
            const warnings = readinessWarnings(rows);
            const notReady = rows.filter((r) => r.status === "not ready");
            assert.equal(warnings.length, notReady.length);
            for (const [i, r] of notReady.entries()) {
                assert.ok(!warnings[i].includes("\n"), "one line");
                assert.ok(warnings[i].includes(r.action), warnings[i]);
                for (const command of r.commands) assert.ok(warnings[i].includes(command), warnings[i]);
            }
        });
    });
});

describe("npm run readiness", () => {
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ahoy-readiness-"));
        fs.copyFileSync(path.join(root, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        const stack = (name: string, lines: string[]) =>
            fs.writeFileSync(
                path.join(dir, `Pulumi.${name}.yaml`),
                ["config:", ...lines.map((l) => `  ${l}`)].join("\n"),
            );
        const complete = [
            `ahoy-ops:serviceUrl: ${SERVICE_URL}`,
            "ahoy-ops:mediaProbePath: /media/uploads/probe.jpg",
            "ahoy-ops:repository: https://github.com/ahoy-indie-media/ahoy.git",
            "ahoy-ops:sessionStore: redis",
            // Secure values cannot be decrypted without the engine: they count as set, and their format is not judged.
            "ahoy-ops:redisUrl:",
            "    secure: v1:Zm9vYmFy:YmFzNjQ=",
            "ahoy-ops:databaseAppHost: dpg-app-a",
            "postgresql:host: dpg-admin.oregon-postgres.render.com",
            "postgresql:username: ahoy_admin",
            "postgresql:password:",
            "    secure: v1:cGFzcw==:c2VjcmV0",
        ];
        stack("nocomms", complete);
        stack("ready", [...complete, "ahoy-ops:slackWebhookUrl:", "    secure: v1:c2xhY2s=:aG9vaw=="]);
        stack("typo", [`ahoy-ops:serviceUrl: ${SERVICE_URL}`, 'ahoy-ops:DISABLE_SIGNUPS: "true"']);
        stack("plain", [
            `ahoy-ops:serviceUrl: ${SERVICE_URL}`,
            "ahoy-ops:sessionStore: redis",
            "ahoy-ops:redisUrl: rediss://red-a:6379",
        ]);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** The environment without anything that would make an action ready (a CI runner may have PGPASSWORD). */
    function cleanEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
        const environment = { ...process.env };
        for (const key of Object.keys(environment)) {
            if (/^(PG|AHOY_|GITHUB_STEP_SUMMARY$)/.test(key)) delete environment[key];
        }
        return { ...environment, ...extra };
    }

    function run(
        command: string,
        args: string[],
        cwd: string,
        environment = cleanEnvironment(),
    ): Promise<{ code: number | null; stdout: string; stderr: string }> {
        return new Promise((resolve, reject) => {
            const child = spawn(command, args, { cwd, env: environment, stdio: ["ignore", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
            child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
            child.on("error", reject);
            child.on("exit", (code) => resolve({ code, stdout, stderr }));
        });
    }
    /** The script run from another directory (the temporary project), by tsx as npm runs it. */
    const script = (args: string[], environment?: NodeJS.ProcessEnv) =>
        run(
            path.join(root, "node_modules", ".bin", "tsx"),
            [path.join(root, "scripts", "readiness.ts"), ...args],
            dir,
            environment,
        );

    it("`npm run readiness -- prod` prints the committed stack's report and exits 1: some action is not ready", async function () {
        this.timeout(30_000);
        const { code, stdout, stderr } = await run("npm", ["run", "readiness", "--", "prod"], root);
        assert.equal(code, 1, `exit code; stderr: ${stderr}`);
        assert.match(stdout, /^not ready {2}Restrict Direct Access \(BLOCK_DIRECT_MEDIA\)$/m);
        assert.match(stdout, /^ {11}\$ pulumi config set mediaProbePath \/media\/<a real upload> --stack prod$/m);
        assert.match(stdout, /5 of 14 runbook actions not ready\./);
    });

    it("exits 1 for a stack lacking only an incident channel, secure values counting as set", async function () {
        this.timeout(30_000);
        const { code, stdout, stderr } = await script(["nocomms"]);
        assert.equal(code, 1, `exit code; stdout: ${stdout}; stderr: ${stderr}`);
        assert.match(stdout, /^not ready {2}Communication Templates \(Alert Channels\)$/m);
        assert.match(stdout, /^ready {6}Invalidate Sessions$/m, "a secure redisUrl counts as set");
        assert.match(stdout, /^ready {6}Rotate Database Credentials$/m, "a secure postgresql:password counts as set");
        assert.match(stdout, /1 of 14 runbook actions not ready\./);
    });

    it("exits 0 when every action is ready, a secure channel counting as set", async function () {
        this.timeout(30_000);
        const { code, stdout, stderr } = await script(["ready"]);
        assert.equal(code, 0, `exit code; stdout: ${stdout}; stderr: ${stderr}`);
        assert.match(stdout, /All 14 runbook actions are ready\./);
    });

    it("exits 2 naming the missing stack file and the stacks there are", async function () {
        this.timeout(30_000);
        const { code, stdout, stderr } = await script(["nosuch"]);
        assert.equal(code, 2);
        assert.equal(stdout, "");
        assert.match(stderr, /^readiness: nosuch: no stack file Pulumi\.nosuch\.yaml in .+ \(stack files here: /);
        assert.match(stderr, /\bready\b/);
    });

    it("exits 2 with the StackConfigError's message for a config error", async function () {
        this.timeout(30_000);
        const typo = await script(["typo"]);
        assert.equal(typo.code, 2);
        assert.match(typo.stderr, /The stack's configuration has 1 problem; nothing was changed:/);
        assert.match(typo.stderr, /DISABLE_SIGNUPS: .*did you mean DISABLE_SIGNUP\?/);
        // A secret stored in plain text is a config error too, and its value is never quoted.
        const plain = await script(["plain"]);
        assert.equal(plain.code, 2);
        assert.match(plain.stderr, /redisUrl: is stored in plain text/);
        assert.ok(!plain.stderr.includes("red-a"), plain.stderr);
    });

    it("exits 2 with its usage for no stack, 0 for --help; writes the job summary in GitHub Actions", async function () {
        this.timeout(30_000);
        const none = await script([]);
        assert.equal(none.code, 2);
        assert.match(none.stderr, /usage: npm run readiness -- <stack>/);
        const help = await script(["--help"]);
        assert.equal(help.code, 0);
        assert.match(help.stdout, /^usage: npm run readiness -- <stack>/);

        const summary = path.join(dir, "summary.md");
        const { code } = await script(["nocomms"], cleanEnvironment({ GITHUB_STEP_SUMMARY: summary }));
        assert.equal(code, 1);
        assert.match(
            fs.readFileSync(summary, "utf8"),
            /^### Runbook readiness: nocomms\n\n```\n[\s\S]*not ready {2}Comm/,
        );
    });
});
