// The post-incident report's timeline builder over `pulumi stack history --json` and `pulumi stack export` captured
// from the real CLI (test/report/fixtures/, written by scripts/report-fixtures.ts): an incident with a failed `up`,
// a killed `up`, a release pin; a stack whose config keys were renamed between updates.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { compose, type DeclaredIncident, planUp } from "../lib/comms/ledger";
import { postIncidentDeadlines, responseDeadline } from "../lib/comms/templates";
import { buildReport, type IncidentReport, type MessageRow, type ReportResult, type UpRow } from "../lib/report/build";
import { configChanges, formatChange, parseHistory, type UpdateRecord, whoRan } from "../lib/report/history";
import { clock, formatSpan, reportMarkdown } from "../lib/report/markdown";
import { advice, readStack, type RunPulumi, StackReadError } from "../lib/report/read";
import { parseExport, type StateFacts } from "../lib/report/state";
import { parseWatchTags, type WatchRecord, watchTagName, watchTagValue } from "../lib/report/watchTags";
import { parseArgs } from "../scripts/report";

const FIXTURES = path.join(__dirname, "report", "fixtures");
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), "utf8");
const history = (name: string) => parseHistory([fixture(`${name}.history.json`)]);
const state = (name: string) => parseExport(fixture(`${name}.state.json`));

function report(
    name: string,
    opts: {
        incident?: string;
        now?: Date;
        history?: UpdateRecord[];
        state?: StateFacts;
        watches?: ReadonlyMap<string, WatchRecord>;
    } = {},
): IncidentReport {
    const result = buildReport({
        stack: "rehearsal",
        project: "ahoy-ops",
        history: opts.history ?? history(name),
        state: opts.state ?? state(name),
        ...(opts.watches && { watches: opts.watches }),
        incident: opts.incident ?? "last",
        now: opts.now ?? new Date("2030-01-01T00:00:00Z"),
    });
    assert.equal(result.kind, "report", JSON.stringify(result));
    return (result as Extract<ReportResult, { kind: "report" }>).report;
}

const ups = (r: IncidentReport) => r.rows.filter((row): row is UpRow => row.kind === "up");
const messages = (r: IncidentReport) => r.rows.filter((row): row is MessageRow => row.kind === "message");
const changed = (row: UpRow) => row.config.map(formatChange);
/** The `up` whose config change mentions `key`. */
const upChanging = (r: IncidentReport, key: string) => {
    const found = ups(r).filter((row) => row.config.some((c) => (c.kind === "renamed" ? c.to : c.key) === key));
    assert.equal(
        found.length,
        1,
        `one up changes ${key}: ${ups(r)
            .map((u) => changed(u).join(","))
            .join(" | ")}`,
    );
    return found[0];
};

describe("post-incident report: the timeline from the stack's history and state", () => {
    describe("an incident through the real CLI: opened, a switch, a failed up, a pin, mitigating, a killed up, resolved", () => {
        const r = report("incident");
        const seconds = (ms: number) => Math.floor(ms / 1000);

        it("lists each `up` and each message in time order, from the `up` that opened the incident to the resolution", () => {
            const times = r.rows.map((row) => row.at.getTime());
            assert.deepEqual(
                times,
                [...times].sort((a, b) => a - b),
                "rows in time order",
            );
            assert.deepEqual(
                messages(r).map((m) => m.name),
                ["the alert", "update 1", "resolution 1"],
            );
            const opening = ups(r)[0];
            assert.ok(changed(opening).includes("incidentSeverity 0 => 2"), changed(opening).join("; "));
            assert.ok(opening.at <= r.openedAt && r.openedAt <= opening.end!, "the first up is the one that opened it");
            assert.equal(r.rows[r.rows.length - 1].kind, "message", "the resolution ends it");
            assert.equal(r.open, false);
        });

        it("each `up` row says who ran it, what config it applied (secrets as [secret]) and what resources changed", () => {
            const opening = ups(r)[0];
            assert.ok(changed(opening).includes("slackWebhookUrl set [secret]"), changed(opening).join("; "));
            assert.ok(changed(opening).includes(`incidentTitle (unset) => "Signup abuse"`));
            assert.match(opening.who, /\(git author of [0-9a-f]{7}/);
            assert.match(upChanging(r, "DISABLE_SIGNUP").resources, /updated/);
            const statuses = ups(r).filter((u) =>
                u.config.some((c) => c.kind === "changed" && c.key === "incidentStatus"),
            );
            assert.deepEqual(statuses.map(changed), [
                ["incidentStatus investigating => mitigating"],
                ["incidentStatus mitigating => resolved"],
            ]);
        });

        it("the switch's `up` shows the deploy Render ran (build or no build) and the checks it passed", () => {
            const flip = upChanging(r, "DISABLE_SIGNUP");
            assert.deepEqual(changed(flip), ["DISABLE_SIGNUP false => true"]);
            assert.match(flip.deploy?.id ?? "", /^dep-/);
            assert.match(flip.deploy?.decided ?? flip.deploy?.plan ?? "", /no build/);
            assert.ok(flip.deploy!.liveAt >= flip.at.toISOString(), "the deploy went live during that up");
            assert.ok(
                flip.checks?.results.some((line) =>
                    line.startsWith("signup disabled: POST /api/auth/register answered 503"),
                ),
            );
        });

        it("the watch after an `up`, as `npm run watch` kept it with the stack, shows under that `up`'s deploy", () => {
            const flip = upChanging(r, "DISABLE_SIGNUP");
            const deployId = flip.deploy!.id;
            const endedAt = new Date(Math.ceil(Date.parse(flip.deploy!.liveAt) / 1000) * 1000 + 300_000); // whole seconds
            const text = `watch of DISABLE_SIGNUP (deploy ${deployId}): clean: nothing crossed in its 300 s window`;
            const tags = { [watchTagName(deployId)]: watchTagValue(endedAt, text, [], []) };
            const watched = report("incident", { watches: parseWatchTags(JSON.stringify(tags)) });
            const row = upChanging(watched, "DISABLE_SIGNUP");
            assert.deepEqual(row.watch, { deployId, endedAt, text });
            const lines = reportMarkdown(watched).split("\n");
            const at = lines.findIndex((l) => l.includes(`\`${deployId}\``));
            const below = lines.slice(at, at + 12).find((l) => l.startsWith("  - the watch"));
            assert.equal(below, `  - the watch (\`npm run watch\`, ended ${clock(endedAt)}): ${text}`);
            assert.equal(ups(r).filter((u) => u.watch).length, 0, "no tags, no watch line");
        });

        it("the pin's `up` shows the pinned deploy and how it ran", () => {
            const pin = upChanging(r, "releasePin");
            assert.equal(pin.result, "succeeded");
            assert.equal(pin.deploy?.releasePin, changed(pin)[0].split(" => ")[1]);
            assert.ok(pin.checks, "its checks passed");
        });

        it("a failed `up` is a row with its config and its result, and no checks it never passed", () => {
            const failed = upChanging(r, "BLOCKED_IPS");
            assert.equal(failed.result, "failed");
            assert.equal(failed.checks, undefined);
            assert.ok(
                r.notes.some((n) => /1 `up` failed/.test(n)),
                r.notes.join("\n"),
            );
            assert.match(reportMarkdown(r), /`pulumi up` \*\*FAILED\*\* in /);
        });

        it("a killed `up` that left no history record still shows its deploy, at its own time, not under the next `up`", () => {
            const unrecorded = r.rows.filter((row) => row.kind === "unrecorded");
            assert.equal(unrecorded.length, 1, JSON.stringify(unrecorded));
            const killed = unrecorded[0];
            const next = upChanging(r, "RATE_LIMIT_AUTH");
            assert.ok(killed.at < next.at, "before the up that recorded its config");
            assert.equal(next.deploy, undefined, "the next up made no deploy of its own");
            assert.ok(next.checks, "the next up ran the checks the killed one never finished");
        });

        it("the header's times are the ledger's and the checks', and the durations add up", () => {
            const alert = messages(r)[0];
            const resolution = messages(r)[2];
            assert.equal(r.openedAt.getTime(), alert.at.getTime());
            assert.equal(r.resolvedAt?.getTime(), resolution.at.getTime());
            const flip = upChanging(r, "DISABLE_SIGNUP");
            assert.equal(r.mitigated?.at.toISOString(), flip.checks?.verifiedAt, "mitigated: the first verified up");
            const md = reportMarkdown(r);
            const span = (label: string) => {
                const m = new RegExp(`^\\| ${label} \\| ([^|(]+)`, "m").exec(md);
                assert.ok(m, `${label} in the header`);
                return m[1].trim();
            };
            const whole = (a: Date, b: Date) => (seconds(b.getTime()) - seconds(a.getTime())) * 1000;
            assert.equal(span("Time to mitigate"), formatSpan(whole(r.openedAt, r.mitigated!.at)));
            assert.equal(span("Mitigated to resolved"), formatSpan(whole(r.mitigated!.at, r.resolvedAt!)));
            assert.equal(span("Duration"), formatSpan(whole(r.openedAt, r.resolvedAt!)));
            assert.equal(
                whole(r.openedAt, r.mitigated!.at) + whole(r.mitigated!.at, r.resolvedAt!),
                whole(r.openedAt, r.resolvedAt!),
            );
            // Each row's offset is its time less the opening.
            for (const row of r.rows) {
                const line = md.split("\n").find((l) => l.startsWith(`- **${clock(row.at)}** (`));
                assert.ok(line, `a line for ${clock(row.at)}`);
                const sign = row.at < r.openedAt ? "-" : "+";
                const off = Math.abs(seconds(row.at.getTime()) - seconds(r.openedAt.getTime())) * 1000;
                assert.ok(line.includes(`(${sign}${formatSpan(off)})`), line);
            }
        });

        it("the deadlines are the runbook's: the response from the alert by severity, the post-incident process from the resolution", () => {
            const alert = messages(r)[0];
            const due = postIncidentDeadlines(r.resolvedAt!);
            assert.deepEqual(r.deadlines, {
                respondBy: responseDeadline(2, alert.at),
                review: due.review,
                rootCauseDocument: due.rootCauseDocument,
                actionItems: due.actionItems,
                processImprovements: due.processImprovements,
            });
            const md = reportMarkdown(r);
            assert.match(md, /Response \(Severity 2, 30 min, from the alert\)/);
            assert.match(md, /Root cause analysis document \(within 48 hours\)/);
        });

        it("each message row names every channel and what it answered", () => {
            for (const m of messages(r)) {
                assert.deepEqual(m.deliveries.map((d) => `${d.channel} ${d.state}`).sort(), [
                    "Email skipped",
                    "PagerDuty skipped",
                    "Slack delivered",
                ]);
            }
            assert.match(reportMarkdown(r), /channels: .*Slack delivered \(200 ok\)/);
        });

        it("what was not ready at the time becomes candidate action items, with the commands that fix them", () => {
            const actions = r.notReady.map((n) => n.action);
            assert.ok(actions.includes("Restrict Direct Access (BLOCK_DIRECT_MEDIA)"), actions.join(", "));
            const media = r.notReady.find((n) => n.action.startsWith("Restrict"))!;
            assert.ok(media.commands.some((c) => c.startsWith("pulumi config set mediaProbePath")));
        });

        it("the draft has the sections people fill in, each with the runbook's words as the prompt", () => {
            const md = reportMarkdown(r);
            for (const heading of ["Root cause", "What went well", "What went badly", "Action items"]) {
                assert.match(md, new RegExp(`^## ${heading}\\n\\n> .+`, "m"), heading);
            }
            assert.match(md, /Root Cause: \[BRIEF_DESCRIPTION\]/);
            assert.match(md, /Action Items: \[FOLLOW_UP_TASKS\]/);
        });

        it("the history holds no secret value: a secret key has `secret: true` and no value, and shows as [secret]", () => {
            const raw = JSON.parse(fixture("incident.history.json")) as Array<{
                config: Record<string, { secret: boolean; value?: string }>;
            }>;
            const secrets = raw.flatMap((u) => Object.entries(u.config).filter(([, v]) => v.secret));
            assert.ok(secrets.length > 0);
            for (const [key, value] of secrets) assert.equal(value.value, undefined, key);
            assert.ok(secrets.some(([key]) => key === "ahoy-ops:renderApiKey"));
        });
    });

    describe("an incident still open, and an `up` killed during its checks", () => {
        const now = new Date("2030-01-01T00:00:00Z");
        const r = report("killed", { now });

        it("is the report so far: open, no resolution, no post-incident deadlines yet, the duration up to now", () => {
            assert.equal(r.open, true);
            assert.equal(r.resolvedAt, undefined);
            assert.equal(r.deadlines.review, undefined);
            assert.ok(r.deadlines.respondBy);
            const md = reportMarkdown(r);
            assert.match(md, /^# Post-incident review \(so far\): Signup abuse/);
            assert.match(md, /\| Duration so far \| /);
            assert.match(md, /counted from the resolution: not resolved yet/);
        });

        it("names the operation the killed `up` left pending, and shows its deploy from the state", () => {
            assert.ok(
                r.notes.some((n) => /never finished \(updating ahoy-verify\)/.test(n)),
                r.notes.join("\n"),
            );
            const unrecorded = r.rows.filter((row) => row.kind === "unrecorded");
            assert.equal(unrecorded.length, 1);
            assert.equal(unrecorded[0].deploy?.id, state("killed").deploy?.id);
        });
    });

    describe("a Pulumi Cloud update still in progress (killed there: no result, no end)", () => {
        it("is a row saying so, and what the state recorded after it is placed in it", () => {
            const h = history("incident");
            const last = h[h.length - 1];
            const inProgress: UpdateRecord = {
                ...last,
                result: "in-progress",
                end: undefined,
                resourceChanges: undefined,
            };
            const r = report("incident", { history: [...h.slice(0, -1), inProgress] });
            const row = ups(r)[ups(r).length - 1];
            assert.equal(row.result, "in-progress");
            assert.equal(row.resources, "not recorded");
            assert.match(reportMarkdown(r), /in-progress \(no end recorded: killed, or still running\)/);
        });
    });

    describe("config keys renamed between updates (an older program's names, then today's)", () => {
        const h = history("renamed");

        it("a key that went while another came with the same value is a rename; a secret that moved is removed and set", () => {
            assert.equal(h.length, 2);
            const changes = configChanges(h[0].config, h[1].config, "ahoy-ops").map(formatChange);
            assert.deepEqual(changes, [
                "DISABLE_SIGNUP true => false",
                "incidentOncall renamed incidentOnCall (primary)",
                `rateLimitAuth renamed RATE_LIMIT_AUTH ("3 per minute")`,
                "slackWebhook removed (was [secret])",
                "slackWebhookUrl set [secret]",
            ]);
        });

        it("a project renamed: the same key under another namespace is a rename, even a secret", () => {
            const before = new Map([["ahoy:slackWebhookUrl", { secret: true } as const]]);
            const after = new Map([["ahoy-ops:slackWebhookUrl", { secret: true } as const]]);
            assert.deepEqual(configChanges(before, after, "ahoy-ops").map(formatChange), [
                "ahoy:slackWebhookUrl renamed slackWebhookUrl ([secret])",
            ]);
        });

        it("the report's row for that `up` shows the renames", () => {
            // An incident opened during the second update, written by the comms ledger's own functions.
            const at = new Date(h[1].start.getTime() + 500);
            const declared: DeclaredIncident = {
                severity: 3,
                title: "Slow uploads",
                status: "investigating",
                impact: "uploads take a minute",
                onCall: "primary",
            };
            const record = compose(undefined, declared, planUp(undefined, declared), at, "", () => ({
                dedupKey: "ahoy-ops-renamed",
                openedAt: at.toISOString(),
            }));
            const r = report("renamed", { history: h, state: { incident: record, pending: [], encrypted: [] } });
            const up = ups(r)[0];
            assert.ok(changed(up).includes("incidentOncall renamed incidentOnCall (primary)"), changed(up).join("; "));
            assert.ok(
                r.notes.some((n) => /no Timeline yet/.test(n)),
                r.notes.join("\n"),
            );
        });
    });

    describe("choosing the incident", () => {
        it("an unknown incident names the ones the stack knows", () => {
            const result = buildReport({
                stack: "rehearsal",
                project: "ahoy-ops",
                history: history("incident"),
                state: state("incident"),
                incident: "ahoy-ops-nope",
                now: new Date(),
            });
            assert.equal(result.kind, "unknown-incident");
            const known = (result as Extract<ReportResult, { kind: "unknown-incident" }>).known;
            assert.equal(known.length, 1);
            assert.ok(result.kind === "unknown-incident" && result.message.includes(known[0].dedupKey));
            assert.match(result.kind === "unknown-incident" ? result.message : "", /Signup abuse, opened .*, resolved/);
        });

        it("a unique part of a dedup key selects it, and `last` the newest", () => {
            const key = report("incident").dedupKey;
            assert.equal(report("incident", { incident: key.slice(-12) }).dedupKey, key);
            assert.equal(report("incident", { incident: "last" }).dedupKey, key);
        });

        it("a stack with no incident says so, and how one starts", () => {
            const s = state("incident");
            const result = buildReport({
                stack: "calm",
                project: "ahoy-ops",
                history: history("incident").slice(0, 1),
                state: { ...s, incident: undefined, timeline: { entries: s.timeline!.entries, incidents: [] } },
                incident: "last",
                now: new Date(),
            });
            assert.equal(result.kind, "no-incident");
            assert.match(
                result.kind === "no-incident" ? result.message : "",
                /has no incident on record.*incidentSeverity/,
            );
        });
    });

    describe("who ran an update, as the backend records it", () => {
        const table: Array<[Record<string, string>, string]> = [
            [{}, "not recorded"],
            [
                { "git.author": "Ana", "git.head": "296a11969c3163e0f5f22a8baf363efd553929c1", "git.dirty": "true" },
                "Ana (git author of 296a119, uncommitted changes)",
            ],
            [
                {
                    "ci.system": "GitHub Actions",
                    "ci.build.id": "812",
                    "ci.pr.number": "42",
                    "git.author": "Ana",
                    "git.head": "abcdef0123",
                    "git.dirty": "false",
                },
                "GitHub Actions build 812 (PR #42), Ana (git author of abcdef0)",
            ],
        ];
        for (const [environment, expected] of table) {
            it(`${JSON.stringify(environment)} reads "${expected}"`, () => {
                assert.equal(whoRan(environment), expected);
            });
        }
    });

    describe("reading the stack through the CLI", () => {
        it("reads every page of the history, oldest first, then the export, never with --show-secrets", async () => {
            const page = (from: number, n: number) =>
                JSON.stringify(
                    Array.from({ length: n }, (_, i) => ({
                        version: 0,
                        kind: "update",
                        startTime: new Date(Date.UTC(2026, 0, 1, 0, 0, 10_000 - from - i)).toISOString(),
                        message: "",
                        environment: {},
                        config: {},
                        result: "succeeded",
                        endTime: new Date(Date.UTC(2026, 0, 1, 0, 0, 10_000 - from - i)).toISOString(),
                    })),
                );
            const asked: string[][] = [];
            const pulumi: RunPulumi = async (args) => {
                asked.push(args);
                if (args[1] === "export") return { code: 0, stdout: fixture("incident.state.json"), stderr: "" };
                if (args[1] === "tag") return { code: 0, stdout: JSON.stringify(tags), stderr: "" };
                const n = args[args.indexOf("--page") + 1] === "1" ? page(0, 100) : page(100, 3);
                return { code: 0, stdout: n, stderr: "" };
            };
            const tags = {
                "pulumi:project": "ahoy-ops",
                "ahoy-watch.dep-d4a1b2c3e5f6g7h8i9j0":
                    "2026-01-01T00:05:00Z watch of deploy dep-d4a1b2c3e5f6g7h8i9j0: clean",
            };
            const { history: read, watches } = await readStack(pulumi, "prod");
            assert.equal(read.length, 103);
            assert.ok(read[0].start < read[102].start, "oldest first");
            assert.deepEqual(
                asked.map((a) => a.join(" ")),
                [
                    "stack history --json --page-size 100 --page 1 --stack prod",
                    "stack history --json --page-size 100 --page 2 --stack prod",
                    "stack export --stack prod",
                    "stack tag ls --json --stack prod",
                ],
            );
            assert.deepEqual([...watches.keys()], ["dep-d4a1b2c3e5f6g7h8i9j0"], "only the watch tags");
        });

        it("a CLI or backend that keeps no stack tags still gives the report, with no watch in it", async () => {
            const pulumi: RunPulumi = async (args) => {
                if (args[1] === "export") return { code: 0, stdout: fixture("incident.state.json"), stderr: "" };
                if (args[1] === "tag") return { code: 255, stdout: "", stderr: 'error: unknown command "tag"' };
                return { code: 0, stdout: fixture("incident.history.json"), stderr: "" };
            };
            const { history: read, watches } = await readStack(pulumi, "prod");
            assert.ok(read.length > 0);
            assert.equal(watches.size, 0);
        });

        const said: Array<[string, RegExp]> = [
            [
                "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions",
                /run `pulumi login`/,
            ],
            ["error: no stack named 'prod' found", /`pulumi stack ls`.*`pulumi stack select <name>`/],
            [
                "error: no stack selected; please use `pulumi stack select` to choose one",
                /run `pulumi stack select <name>`/,
            ],
        ];
        for (const [stderr, fix] of said) {
            it(`"${stderr}" names the command that fixes it`, async () => {
                assert.match(advice(stderr, "prod") ?? "", fix);
                const failing: RunPulumi = async () => ({ code: 1, stdout: "", stderr });
                await assert.rejects(readStack(failing, "prod"), (err: Error) => {
                    assert.ok(err instanceof StackReadError);
                    assert.match(err.message, fix);
                    assert.ok(err.message.includes(stderr.replace(/^error: /, "")), err.message);
                    return true;
                });
            });
        }

        it("the command's arguments: a stack, --incident, --out; anything else is refused with the usage", () => {
            assert.deepEqual(parseArgs(["prod"]), { stack: "prod", incident: "last" });
            assert.deepEqual(parseArgs(["prod", "--incident", "ahoy-ops-1", "--out", "r.md"]), {
                stack: "prod",
                incident: "ahoy-ops-1",
                out: "r.md",
            });
            assert.deepEqual(parseArgs([]), { stack: undefined, incident: "last" });
            assert.throws(() => parseArgs(["prod", "--incident"]), /--incident needs a value\nusage:/);
            assert.throws(() => parseArgs(["prod", "--since", "x"]), /unknown option "--since"/);
            assert.throws(() => parseArgs(["prod", "staging"]), /one stack at a time/);
        });
    });
});
