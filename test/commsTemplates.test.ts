// The communication templates against the runbook's own text, field by field; the severities, deadlines and UTC form
// against its sections; the Progress line from the stack's facts.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { parse as parseYaml } from "yaml";
import { progressLine, switchesOn, MAX_PROGRESS_LENGTH, withWatch } from "../lib/comms/progress";
import {
    alertText,
    ETA_UNKNOWN,
    formatDuration,
    formatUtc,
    headline,
    INCIDENT_STATUSES,
    postIncidentDeadlines,
    resolutionFields,
    resolutionText,
    responseDeadline,
    responseNote,
    SERVICE_NAME,
    SEVERITY_LEVELS,
    severityText,
    statusText,
    updateText,
    type Severity,
} from "../lib/comms/templates";

const REPO_ROOT = path.resolve(__dirname, "..");
/** The runbook lives in shared/, a sibling of the repo; AHOY_RUNBOOK overrides. */
const RUNBOOK = fs.readFileSync(process.env.AHOY_RUNBOOK ?? path.join(REPO_ROOT, "../shared/runbook.md"), "utf8");

/** The text under a heading, up to the next heading of the same or a higher level. */
function section(heading: string): string {
    const lines = RUNBOOK.split("\n");
    const start = lines.findIndex((line) => line.replace(/^#+\s*/, "") === heading && line.startsWith("#"));
    assert.ok(start >= 0, `the runbook has no heading "${heading}"`);
    const level = lines[start].match(/^#+/)![0].length;
    const end = lines.findIndex((line, i) => i > start && /^#+\s/.test(line) && line.match(/^#+/)![0].length <= level);
    return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}

/** The lines of the fenced block under a heading: a template as the runbook writes it. */
function template(heading: string): string[] {
    const block = /```\n([\s\S]*?)\n```/.exec(section(heading));
    assert.ok(block, `no code block under "${heading}"`);
    return block[1].split("\n");
}

/**
 * Matches `rendered` against the runbook's template line by line: the same number of lines, every literal part
 * (emoji, labels, separators, fixed values) exactly, and each [PLACEHOLDER]'s value returned by name.
 */
function fill(templateLines: string[], rendered: string): Record<string, string> {
    const lines = rendered.split("\n");
    assert.equal(
        lines.length,
        templateLines.length,
        `expected ${templateLines.length} lines like the runbook's:\n${rendered}`,
    );
    const values: Record<string, string> = {};
    templateLines.forEach((pattern, i) => {
        const names: string[] = [];
        const source = pattern
            .split(/(\[[A-Z_/]+\])/)
            .map((part) => {
                if (/^\[[A-Z_/]+\]$/.test(part)) {
                    names.push(part.slice(1, -1));
                    return "(.+?)";
                }
                return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
            })
            .join("");
        const match = new RegExp(`^${source}$`, "u").exec(lines[i]);
        assert.ok(
            match,
            `line ${i + 1} ${JSON.stringify(lines[i])} does not follow the runbook's ${JSON.stringify(pattern)}`,
        );
        names.forEach((name, j) => (values[name] = match[j + 1]));
    });
    return values;
}

const AT = new Date(Date.UTC(2026, 11, 1, 3, 4, 59, 999));
const ON_CALL = "Primary On-Call (primary@ahoy.example, +1-555-0100)";

describe("the communication templates, against the runbook's text", () => {
    it("the alert follows the Initial Alert template field by field: emoji, severity, title, time, service, status, impact, on-call", () => {
        const text = alertText({
            severity: 1,
            title: "Signup abuse",
            at: AT,
            status: "investigating",
            impact: "bots are creating accounts",
            onCall: ON_CALL,
        });
        const values = fill(template("Initial Alert"), text);
        assert.deepEqual(values, {
            SEVERITY: "SEV-1 (Critical)",
            TITLE: "Signup abuse",
            TIMESTAMP: "2026-12-01 03:04 UTC",
            DESCRIPTION: "bots are creating accounts",
            ENGINEER_NAME: ON_CALL,
        });
        assert.ok(text.startsWith("🚨 INCIDENT ALERT - "), "the alert opens with the runbook's emoji and words");
        assert.ok(text.includes(`\nService: ${SERVICE_NAME}\nStatus: Investigating\n`));
    });

    it("the alert's status is the runbook's fixed 'Investigating' unless the incident opens at another status", () => {
        const text = alertText({ severity: 2, title: "t", at: AT, status: "mitigating", impact: "i", onCall: "o" });
        // The runbook's line is the literal "Status: Investigating": another status is the one departure, and shows.
        assert.throws(
            () => fill(template("Initial Alert"), text),
            /does not follow the runbook's "Status: Investigating"/,
        );
        assert.match(text, /^Status: Mitigating$/m);
    });

    for (const status of INCIDENT_STATUSES) {
        it(`an update follows the Status Update template field by field with status ${status}`, () => {
            const text = updateText({
                title: "Signup abuse",
                at: AT,
                status,
                progress: "switches on: DISABLE_SIGNUP; no release pin",
                eta: ETA_UNKNOWN,
            });
            const values = fill(template("Status Update"), text);
            const choices = "INVESTIGATING/MITIGATING/RESOLVED".split("/");
            assert.deepEqual(values, {
                TITLE: "Signup abuse",
                TIMESTAMP: "2026-12-01 03:04 UTC",
                [choices.join("/")]: statusText(status),
                CURRENT_ACTIONS: "switches on: DISABLE_SIGNUP; no release pin",
                ESTIMATED_RESOLUTION: ETA_UNKNOWN,
            });
            assert.ok(choices.includes(values[choices.join("/")].toUpperCase()), "the status is one the runbook lists");
            assert.ok(text.startsWith("📊 INCIDENT UPDATE - "));
        });
    }

    it("the resolution follows the Resolution template field by field: time, duration, root cause, action items", () => {
        const opened = new Date(Date.UTC(2026, 11, 1, 1, 0));
        const resolved = new Date(Date.UTC(2026, 11, 1, 3, 5, 30));
        const text = resolutionText(resolutionFields("Signup abuse", opened, resolved));
        const values = fill(template("Resolution"), text);
        assert.deepEqual(values, {
            TITLE: "Signup abuse",
            TIMESTAMP: "2026-12-01 03:05 UTC",
            DOWNTIME: "2 h 5 min",
            BRIEF_DESCRIPTION: "to be established in the root cause analysis document, due by 2026-12-03 03:05 UTC",
            FOLLOW_UP_TASKS:
                "post-incident review meeting by 2026-12-02 03:05 UTC; action items and prevention measures by " +
                "2026-12-08 03:05 UTC; process improvements by 2026-12-15 03:05 UTC",
        });
        assert.ok(text.startsWith("✅ INCIDENT RESOLVED - "));
    });

    it("every template's first line is its headline (email subject, PagerDuty summary)", () => {
        const text = updateText({ title: "T", at: AT, status: "mitigating", progress: "p", eta: "e" });
        assert.equal(headline(text), "📊 INCIDENT UPDATE - T");
        assert.equal(headline("one line"), "one line");
    });

    it("any one-line title, impact and on-call fill the alert's fields and read back unchanged", () => {
        const oneLine = fc
            .string({ minLength: 1, maxLength: 120, unit: "grapheme" })
            .filter((s) => !/[\p{Cc}\u2028\u2029]/u.test(s) && s.trim() === s && s !== "");
        fc.assert(
            fc.property(
                oneLine,
                oneLine,
                oneLine,
                fc.constantFrom<Severity>(1, 2, 3),
                (title, impact, onCall, severity) => {
                    const values = fill(
                        template("Initial Alert"),
                        alertText({ severity, title, at: AT, status: "investigating", impact, onCall }),
                    );
                    // The title shares its line with the severity: the severity's text cannot swallow part of it.
                    return (
                        values.SEVERITY === severityText(severity) &&
                        values.TITLE === title &&
                        values.DESCRIPTION === impact &&
                        values.ENGINEER_NAME === onCall
                    );
                },
            ),
        );
    });
});

describe("severities and deadlines, against the runbook's sections", () => {
    it("has the runbook's three severity levels, names and response times", () => {
        const headings = [...RUNBOOK.matchAll(/^### Severity (\d) \((\w+)\) - (\d+) (min|hour) response$/gm)];
        assert.equal(headings.length, 3, "the runbook lists three severity levels");
        for (const [, level, name, amount, unit] of headings) {
            const ours = SEVERITY_LEVELS[Number(level) as Severity];
            assert.equal(ours.name, name, `Severity ${level}'s name`);
            assert.equal(ours.responsePhrase, `${amount} ${unit}`, `Severity ${level}'s response`);
            assert.equal(
                ours.responseMinutes,
                Number(amount) * (unit === "hour" ? 60 : 1),
                `Severity ${level} in minutes`,
            );
        }
    });

    it("maps the severities to PagerDuty's critical, error and warning", () => {
        assert.deepEqual(
            ([1, 2, 3] as const).map((s) => SEVERITY_LEVELS[s].pagerDuty),
            ["critical", "error", "warning"],
        );
    });

    it("sets the response deadline from the alert: 5 minutes, 30 minutes, 4 hours", () => {
        const alerted = new Date(Date.UTC(2026, 11, 1, 3, 4));
        assert.equal(responseDeadline(1, alerted).toISOString(), "2026-12-01T03:09:00.000Z");
        assert.equal(responseDeadline(2, alerted).toISOString(), "2026-12-01T03:34:00.000Z");
        assert.equal(responseDeadline(3, alerted).toISOString(), "2026-12-01T07:04:00.000Z");
        assert.equal(
            responseNote(1, alerted),
            "Respond by 2026-12-01 03:09 UTC: Severity 1 (Critical) needs a response within 5 minutes.",
        );
        assert.match(
            responseNote(3, alerted),
            /by 2026-12-01 07:04 UTC: Severity 3 \(Medium\) needs a response within 4 hours\.$/,
        );
    });

    it("sets the post-incident deadlines the runbook's process lists, from the resolution", () => {
        const steps = [...section("Post-Incident Process").matchAll(/\*\*Within (\d+) (hours|week|weeks):\*\*/g)];
        const hours = steps.map(([, n, unit]) => Number(n) * (unit === "hours" ? 1 : 24 * 7));
        assert.deepEqual(hours, [24, 48, 168, 336], "the runbook's steps 2 to 5");
        const resolved = new Date(Date.UTC(2026, 11, 1, 3, 5));
        const due = postIncidentDeadlines(resolved);
        const after = (d: Date) => (d.getTime() - resolved.getTime()) / 3_600_000;
        assert.deepEqual(
            [due.review, due.rootCauseDocument, due.actionItems, due.processImprovements].map(after),
            hours,
        );
    });

    it("writes every timestamp as YYYY-MM-DD HH:MM UTC, the moment rounded down to its minute", () => {
        fc.assert(
            fc.property(
                fc.date({
                    min: new Date(Date.UTC(2000, 0, 1)),
                    max: new Date(Date.UTC(2199, 11, 31)),
                    noInvalidDate: true,
                }),
                (at) => {
                    const text = formatUtc(at);
                    const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}) UTC$/.exec(text);
                    if (!m) return false;
                    const back = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
                    return back === at.getTime() - (at.getTime() % 60_000);
                },
            ),
        );
    });

    it("writes a duration as days, hours and minutes, rounded down, never overstated", () => {
        assert.equal(formatDuration(0), "less than 1 min");
        assert.equal(formatDuration(59_999), "less than 1 min");
        assert.equal(formatDuration(45 * 60_000), "45 min");
        assert.equal(formatDuration(2 * 3_600_000 + 5 * 60_000 + 59_000), "2 h 5 min");
        assert.equal(formatDuration(26 * 3_600_000), "1 d 2 h");
        assert.equal(formatDuration(24 * 3_600_000 + 3 * 60_000), "1 d 3 min");
        fc.assert(
            fc.property(fc.integer({ min: 60_000, max: 400 * 24 * 3_600_000 }), (ms) => {
                const m = /^(?:(\d+) d)? ?(?:(\d+) h)? ?(?:(\d+) min)?$/.exec(formatDuration(ms));
                if (!m) return false;
                const minutes = Number(m[1] ?? 0) * 1440 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
                return minutes === Math.floor(ms / 60_000) && Number(m[2] ?? 0) < 24 && Number(m[3] ?? 0) < 60;
            }),
        );
    });
});

describe("the runbook's contacts and alert channels, in Pulumi.prod.yaml", () => {
    const stack = parseYaml(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.prod.yaml"), "utf8")) as {
        config: Record<string, unknown>;
    };

    it("holds the runbook's four Emergency Contacts, each with the runbook's email and phone", () => {
        const listed = [...section("Emergency Contacts").matchAll(/^- \*\*(.+?):\*\* (\S+@\S+) \((\+[\d-]+)\)$/gm)];
        assert.equal(listed.length, 4);
        const contacts = stack.config["ahoy-ops:contacts"] as Record<
            string,
            { name: string; email: string; phone: string }
        >;
        assert.deepEqual(
            Object.values(contacts).map((c) => [c.name, c.email, c.phone]),
            listed.map(([, name, email, phone]) => [name, email, phone]),
        );
        assert.deepEqual(Object.keys(contacts), ["primary", "secondary", "manager", "cto"]);
    });

    it("emails the runbook's alert address", () => {
        const email = /\*\*Email:\*\* (\S+@\S+)/.exec(section("Alert Channels"));
        assert.ok(email);
        assert.equal(stack.config["ahoy-ops:alertEmail"], email[1]);
        assert.match(section("Alert Channels"), /\*\*Slack:\*\* #incidents channel/);
        assert.match(section("Alert Channels"), /\*\*SMS:\*\* Via PagerDuty integration/);
    });
});

describe("the Progress line", () => {
    const facts = {
        switches: {
            DISABLE_SIGNUP: "true",
            MAINTENANCE_MODE: "false",
            ENABLE_SIGNED_URLS: "true",
            BLOCK_DIRECT_MEDIA: "false",
            SIGNED_URL_EXPIRY: "900",
            RATE_LIMIT_DEFAULT: undefined,
            RATE_LIMIT_AUTH: "3 per minute",
            BLOCKED_IPS: "10.0.0.1,192.168.1.0/24",
        },
        releasePin: "v0.1.0",
        rotations: { SECRET_KEY: 2, "database credentials": 1 },
        lastVerification: {
            results: [
                "healthz: GET /healthz answered 200 in 41 ms (the app is up)",
                "settle: GET /healthz for 3 s: 3 requests, 0 errors (0.0%), slowest 63 ms",
            ],
            verifiedAt: "2026-12-01T03:10:12.000Z",
        },
    };
    const watch = {
        endedAt: new Date("2026-12-01T03:15:14.000Z"),
        text:
            "watch of DISABLE_SIGNUP (deploy dep-d4a1b2c3e5f6g7h8i9j0): clean: nothing crossed in its 300 s " +
            "window (health: 1 ok; events: 1 ok; logs: 3 ok; metrics: 3 ok, 2 not applicable)",
    };

    it("names the switches on, the release pin, the rotations, the last verification's figures and its watch's verdict", () => {
        assert.equal(
            withWatch(progressLine(facts), watch),
            "switches on: DISABLE_SIGNUP, ENABLE_SIGNED_URLS (SIGNED_URL_EXPIRY=900), RATE_LIMIT_AUTH=3 per minute, " +
                "BLOCKED_IPS=10.0.0.1,192.168.1.0/24; release pinned to v0.1.0; " +
                "rotations: SECRET_KEY generation 2, database credentials generation 1; " +
                "last verification (2026-12-01 03:10 UTC): healthz: GET /healthz answered 200 in 41 ms (the app is up); " +
                "settle: GET /healthz for 3 s: 3 requests, 0 errors (0.0%), slowest 63 ms; " +
                "watch of DISABLE_SIGNUP (deploy dep-d4a1b2c3e5f6g7h8i9j0): clean: nothing crossed in its 300 s " +
                "window (health: 1 ok; events: 1 ok; logs: 3 ok; metrics: 3 ok, 2 not applicable) " +
                "(the watch ended 2026-12-01 03:15 UTC)",
        );
    });

    it("a watch kept without a verification (an up whose checks were off) still shows", () => {
        const line = withWatch(progressLine({ ...facts, lastVerification: { results: [] } }), watch);
        assert.match(
            line,
            /; no verification yet; watch of DISABLE_SIGNUP .* \(the watch ended 2026-12-01 03:15 UTC\)$/,
        );
    });

    it("says so when nothing is on, nothing is pinned and nothing was verified", () => {
        assert.equal(
            progressLine({ switches: { DISABLE_SIGNUP: "false", SIGNED_URL_EXPIRY: "3600" }, rotations: {} }),
            "no switches on; no release pin; no verification yet",
        );
    });

    it("never shows a setting that only qualifies a switch while that switch is off", () => {
        assert.deepEqual(switchesOn({ ENABLE_SIGNED_URLS: "false", SIGNED_URL_EXPIRY: "3600" }), []);
    });

    it("stays within Slack's section limit however many addresses are blocked", () => {
        fc.assert(
            fc.property(fc.array(fc.ipV4(), { maxLength: 400 }), (ips) => {
                const line = progressLine({ ...facts, switches: { BLOCKED_IPS: ips.join(",") || undefined } });
                return line.length <= MAX_PROGRESS_LENGTH && (ips.length === 0 || line.includes(ips[0]));
            }),
        );
    });
});
