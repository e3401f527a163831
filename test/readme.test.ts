// The README's commands do what it says: each `pulumi config` command of the runbook table and of the code blocks,
// applied to the committed Pulumi.prod.yaml as the CLI would store it, parses as the program expects.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseStackConfig } from "../stacks/config";
import { prodConfig } from "./support/program";

const root = path.join(__dirname, "..");
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");

/** `pulumi config set [--secret] KEY VALUE` or `pulumi config rm KEY`, as the shell would split it. */
interface ConfigCommand {
    readonly text: string;
    readonly key: string;
    readonly value?: string;
    readonly secret: boolean;
}

function parseCommand(text: string): ConfigCommand | undefined {
    const words = [...text.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
    if (words[0] !== "pulumi" || words[1] !== "config" || !["set", "rm"].includes(words[2])) return undefined;
    const rest = words.slice(3).filter((w) => w !== "--secret" && !w.startsWith("--stack"));
    // The one placeholder the table holds: a deploy id, read off Render's deploy list at the time.
    const value = rest[1] === "dep-..." ? "dep-d0abcdefghijklmnopqr" : rest[1];
    return { text, key: rest[0], value: words[2] === "set" ? value : undefined, secret: words.includes("--secret") };
}

/** The stack's values after `commands`, this project's keys bare, as the program receives them. */
function apply(commands: readonly ConfigCommand[]): Record<string, string | undefined> {
    const values: Record<string, string | undefined> = {};
    for (const [key, value] of Object.entries(prodConfig().values)) {
        if (key.startsWith("ahoy-ops:")) values[key.slice("ahoy-ops:".length)] = value;
    }
    for (const command of commands) values[command.key] = command.value;
    return values;
}

/** The runbook table's rows: the action and the `pulumi config` commands in its command cell. */
function tableRows(): Array<{ action: string; commands: ConfigCommand[] }> {
    const start = readme.indexOf("| action | command |");
    assert.ok(start >= 0, "the README has the runbook table");
    const lines = readme.slice(start).split("\n");
    const rows = lines.slice(
        2,
        lines.findIndex((line, i) => i > 1 && !line.startsWith("|")),
    );
    return rows.map((line) => {
        const [, action, command] = line.split("|").map((cell) => cell.trim());
        const commands = [...command.matchAll(/`(pulumi config [^`]+)`/g)]
            .map((m) => parseCommand(m[1]))
            .filter((c): c is ConfigCommand => c !== undefined);
        return { action, commands };
    });
}

describe("the README's commands", () => {
    const rows = tableRows();

    it("the table has a row for every runbook action, Render's maintenance page first", () => {
        assert.match(rows[0].action, /Outage/);
        for (const action of [
            "No signups",
            "Block media",
            "Rate limit",
            "Lift it",
            "Block IPs",
            "Roll back",
            "Unpin",
        ]) {
            assert.ok(
                rows.some((row) => row.action.startsWith(action)),
                `no row for ${action}`,
            );
        }
    });

    for (const row of tableRows().filter((r) => r.commands.length > 0)) {
        it(`"${row.action}": ${row.commands.map((c) => c.text).join("; ")} parses against Pulumi.prod.yaml`, () => {
            // The footnote's one-time set-up goes first, as the table says it must.
            const prerequisites = row.action.includes("(1)")
                ? [parseCommand("pulumi config set mediaProbePath /media/uploads/probe.jpg")!]
                : [];
            const config = parseStackConfig(apply([...prerequisites, ...row.commands]));
            for (const command of row.commands) {
                const parsed = (config as Record<string, unknown>)[command.key];
                if (command.value === undefined) {
                    assert.ok(parsed === undefined || parsed === false, `${command.key} is back to its default`);
                } else {
                    assert.notEqual(parsed, undefined, `${command.key} took a value`);
                }
            }
        });
    }

    it("the incident's four commands, with a channel set, open an incident that parses", () => {
        const block = readme.slice(readme.indexOf("pulumi config set incidentSeverity 1"));
        const commands = block
            .split("\n")
            .slice(0, 4)
            .map((line) => parseCommand(line.trim()))
            .filter((c): c is ConfigCommand => c !== undefined);
        assert.equal(commands.length, 4);
        const values = apply(commands);
        const config = parseStackConfig(
            { ...values, slackWebhookUrl: "https://hooks.slack.com/services/T/B/x" },
            new Set(["slackWebhookUrl"]),
        );
        assert.equal(config.incidentSeverity, 1);
        assert.equal(config.incidentTitle, "Signup abuse");
        assert.equal(config.incidentOnCall, "primary");
    });

    it("`pulumi config set BLOCK_DIRECT_MEDIA true` alone fails, naming the command the footnote gives", () => {
        assert.throws(
            () => parseStackConfig(apply([parseCommand("pulumi config set BLOCK_DIRECT_MEDIA true")!])),
            /mediaProbePath: .*`pulumi config set mediaProbePath \/media\/<an existing upload>`/,
        );
        assert.match(
            readme,
            /\(1\) Once, in peacetime: `pulumi config set mediaProbePath \/media\/<an existing upload>`/,
        );
    });

    it("no line is wider than a terminal of 110 columns", () => {
        const wide = readme.split("\n").filter((line) => line.length > 110);
        assert.deepEqual(wide, []);
    });

    it("every npm script the README names exists", () => {
        const scripts = (require(path.join(root, "package.json")) as { scripts: Record<string, string> }).scripts;
        for (const [, name] of readme.matchAll(/npm run (?:--silent )?([a-z-]+)/g)) {
            assert.ok(scripts[name], `the README names npm run ${name}, which package.json does not have`);
        }
    });
});
