// `npm run report` through the real Pulumi CLI: an incident opened, a switch flipped, a release pinned, the status set
// to mitigating, the incident resolved, each with `pulumi up` (verification on); then the review's draft lists each
// step in order with its time, config change, deploy and checks, its durations add up, its deadlines are the
// runbook's, and no secret of the stack is anywhere in it. Also: a stack with no incident, an unknown incident, and a
// stack the backend does not have.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { formatUtc, postIncidentDeadlines, responseDeadline } from "../../lib/comms/templates";
import { formatSpan } from "../../lib/report/markdown";
import { type Action, Rehearsal } from "../../scripts/rehearsal/rehearsal";
import { openIncident, reportFile, runReport } from "../../scripts/rehearsal/reportDrills";
import { waitFor } from "../support/wait";
import { convergedRehearsal, toolchainOrSkip } from "./support";

/** A header field's value: `| Opened | 2026-12-06 08:14:07 UTC (the alert) |` -> `2026-12-06 08:14:07 UTC (the alert)`. */
function field(text: string, name: string): string {
    const m = new RegExp(`^\\| ${name} \\| (.*) \\|$`, "m").exec(text);
    assert.ok(m, `the header has ${name}`);
    return m[1];
}

/** `2026-12-06 08:14:07 UTC` at the start of a field, as a time. */
function timeOf(value: string): Date {
    const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC/.exec(value);
    assert.ok(m, `a time in ${JSON.stringify(value)}`);
    return new Date(`${m[1]}T${m[2]}Z`);
}

describe("e2e: the post-incident report through the Pulumi CLI (stack e2e-report)", function () {
    // Per step: one `pulumi up` with its checks (a 10 s watch), or one report; generous for a loaded machine.
    this.timeout(150_000);
    let rehearsal: Rehearsal | undefined;
    const ids: Record<string, string> = {};

    before(async function () {
        this.timeout(240_000);
        toolchainOrSkip(this);
        rehearsal = await convergedRehearsal({
            stack: `e2e-report-${process.pid}`,
            verify: true,
            stepMs: 100,
            postgres: true,
            redis: true,
        });
    });

    after(async () => {
        await rehearsal?.close();
    });

    const act = async (name: string, body: (a: Action) => Promise<void>) => {
        const record = await rehearsal!.action(name, body);
        assert.ok(!Rehearsal.failed(record), `${name}: ${record.error ?? JSON.stringify(record.checks)}`);
    };

    it("before any incident, says the stack has none and exits 0", async () => {
        const run = await runReport(rehearsal!, [rehearsal!.options.stack]);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /has no incident on record/);
    });

    it("a stack the backend does not have names the commands that fix it, and exits 1", async () => {
        const run = await runReport(rehearsal!, ["no-such-stack"]);
        assert.equal(run.code, 1);
        assert.match(run.stderr, /no stack named 'no-such-stack' found/);
        assert.match(run.stderr, /pulumi stack ls.*pulumi stack select/);
    });

    // The incident as an on-call engineer types it, one `pulumi up` per step.
    it("opens the incident: the alert", async () => {
        await act(openIncident.name, (a) => openIncident.run(a));
    });

    it("flips a switch: DISABLE_SIGNUP true; its preview shows the Timeline's change in one line", async () => {
        await act("flip: DISABLE_SIGNUP true", async (a) => {
            await a.configSet("DISABLE_SIGNUP", "true");
            const preview = await a.pulumi(["preview", "--diff"]);
            const facts = preview.output.split("\n").filter((l) => /^\s+[~+-] facts\s*:/.test(l));
            a.check(
                "the Timeline's facts: one line, old => [unknown]",
                facts.length === 1 && /~ facts: "deploy dep-\w+ live .*" => \[unknown\]$/.test(facts[0]),
                facts.join("\n"),
            );
            a.check("nothing decoded", !preview.output.includes("(json)"), "a (json) value in the preview");
            await a.pulumi(["up", "--yes"]);
            ids.flip = rehearsal!.emulator.liveDeploy()!.id;
        });
    });

    it("pins the release to the last good deploy after a bad commit went live", async () => {
        const emulator = rehearsal!.emulator;
        await act("pin: releasePin to the last good deploy", async (a) => {
            const bad = emulator.pushCommit({ bad: true, message: "a bad commit" });
            await waitFor("the bad commit live", () => emulator.liveDeploy()?.commit.id === bad, {
                timeoutMs: 30_000,
                pollMs: 50,
            });
            await a.configSet("releasePin", ids.flip);
            await a.pulumi(["up", "--yes"]);
            ids.pin = emulator.liveDeploy()!.id;
            a.check("a rollback", emulator.deploys().find((d) => d.id === ids.pin)?.trigger === "rollback", ids.pin);
        });
    });

    it("sets the status to mitigating: an update", async () => {
        await act("mitigating", async (a) => {
            await a.configSet("incidentStatus", "mitigating");
            await a.pulumi(["up", "--yes"]);
        });
    });

    it("resolves the incident: the resolution", async () => {
        await act("resolve", async (a) => {
            await a.configSet("incidentStatus", "resolved");
            await a.pulumi(["up", "--yes"]);
        });
    });

    describe("the draft `npm run report -- <stack> --out FILE` writes", () => {
        let text = "";

        before(async () => {
            const file = reportFile(rehearsal!);
            const run = await runReport(rehearsal!, [rehearsal!.options.stack, "--out", file]);
            assert.equal(run.code, 0, run.stderr);
            assert.match(run.stdout, /the review's draft for "Signup abuse" \(\d+ rows\) written to /);
            text = fs.readFileSync(file, "utf8");
        });

        it("lists each step in order with its time: the ups, each followed by the message it sent", () => {
            const rows = text.split("\n").filter((l) => /^- \*\*\d\d:\d\d:\d\d\*\* /.test(l));
            const what = rows.map((row) => {
                if (row.includes("message, the alert")) return "alert";
                if (row.includes("message, update 1")) return "update";
                if (row.includes("message, resolution 1")) return "resolution";
                // The row's own lines, up to the next row: a message line (the commit's title, on a clean tree) may
                // come before its config line.
                const lines = text.split("\n");
                const i = lines.indexOf(row);
                const next = lines.findIndex((l, j) => j > i && /^- \*\*/.test(l));
                const config = lines
                    .slice(i + 1, next < 0 ? undefined : next)
                    .filter((l) => l.startsWith("  - config: "))
                    .join("\n");
                if (config.includes("incidentSeverity 0 => 2")) return "open";
                if (config.includes("DISABLE_SIGNUP false => true")) return "flip";
                if (config.includes("releasePin (unset) =>")) return "pin";
                if (config.includes("incidentStatus investigating => mitigating")) return "mitigating";
                if (config.includes("incidentStatus mitigating => resolved")) return "resolve";
                return `other: ${row}`;
            });
            assert.deepEqual(what, ["open", "alert", "flip", "pin", "mitigating", "update", "resolve", "resolution"]);
            const times = rows.map((r) => /\*\*(\d\d:\d\d:\d\d)\*\*/.exec(r)![1]);
            assert.deepEqual(times, [...times].sort(), "in time order");
        });

        it("each `up` shows its config change, the deploy Render ran (build or no build) and what the checks saw", () => {
            const block = (id: string) => {
                const at = text.indexOf(`deploy \`${id}\``);
                assert.ok(at >= 0, `the report names deploy ${id}`);
                return text.slice(at, text.indexOf("\n- **", at));
            };
            assert.match(block(ids.flip), /no build: reuses the live build/);
            assert.match(block(ids.flip), /signup disabled: POST \/api\/auth\/register answered 503/);
            assert.match(block(ids.flip), /settle: GET \/healthz for 3 s: \d+ requests, 0 errors/);
            assert.match(block(ids.pin), /rolling back to dep-\w+, reusing its build/);
            assert.match(block(ids.pin), /healthz: GET \/healthz answered 200/);
            assert.match(text, /`slackWebhookUrl set \[secret\]`/);
        });

        it("the durations add up and the deadlines are the runbook's", () => {
            const opened = timeOf(field(text, "Opened"));
            const mitigated = timeOf(field(text, "Mitigated"));
            const resolved = timeOf(field(text, "Resolved"));
            assert.ok(opened <= mitigated && mitigated <= resolved);
            assert.equal(field(text, "Time to mitigate"), formatSpan(mitigated.getTime() - opened.getTime()));
            assert.equal(field(text, "Mitigated to resolved"), formatSpan(resolved.getTime() - mitigated.getTime()));
            assert.ok(
                field(text, "Duration").startsWith(formatSpan(resolved.getTime() - opened.getTime())),
                field(text, "Duration"),
            );
            // The deadlines in the runbook's minutes: the response from the alert (Severity 2: 30 min), the rest from
            // the resolution. Computed here from the times the report shows (whole seconds) and the resolution's.
            const due = postIncidentDeadlines(resolved);
            assert.ok(
                text.includes(
                    `Response (Severity 2, 30 min, from the alert): by ${formatUtc(responseDeadline(2, opened))}`,
                ),
            );
            assert.ok(text.includes(`Post-incident review meeting (within 24 hours): by ${formatUtc(due.review)}`));
            assert.ok(
                text.includes(`Root cause analysis document (within 48 hours): by ${formatUtc(due.rootCauseDocument)}`),
            );
            assert.ok(
                text.includes(`Action items and prevention measures (within 1 week): by ${formatUtc(due.actionItems)}`),
            );
            assert.ok(
                text.includes(
                    `Process improvements implementation (within 2 weeks): by ${formatUtc(due.processImprovements)}`,
                ),
            );
        });

        it("holds no secret of the stack: webhook, API key, database and Redis passwords, SECRET_KEY, DATABASE_URL", () => {
            const r = rehearsal!;
            const env = r.emulator.liveEnv();
            assert.ok(env.SECRET_KEY && env.DATABASE_URL, "the stack manages both");
            assert.ok(r.secrets.has(env.SECRET_KEY) && r.secrets.has(r.services.slack.webhookUrl));
            assert.deepEqual(r.leakedIn(text), [], `secrets in the report (${r.secrets.size} looked for)`);
        });

        it("an unknown incident names the one the stack knows, and exits 1", async () => {
            const run = await runReport(rehearsal!, [rehearsal!.options.stack, "--incident", "ahoy-ops-nope"]);
            assert.equal(run.code, 1);
            // The incident's dedup_key: the project, the stack and when it opened.
            const key = /`(ahoy-ops\/[^`]+)`/.exec(field(text, "Stack, incident"))![1];
            assert.ok(run.stderr.includes(key), run.stderr);
            assert.match(run.stderr, /Signup abuse, opened .*, resolved/);
        });
    });
});
