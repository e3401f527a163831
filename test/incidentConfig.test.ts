// The incident keys and the channels' settings: good and bad values, the rules between them, secrets never quoted.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { StackConfigError, parseStackConfig } from "../stacks/config";
import { unconfigured } from "../lib/comms/delivery";

const REQUIRED = { serviceUrl: "https://ahoy-indie-media.onrender.com" };
const CONTACTS = JSON.stringify({
    primary: { name: "Primary On-Call", email: "primary@ahoy.example", phone: "+1-555-0100" },
    secondary: { email: "secondary@ahoy.example", phone: "+1-555-0101" },
});
const WEBHOOK = "https://hooks.slack.com/services/T0001/B0001/sekritWebhookToken1";
const ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF";
const SMTP_URL = "smtps://mailer:sm%40tp-pa55@smtp.ahoy.example:465";
const SECRETS = new Set(["slackWebhookUrl", "pagerDutyRoutingKey", "smtpUrl"]);
/** An incident as the on-call engineer opens it, with Slack configured. */
const OPEN = {
    contacts: CONTACTS,
    slackWebhookUrl: WEBHOOK,
    incidentSeverity: "1",
    incidentTitle: "Signup abuse",
    incidentImpact: "bots are creating accounts",
    incidentOnCall: "primary",
};

const parse = (values: Record<string, string | undefined>, secrets: Set<string> = SECRETS) =>
    parseStackConfig({ ...REQUIRED, ...values }, secrets);

function problemsOf(values: Record<string, string | undefined>, secrets: Set<string> = SECRETS): string {
    try {
        parse(values, secrets);
    } catch (err) {
        assert.ok(err instanceof StackConfigError, `expected a StackConfigError, got ${err}`);
        return err.message;
    }
    assert.fail(`expected ${JSON.stringify(values)} to be rejected`);
}

describe("incident settings", () => {
    it("reads an incident opened with the four `pulumi config set`s, status investigating by default", () => {
        const config = parse(OPEN);
        assert.equal(config.incidentSeverity, 1);
        assert.equal(config.incidentTitle, "Signup abuse");
        assert.equal(config.incidentImpact, "bots are creating accounts");
        assert.equal(config.incidentOnCall, "primary");
        assert.equal(config.incidentStatus, "investigating");
        assert.deepEqual(config.contacts, {
            primary: { name: "Primary On-Call", email: "primary@ahoy.example", phone: "+1-555-0100" },
            secondary: { email: "secondary@ahoy.example", phone: "+1-555-0101" },
        });
        assert.equal(config.slackWebhookUrl, WEBHOOK);
    });

    it("has no incident when no incident key is set, and needs no channel then", () => {
        const config = parse({});
        assert.equal(config.incidentSeverity, undefined);
        assert.equal(config.incidentTitle, undefined);
        assert.deepEqual(config.contacts, {});
    });

    it("takes severity 0, Pulumi.yaml's default, as no incident, the same as removing the key", () => {
        assert.equal(parse({ incidentSeverity: "0" }).incidentSeverity, undefined);
        assert.deepEqual(parse({ incidentSeverity: "0" }), parse({}));
    });

    it("Pulumi.yaml gives every key a default: the CLI refuses a stack that lacks a key declared without one", () => {
        const project = parseYaml(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8")) as {
            config: Record<string, { default?: unknown }>;
        };
        const without = Object.entries(project.config).filter(([, declared]) => declared.default === undefined);
        assert.deepEqual(
            without.map(([key]) => key),
            [],
        );
    });

    const good: Array<[string, string, unknown]> = [
        ["incidentSeverity", "2", 2],
        ["incidentSeverity", "3", 3],
        ["incidentStatus", "mitigating", "mitigating"],
        ["incidentStatus", "resolved", "resolved"],
        ["incidentTitle", "  Media hotlinking  ", "Media hotlinking"],
        ["incidentImpact", "uploads answer 500 for ~10% of users <img>", "uploads answer 500 for ~10% of users <img>"],
        ["pagerDutyRoutingKey", ROUTING_KEY, ROUTING_KEY],
        ["smtpUrl", SMTP_URL, SMTP_URL],
        ["smtpUrl", "smtp://127.0.0.1:2525", "smtp://127.0.0.1:2525"],
        ["alertEmail", "oncall@ahoy.example", "oncall@ahoy.example"],
    ];
    for (const [key, raw, want] of good) {
        it(`accepts ${key}=${JSON.stringify(raw)} as ${JSON.stringify(want)}`, () => {
            const config = parse({
                ...OPEN,
                ...(key === "smtpUrl" && { alertEmail: "oncall@ahoy.example" }),
                [key]: raw,
            });
            assert.deepEqual(config[key as keyof typeof config], want);
        });
    }

    const bad: Array<[string, string, RegExp]> = [
        ["incidentSeverity", "4", /incidentSeverity: got "4": expected 1, 2 or 3 \(the runbook's Severity 1 Critical/],
        ["incidentSeverity", "critical", /incidentSeverity: got "critical": expected 1, 2 or 3/],
        [
            "incidentStatus",
            "closed",
            /incidentStatus: got "closed": expected one of investigating, mitigating, resolved/,
        ],
        ["incidentStatus", "Resolved", /incidentStatus: got "Resolved": expected one of/],
        ["incidentTitle", "Signup\nabuse", /incidentTitle: got "Signup\\nabuse": expected one line of at most 120/],
        ["incidentTitle", "x".repeat(121), /incidentTitle: got "x{121}": expected one line/],
        ["incidentImpact", "   ", /incidentImpact: got " {3}": expected one line of at most 500 characters/],
        [
            "incidentOnCall",
            "ceo",
            /incidentOnCall: got "ceo", which is not one of the contacts; expected one of primary, secondary/,
        ],
        ["contacts", "{primary:", /contacts: got "\{primary:": is not JSON; expected an object of contacts by name/],
        ["contacts", '["primary"]', /contacts: got .*: expected an object of contacts by name/],
        [
            "contacts",
            JSON.stringify({ primary: { email: "primary-at-ahoy", phone: "+1-555-0100", pager: "x" } }),
            /primary\.pager is not a contact field \(name, email, phone\); primary\.email "primary-at-ahoy" is not an email address/,
        ],
        [
            "contacts",
            JSON.stringify({ Primary: { email: "p@ahoy.example", phone: "call me" } }),
            /"Primary" is not a contact name .*Primary\.phone "call me" is not a phone number such as \+1-555-0100/,
        ],
        ["alertEmail", "oncall", /alertEmail: got "oncall": expected an email address such as oncall@ahoy.example/],
    ];
    for (const [key, raw, want] of bad) {
        it(`rejects ${key}=${JSON.stringify(raw)}, naming the key, the value and what is expected`, () => {
            assert.match(problemsOf({ ...OPEN, [key]: raw }), want);
        });
    }

    it("wants a title, an impact and an on-call contact once a severity is set, each named with how to set it", () => {
        const message = problemsOf({ contacts: CONTACTS, slackWebhookUrl: WEBHOOK, incidentSeverity: "2" });
        assert.match(message, /3 problems/);
        assert.match(
            message,
            /- incidentTitle: got nothing, but incidentSeverity is 2; expected a one-line title such as `pulumi config set incidentTitle "Signup abuse"`/,
        );
        assert.match(message, /- incidentImpact: got nothing, but incidentSeverity is 2; expected what users see/);
        assert.match(
            message,
            /- incidentOnCall: got nothing, but incidentSeverity is 2; expected one of the contacts \(primary, secondary\), such as `pulumi config set incidentOnCall primary`/,
        );
    });

    it("refuses an incident half opened: a title without a severity", () => {
        assert.match(
            problemsOf({ incidentTitle: "Signup abuse", incidentOnCall: "primary", contacts: CONTACTS }),
            /- incidentSeverity: got nothing, but incidentTitle, incidentOnCall are set; expected 1, 2 or 3 .*`pulumi config set incidentSeverity 1`, or remove incidentTitle, incidentOnCall/,
        );
    });

    it("refuses, at preview, an incident that no channel can carry", () => {
        const withoutSlack = { ...OPEN, slackWebhookUrl: undefined };
        const message = problemsOf({ ...withoutSlack, alertEmail: "oncall@ahoy.example" });
        assert.match(
            message,
            /- incidentSeverity: got 1, but no channel can carry the incident \(slackWebhookUrl is not set; pagerDutyRoutingKey is not set; alertEmail is set but smtpUrl is not\); expected at least one of slackWebhookUrl, pagerDutyRoutingKey, or alertEmail with smtpUrl/,
        );
    });

    it("opens an incident on email alone, and on PagerDuty alone", () => {
        const withoutSlack = { ...OPEN, slackWebhookUrl: undefined };
        assert.equal(
            parse({ ...withoutSlack, alertEmail: "oncall@ahoy.example", smtpUrl: SMTP_URL }).incidentSeverity,
            1,
        );
        assert.equal(parse({ ...withoutSlack, pagerDutyRoutingKey: ROUTING_KEY }).incidentSeverity, 1);
    });

    it("skips email set only by half (alertEmail without smtpUrl) rather than holding the incident up, and says why", () => {
        const config = parse({ ...OPEN, alertEmail: "oncall@ahoy.example" });
        assert.deepEqual(unconfigured(config), {
            slack: undefined,
            pagerDuty: "pagerDutyRoutingKey is not set",
            email: "alertEmail is set but smtpUrl is not",
        });
    });

    it("refuses an smtpUrl with no alertEmail to send to", () => {
        assert.match(
            problemsOf({ smtpUrl: SMTP_URL }),
            /- alertEmail: got nothing, but smtpUrl is set; expected an email address such as oncall@ahoy.example, or remove smtpUrl/,
        );
    });

    it("refuses each channel secret stored in plain text, without printing it", () => {
        const message = problemsOf(
            { ...OPEN, pagerDutyRoutingKey: ROUTING_KEY, alertEmail: "oncall@ahoy.example", smtpUrl: SMTP_URL },
            new Set(),
        );
        assert.match(message, /3 problems/);
        for (const key of ["slackWebhookUrl", "pagerDutyRoutingKey", "smtpUrl"]) {
            assert.match(
                message,
                new RegExp(`- ${key}: is stored in plain text; expected .*pulumi config set --secret ${key}`),
            );
        }
        for (const secret of ["sekritWebhookToken1", ROUTING_KEY, "pa55", "mailer"]) {
            assert.ok(!message.includes(secret), `the message quotes a secret (${secret}):\n${message}`);
        }
    });

    it("never quotes a malformed channel secret, only what was expected", () => {
        const message = problemsOf({
            ...OPEN,
            slackWebhookUrl: "ftp://hooks.slack.com/services/T0001/B0001/sekritWebhookToken1",
            pagerDutyRoutingKey: "sekritShortKey",
            alertEmail: "oncall@ahoy.example",
            smtpUrl: "imap://mailer:pa55word@smtp.ahoy.example",
        });
        assert.match(message, /- slackWebhookUrl: got a secret value: expected a Slack incoming-webhook URL/);
        assert.match(message, /- pagerDutyRoutingKey: got a secret value: expected the 32-character integration key/);
        assert.match(message, /- smtpUrl: got a secret value: expected an smtps:\/\/ or smtp:\/\/ URL/);
        assert.doesNotMatch(message, /sekrit|pa55word|mailer/);
    });

    it("takes an http:// webhook only on this machine, for a rehearsal against the stand-ins", () => {
        assert.equal(
            parse({ ...OPEN, slackWebhookUrl: "http://127.0.0.1:4012/services/T/B/x" }).slackWebhookUrl,
            "http://127.0.0.1:4012/services/T/B/x",
        );
        assert.match(
            problemsOf({ ...OPEN, slackWebhookUrl: "http://hooks.slack.com/services/T/B/x" }),
            /slackWebhookUrl: got a secret value: expected a Slack incoming-webhook URL/,
        );
    });

    it("lists a bad incident key with every other bad key in the config", () => {
        const message = problemsOf({ ...OPEN, incidentSeverity: "5", SIGNED_URL_EXPIRY: "5", incidentStatus: "done" });
        assert.match(message, /3 problems/);
        assert.match(message, /- SIGNED_URL_EXPIRY: got "5"/);
        assert.match(message, /- incidentSeverity: got "5"/);
        assert.match(message, /- incidentStatus: got "done"/);
    });

    it("Pulumi.prod.yaml holds the runbook's four contacts and oncall@, and opens an incident once a channel secret is set", () => {
        const root = path.join(__dirname, "..");
        const stack = parseYaml(fs.readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8")) as {
            config: Record<string, unknown>;
        };
        const values: Record<string, string> = {};
        for (const [fullKey, value] of Object.entries(stack.config)) {
            if (!fullKey.startsWith("ahoy-ops:")) continue;
            values[fullKey.slice("ahoy-ops:".length)] =
                typeof value === "object" ? JSON.stringify(value) : String(value);
        }
        const peacetime = parseStackConfig(values);
        assert.deepEqual(Object.keys(peacetime.contacts ?? {}), ["primary", "secondary", "manager", "cto"]);
        assert.equal(peacetime.alertEmail, "oncall@ahoy.example");
        assert.equal(peacetime.incidentSeverity, undefined);
        const incident = parseStackConfig(
            { ...values, ...OPEN, contacts: values.contacts, pagerDutyRoutingKey: ROUTING_KEY },
            SECRETS,
        );
        assert.equal(incident.incidentOnCall, "primary");
    });
});
