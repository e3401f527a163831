// The TEST-ONLY stand-in plugins (scripts/toolchain/standins) through the real CLI, in a tiny program of their own: each
// type the real program uses, with the properties it uses, behaves as the real provider does, and keeps its secrets.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Client } from "pg";
import { PulumiCli } from "../../scripts/rehearsal/cli";
import { repoRoot, type Toolchain } from "../../scripts/rehearsal/toolchain";
import { toolchainOrSkip } from "./support";
import { canConnect, createAppDatabase, startPostgres, type PostgresServer } from "../support/postgres";

const PROGRAM = `"use strict";
const pulumi = require("@pulumi/pulumi");
const random = require("@pulumi/random");
const postgresql = require("@pulumi/postgresql");
const command = require("@pulumi/command");
const config = new pulumi.Config();
const generation = config.require("generation");
const bytes = new random.RandomBytes("bytes", { length: 32, keepers: { generation } });
const password = new random.RandomPassword("password", { length: 24, special: true, minSpecial: 4, keepers: { generation } });
const role = new postgresql.Role("role", {
    name: "standin_probe", login: true, password: password.result, roles: ["ahoy"], assumeRole: "ahoy",
});
const env = { TOKEN: config.requireSecret("token"), NOTE: config.require("note"), MARKS: config.require("marks") };
const quiet = new command.local.Command("quiet", {
    create: 'printf "%s" "$TOKEN" | wc -c; echo "create $(pwd)" >> "$MARKS"',
    update: 'echo "update $NOTE prev=$PULUMI_COMMAND_STDOUT" >> "$MARKS"; echo updated',
    delete: 'echo delete >> "$MARKS"',
    environment: env, logging: "none", triggers: [generation],
});
const loud = new command.local.Command("loud", { create: "echo loud-command-line-$NOTE", environment: { NOTE: env.NOTE } });
exports.hex = bytes.hex;
exports.base64 = bytes.base64;
exports.password = password.result;
exports.roleId = role.id;
exports.quietStdout = quiet.stdout;
exports.loudStdout = loud.stdout;
`;

interface Outputs {
    hex: string;
    base64: string;
    password: string;
    roleId: string;
    quietStdout: string;
    loudStdout: string;
}

describe("e2e: the stand-in plugins (random, postgresql, command) through the Pulumi CLI", function () {
    this.timeout(120_000);
    let toolchain: Toolchain;
    let dir: string;
    let cli: PulumiCli;
    let pg: PostgresServer;
    let superuser: Client;
    const token = `tok-${Math.random().toString(36).slice(2)}-secret`;
    const adminPassword = `adm-${Math.random().toString(36).slice(2)}@:/!`;
    const seen: Outputs[] = [];

    const marks = () =>
        fs.existsSync(path.join(dir, "marks")) ? fs.readFileSync(path.join(dir, "marks"), "utf8") : "";
    const outputs = async (): Promise<Outputs> => {
        const out = await cli.run(["stack", "output", "--json", "--show-secrets"], { quiet: true });
        const o = JSON.parse(out.stdout) as Outputs;
        seen.push(o);
        return o;
    };
    const role = async () =>
        (
            await superuser.query(
                `SELECT rolcanlogin, rolconfig::text[] AS config,
                        ARRAY(SELECT b.rolname::text FROM pg_auth_members m JOIN pg_roles b ON m.roleid = b.oid
                              WHERE m.member = r.oid) AS roles
                   FROM pg_roles r WHERE rolname = 'standin_probe'`,
            )
        ).rows[0] as { rolcanlogin: boolean; config: string[]; roles: string[] } | undefined;
    const probeUrl = (password: string) =>
        `postgresql://standin_probe:${encodeURIComponent(password)}@127.0.0.1:${pg.port}/ahoy_prod?sslmode=disable`;

    before(async function () {
        toolchain = toolchainOrSkip(this);
        if (toolchain.standIns.length === 0) {
            console.log(
                `    skipped "${this.test?.parent?.title}": the real plugins are installed, no stand-in to test`,
            );
            this.skip();
        }
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ahoy-standins-"));
        fs.mkdirSync(path.join(dir, "state"));
        fs.mkdirSync(path.join(dir, "project"));
        const project = path.join(dir, "project");
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(project, "node_modules"));
        fs.writeFileSync(path.join(project, "Pulumi.yaml"), "name: standins\nruntime: nodejs\nmain: index.js\n");
        fs.writeFileSync(path.join(project, "package.json"), '{"name":"standins","main":"index.js"}\n');
        fs.writeFileSync(path.join(project, "index.js"), PROGRAM);
        pg = await startPostgres();
        superuser = await pg.connect();
        await (await createAppDatabase(pg, superuser, { user: "standin_admin", password: adminPassword })).end();
        cli = new PulumiCli({
            toolchain,
            cwd: project,
            stack: "standins",
            backendUrl: `file://${path.join(dir, "state")}`,
            passphrase: "standins",
            logFile: path.join(dir, "pulumi.log"),
        });
        await cli.run(["stack", "init", "standins"]);
        for (const [key, value] of Object.entries({
            "postgresql:host": "127.0.0.1",
            "postgresql:port": String(pg.port),
            "postgresql:username": "standin_admin",
            "postgresql:database": "ahoy_prod",
            "postgresql:sslmode": "disable",
            "postgresql:superuser": "false",
            generation: "1",
            note: "first",
            marks: path.join(dir, "marks"),
        })) {
            await cli.run(["config", "set", key, value]);
        }
        await cli.run(["config", "set", "--secret", "postgresql:password"], { stdin: adminPassword });
        await cli.run(["config", "set", "--secret", "token"], { stdin: token });
    });

    after(async function () {
        if (!cli) return;
        await cli.run(["destroy", "--yes"], { allowFailure: true });
        await cli.stopAll();
        await superuser?.end();
        await pg?.stop();
        fs.rmSync(path.join(dir, "state"), { recursive: true, force: true });
    });

    it("creates each type once: random values, the role in PostgreSQL, the command run with its environment", async () => {
        const up = await cli.run(["up", "--yes"]);
        assert.match(up.output, /\+ 6 created/, "expected the stack, two random values, the role and two commands");
        const o = await outputs();
        assert.match(o.hex, /^[0-9a-f]{64}$/, "RandomBytes.hex: 32 bytes as hex");
        assert.equal(Buffer.from(o.base64, "base64").toString("hex"), o.hex, "base64 and hex are the same bytes");
        assert.equal(o.password.length, 24);
        const specials = [...o.password].filter((c) => "!@#$%&*()-_=+[]{}<>:?".includes(c));
        assert.ok(specials.length >= 4, `minSpecial 4: got ${specials.length} special characters`);
        assert.ok(
            [...o.password].every((c) => /[A-Za-z0-9]/.test(c) || specials.includes(c)),
            "only the default sets",
        );
        assert.deepEqual(await role(), { rolcanlogin: true, config: ["role=ahoy"], roles: ["ahoy"] });
        assert.equal(await canConnect(probeUrl(o.password)), true, "the role logs in with the RandomPassword");
        assert.equal(o.roleId, "standin_probe");
        assert.equal(o.quietStdout.trim(), String(token.length), "the command saw TOKEN in its environment");
        assert.equal(marks(), `create ${path.join(dir, "project")}\n`, "create ran once, in the program's directory");
    });

    it("honours logging: a `none` command's output is not shown, another command's is", async () => {
        const log = fs.readFileSync(path.join(dir, "pulumi.log"), "utf8");
        assert.match(log, /loud-command-line-first/, "the default logging shows the command's output");
        assert.doesNotMatch(log, new RegExp(`create ${path.join(dir, "project")}`), "sanity: marks go to a file");
        assert.equal(seen[0].quietStdout.trim(), String(token.length));
        assert.ok(
            !log.split("\n").some((l) => l.trim() === String(token.length)),
            "the `none` command's stdout is not logged",
        );
    });

    it("changes nothing on a second up", async () => {
        const up = await cli.run(["up", "--yes"]);
        assert.match(up.output, /6 unchanged/);
        assert.deepEqual(await outputs(), seen[0], "same values");
        assert.equal(marks().split("\n").filter(Boolean).length, 1, "no command ran");
    });

    it("runs `update` (not `create`) for a changed environment, with the previous stdout", async () => {
        await cli.run(["config", "set", "note", "second"]);
        const up = await cli.run(["up", "--yes"]);
        assert.match(up.output, /~ 2 updated/, "both commands update in place");
        assert.equal(marks().split("\n").filter(Boolean).at(-1), `update second prev=${token.length}`);
        assert.equal((await outputs()).quietStdout, "updated");
    });

    it("replaces the random values on a keepers change, updates the role's password, replaces the command", async () => {
        await cli.run(["config", "set", "generation", "2"]);
        const preview = await cli.run(["preview", "--diff"]);
        assert.match(preview.output, /\+-\s*random:index\/randomBytes:RandomBytes: \(replace\)/);
        assert.match(preview.output, /\+-\s*random:index\/randomPassword:RandomPassword: \(replace\)/);
        assert.match(preview.output, /~\s*postgresql:index\/role:Role: \(update\)/);
        assert.match(preview.output, /\+-\s*command:local:Command: \(replace\)/);
        await cli.run(["up", "--yes"]);
        const before = seen.at(-1)!;
        const o = await outputs();
        assert.notEqual(o.hex, before.hex);
        assert.notEqual(o.password, before.password);
        assert.equal(await canConnect(probeUrl(o.password)), true, "the new password logs in");
        assert.notEqual(await canConnect(probeUrl(before.password)), true, "the old one does not");
        const lines = marks().split("\n").filter(Boolean);
        assert.deepEqual(lines.slice(-2).sort(), [`create ${path.join(dir, "project")}`, "delete"].sort());
    });

    it("refresh reads the role back: a login taken away by hand shows as drift, and up restores it", async () => {
        await superuser.query("ALTER ROLE standin_probe NOLOGIN");
        const refresh = await cli.run(["refresh", "--yes"]);
        assert.match(
            refresh.output,
            /postgresql:index:Role role updated .*\[diff: ~login\]/,
            "the role's drift is shown",
        );
        assert.match(refresh.output, /~ 1 updated/);
        const up = await cli.run(["up", "--yes"]);
        assert.match(up.output, /~ 1 updated/);
        assert.equal((await role())?.rolcanlogin, true);
        const again = await cli.run(["refresh", "--yes"]);
        assert.doesNotMatch(again.output, /updated/, "no false drift after the up");
        assert.match(again.output, /6 unchanged/);
    });

    it("keeps every secret encrypted in the state and out of the CLI's output", async () => {
        const exported = await cli.run(["stack", "export"]);
        const state = JSON.parse(exported.stdout) as {
            deployment: { resources: Array<{ urn: string; type: string; outputs?: Record<string, unknown> }> };
        };
        const secrets = [token, adminPassword, ...seen.flatMap((o) => [o.hex, o.base64, o.password])];
        const log = fs.readFileSync(path.join(dir, "pulumi.log"), "utf8");
        for (const [where, text] of [
            ["pulumi stack export", exported.stdout],
            ["the CLI's output", log],
            ["the stack file", fs.readFileSync(path.join(dir, "project", "Pulumi.standins.yaml"), "utf8")],
        ]) {
            const leaked = secrets.filter((s) => text.includes(s));
            assert.deepEqual(
                leaked.map((s) => `${s.length} characters`),
                [],
                `a secret in plain text in ${where}`,
            );
        }
        const encrypted = (v: unknown) => typeof v === "object" && v !== null && "ciphertext" in v;
        const secretOutputs = (type: string, name: string) =>
            Object.entries(
                state.deployment.resources.find((r) => r.type === type && r.urn.endsWith(`::${name}`))?.outputs ?? {},
            )
                .filter(([, v]) => encrypted(v))
                .map(([k]) => k)
                .sort();
        assert.deepEqual(secretOutputs("random:index/randomBytes:RandomBytes", "bytes"), ["base64", "hex"]);
        assert.deepEqual(secretOutputs("random:index/randomPassword:RandomPassword", "password"), ["result"]);
        assert.deepEqual(secretOutputs("postgresql:index/role:Role", "role"), ["password"]);
        // A secret in the environment makes the command's output secret too; the other command's stays plain.
        assert.deepEqual(secretOutputs("command:local:Command", "quiet"), ["stderr", "stdout"]);
        assert.deepEqual(secretOutputs("command:local:Command", "loud"), []);
        const quiet = state.deployment.resources.find((r) => r.urn.endsWith("::quiet"));
        assert.ok(
            encrypted((quiet?.outputs?.environment as Record<string, unknown>).TOKEN),
            "environment.TOKEN encrypted",
        );
    });

    it("destroy drops the role and runs the command's delete", async () => {
        await cli.run(["destroy", "--yes"]);
        assert.equal(await role(), undefined, "DROP ROLE");
        assert.equal(marks().split("\n").filter(Boolean).at(-1), "delete");
        await cli.run(["stack", "rm", "standins", "--yes"]);
    });
});
