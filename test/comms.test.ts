// Incident comms end to end below the engine: the senders against local stand-ins for Slack's webhook, PagerDuty's
// Events API and an SMTP server; the incident drills through @pulumi/pulumi's own dynamic-provider host, each `up` run
// as the engine runs it (the Incident, then the mitigation, then the receipt); and the resource graph under mocks.
import { strict as assert } from "node:assert";
import fc from "fast-check";
import { IncidentComms } from "../components/comms/incidentComms";
import { incidentProvider } from "../components/comms/incident";
import { intentProvider } from "../components/comms/intent";
import type { IncidentOutputs } from "../components/comms/incidentProvider";
import { receiptProvider } from "../components/comms/receipt";
import { ChannelError, redact } from "../lib/comms/delivery";
import { sendEmail } from "../lib/comms/email";
import { compose, deliver, hasWork, planUp, type DeclaredIncident, type IncidentRecord } from "../lib/comms/ledger";
import { sendPagerDutyEvent, type PagerDutyEvent } from "../lib/comms/pagerDuty";
import { postToSlack } from "../lib/comms/slack";
import { parseStackConfig } from "../stacks/config";
import { observeRegistrations, setProjectMocks, StandInDeploy, valueOf } from "./support/mocks";
import { startPagerDutyStandIn, type PagerDutyStandIn } from "./support/pagerDutyStandIn";
import {
    dynamicUrn,
    PROVIDER_KEY,
    refreshResource,
    startProviderHost,
    upResource,
    type ProviderHost,
    type ResourceState,
    type StepOp,
} from "./support/providerHost";
import { startSlackStandIn, type SlackStandIn } from "./support/slackStandIn";
import { startSmtpStandIn, type SmtpStandIn } from "./support/smtpStandIn";
import { waitFor } from "./support/wait";

const FAST = { backoffMs: 20, maxWaitMs: 2_000 };
const ON_CALL = "Primary On-Call (primary@ahoy.example, +1-555-0100)";
const SIGNUP_ABUSE: DeclaredIncident = {
    severity: 1,
    title: "Signup abuse",
    status: "investigating",
    impact: "bots are creating accounts",
    onCall: ON_CALL,
};
const ALERT_EMAIL = "oncall@ahoy.example";

describe("incident comms: the senders against the stand-ins", function () {
    this.timeout(30_000);
    let slack: SlackStandIn;
    let pagerDuty: PagerDutyStandIn;
    let smtp: SmtpStandIn;

    before(async () => {
        [slack, pagerDuty, smtp] = await Promise.all([
            startSlackStandIn(),
            startPagerDutyStandIn(),
            startSmtpStandIn(),
        ]);
    });
    after(async () => {
        await Promise.all([slack?.close(), pagerDuty?.close(), smtp?.close()]);
    });
    beforeEach(() => {
        slack.heal();
        pagerDuty.heal();
    });

    it("posts {text, blocks} to the webhook, which answers 200 ok, the template shown exactly as written", async () => {
        const text = "🚨 INCIDENT ALERT - SEV-1 (Critical) - <Signup> & *abuse*\nTime: 2026-12-01 03:04 UTC";
        const answer = await postToSlack(slack.webhookUrl, { text, note: "Respond by 2026-12-01 03:09 UTC" });
        assert.equal(answer, "200 ok");
        const post = slack.posts[slack.posts.length - 1];
        assert.equal(
            post.text,
            "🚨 INCIDENT ALERT - SEV-1 (Critical) - &lt;Signup&gt; &amp; *abuse*\nTime: 2026-12-01 03:04 UTC",
        );
        assert.deepEqual(post.blocks, [
            { type: "section", text: { type: "plain_text", text, emoji: true } },
            { type: "context", elements: [{ type: "plain_text", text: "Respond by 2026-12-01 03:09 UTC" }] },
        ]);
    });

    it("names Slack's answer for a webhook that is gone (404 no_service), never the webhook's URL", async () => {
        const gone = slack.webhookUrl.replace(slack.token, "0".repeat(slack.token.length));
        const err = await postToSlack(gone, { text: "x" }).then(
            () => assert.fail("expected a failure"),
            (e: unknown) => e,
        );
        assert.ok(err instanceof ChannelError);
        assert.equal(err.message, "Slack answered 404 no_service");
        assert.equal(err.transient, false);
        assert.ok(!err.message.includes("/services/"), err.message);
    });

    it("retries a Slack that is down a bounded number of times, then names its 503", async () => {
        const before = slack.exchanges.length;
        slack.fail({ mode: "down" });
        await assert.rejects(postToSlack(slack.webhookUrl, { text: "x" }, FAST), {
            message: "Slack answered 503 service_unavailable (after 3 tries)",
        });
        assert.equal(slack.exchanges.length - before, 3, "three requests in all, then it gives up");
    });

    it("waits out Slack's 429 for as long as its Retry-After says, then delivers", async () => {
        const before = slack.posts.length;
        slack.fail({ mode: "rateLimited", retryAfterSeconds: 1, times: 1 });
        const started = Date.now();
        assert.equal(await postToSlack(slack.webhookUrl, { text: "x" }, FAST), "200 ok (after 2 tries)");
        assert.ok(Date.now() - started >= 950, "waited the second Retry-After asked for");
        assert.equal(slack.posts.length - before, 1);
    });

    it("gives up on a Retry-After longer than its budget instead of holding the up", async () => {
        slack.fail({ mode: "rateLimited", retryAfterSeconds: 60, times: 1 });
        await assert.rejects(postToSlack(slack.webhookUrl, { text: "x" }, FAST), {
            message: "Slack answered 429 rate_limited",
        });
    });

    it("does not resend to a slow Slack that timed out (it may have posted), and says it timed out", async () => {
        const before = slack.exchanges.length;
        slack.fail({ mode: "slow", delayMs: 2_000 });
        await assert.rejects(postToSlack(slack.webhookUrl, { text: "x" }, { ...FAST, timeoutMs: 200 }), {
            message: "Slack answered nothing: timed out after 0.2 s",
        });
        assert.equal(slack.exchanges.length - before, 1);
    });

    const trigger: PagerDutyEvent = {
        action: "trigger",
        dedupKey: "ahoy-ops-test-1",
        summary: "🚨 INCIDENT ALERT - SEV-1 (Critical) - Signup abuse",
        source: "ahoy-indie-media",
        severity: "critical",
        timestamp: "2026-12-01T03:04:05.000Z",
        customDetails: { status: "Investigating" },
    };

    it("triggers and resolves a PagerDuty alert with one dedup_key; the resolve carries only what the API needs", async () => {
        const answer = await sendPagerDutyEvent(pagerDuty.routingKey, trigger, pagerDuty.eventsUrl);
        assert.equal(answer, "202 Event processed (dedup_key ahoy-ops-test-1)");
        assert.equal(pagerDuty.alerts.get("ahoy-ops-test-1")?.state, "triggered");
        await sendPagerDutyEvent(
            pagerDuty.routingKey,
            { action: "resolve", dedupKey: "ahoy-ops-test-1" },
            pagerDuty.eventsUrl,
        );
        assert.equal(pagerDuty.alerts.get("ahoy-ops-test-1")?.state, "resolved");
        const resolve = JSON.parse(pagerDuty.exchanges[pagerDuty.exchanges.length - 1].body) as Record<string, unknown>;
        assert.deepEqual(Object.keys(resolve).sort(), ["dedup_key", "event_action", "routing_key"]);
    });

    it("names PagerDuty's 400 and the errors it lists, never the routing key", async () => {
        const bad = { ...trigger, severity: "fatal" } as unknown as PagerDutyEvent;
        const err = await sendPagerDutyEvent(pagerDuty.routingKey, bad, pagerDuty.eventsUrl).then(
            () => assert.fail("expected a failure"),
            (e: unknown) => e as ChannelError,
        );
        assert.match(
            err.message,
            /^PagerDuty answered 400 invalid event: Event object is invalid \["'payload\.severity' must be one of 'critical', 'error', 'warning' or 'info'"\]$/,
        );
        assert.equal(err.transient, false);
        const wrongKey = await sendPagerDutyEvent("k".repeat(32), trigger, pagerDuty.eventsUrl).catch((e: Error) => e);
        assert.match(String(wrongKey), /400 invalid event: Event object is invalid \["Invalid routing key"\]/);
        assert.ok(!String(wrongKey).includes("k".repeat(32)) && !err.message.includes(pagerDuty.routingKey));
    });

    it("truncates a summary to PagerDuty's 1024 characters rather than have the alert refused", async () => {
        await sendPagerDutyEvent(
            pagerDuty.routingKey,
            { ...trigger, dedupKey: "long", summary: "x".repeat(5000) },
            pagerDuty.eventsUrl,
        );
        assert.equal(pagerDuty.events[pagerDuty.events.length - 1].payload?.summary.length, 1024);
    });

    it("retries PagerDuty's 429 after its Retry-After and delivers", async () => {
        pagerDuty.fail({ mode: "rateLimited", retryAfterSeconds: 1, times: 1 });
        assert.match(
            await sendPagerDutyEvent(pagerDuty.routingKey, trigger, pagerDuty.eventsUrl, FAST),
            /^202 Event processed/,
        );
    });

    it("emails through an SMTP server that demands a login, the subject and body as written", async () => {
        const text = "📊 INCIDENT UPDATE - Signup abuse\nTime: 2026-12-01 03:20 UTC\nStatus: Mitigating";
        const answer = await sendEmail(smtp.url, {
            to: ALERT_EMAIL,
            from: `ahoy-ops <${ALERT_EMAIL}>`,
            subject: "📊 INCIDENT UPDATE - Signup abuse",
            text,
            messageId: "<update-1.k@ahoy-ops.invalid>",
            inReplyTo: "<alert.k@ahoy-ops.invalid>",
        });
        assert.match(answer, /^250 /);
        const mail = smtp.mails[smtp.mails.length - 1];
        assert.deepEqual(mail.to, [ALERT_EMAIL]);
        assert.equal(mail.subject, "📊 INCIDENT UPDATE - Signup abuse");
        assert.equal(mail.text, text);
        assert.equal(mail.headers["in-reply-to"], "<alert.k@ahoy-ops.invalid>");
    });

    it("names the SMTP server's answer to a refused login, never the password or the user", async () => {
        const wrong = smtp.url.replace(smtp.password, "not-the-password-42");
        const err = await sendEmail(wrong, {
            to: ALERT_EMAIL,
            from: ALERT_EMAIL,
            subject: "s",
            text: "t",
            messageId: "<m@ahoy-ops.invalid>",
        }).catch((e: ChannelError) => e);
        assert.ok(err instanceof ChannelError);
        assert.match(err.message, /^Email answered EAUTH: 535 Authentication credentials invalid$/);
        assert.ok(!err.message.includes("not-the-password-42") && !err.message.includes(smtp.user), err.message);
    });

    it("redacts a secret wherever it appears, URL-encoded too", () => {
        fc.assert(
            fc.property(
                fc.string({ minLength: 4, maxLength: 40 }),
                fc.string(),
                fc.string(),
                (secret, before, after) => {
                    const out = redact(`${before}${secret}${after} ${encodeURIComponent(secret)}`, [secret]);
                    return (
                        !out.includes(secret) &&
                        (encodeURIComponent(secret).length < 4 || !out.includes(encodeURIComponent(secret)))
                    );
                },
            ),
        );
    });
});

describe("incident comms: the ledger of messages", () => {
    const declared = fc.option(
        fc.record({
            severity: fc.constantFrom<1 | 2 | 3>(1, 2, 3),
            title: fc.constantFrom("Signup abuse", "Slow uploads"),
            status: fc.constantFrom<DeclaredIncident["status"]>("investigating", "mitigating", "resolved"),
            impact: fc.constantFrom("bots are creating accounts", "signups are off"),
            onCall: fc.constant(ON_CALL),
        }),
        { nil: undefined },
    );
    const allConfigured = { slack: undefined, pagerDuty: undefined, email: undefined };
    let keys = 0;
    /** One `up` with every channel answering: what it wrote, and the record after it. */
    async function apply(record: IncidentRecord | undefined, incident: DeclaredIncident | undefined) {
        const plan = planUp(record, incident);
        const written = compose(record, incident, plan, new Date(), "p", () => ({
            dedupKey: `key-${++keys}`,
            openedAt: new Date().toISOString(),
        }));
        const after =
            written &&
            (await deliver(
                written,
                allConfigured,
                async () => "200 ok",
                () => new Date(),
            ));
        return { plan, record: after };
    }

    it("whatever the sequence of configs, a second up with nothing changed has nothing to do", async () => {
        await fc.assert(
            fc.asyncProperty(fc.array(declared, { maxLength: 12 }), async (sequence) => {
                let record: IncidentRecord | undefined;
                for (const incident of sequence) {
                    record = (await apply(record, incident)).record;
                    if (hasWork(planUp(record, incident))) return false;
                }
                return true;
            }),
        );
    });

    it("writes one alert per incident, an update per change of status or impact, and a resolution per resolve", async () => {
        await fc.assert(
            fc.asyncProperty(fc.array(declared, { maxLength: 12 }), async (sequence) => {
                // The runbook's rules as a model: what the last message said, and whether an incident is open.
                let model: { status: string; impact: string } | undefined;
                let record: IncidentRecord | undefined;
                for (const incident of sequence) {
                    let expected: string[];
                    if (!model) {
                        expected = !incident
                            ? []
                            : incident.status === "resolved"
                              ? ["alert", "resolution"]
                              : ["alert"];
                    } else if (!incident || incident.status === "resolved") {
                        expected = model.status === "resolved" ? [] : ["resolution"];
                    } else {
                        const changed = incident.status !== model.status || incident.impact !== model.impact;
                        expected = changed || model.status === "resolved" ? ["update"] : [];
                    }
                    const { plan, record: after } = await apply(record, incident);
                    const written = plan.opens
                        ? after!.messages
                        : (after?.messages ?? []).slice(record?.messages.length);
                    if (written.map((m) => m.kind).join() !== expected.join()) return false;
                    if (written.length > 0 && incident)
                        model = { status: written[written.length - 1].status, impact: incident.impact };
                    if (!incident) model = undefined;
                    record = after;
                }
                return true;
            }),
        );
    });
});

describe("incident comms: the drills through the dynamic-provider host", function () {
    this.timeout(120_000);
    let slack: SlackStandIn;
    let pagerDuty: PagerDutyStandIn;
    let smtp: SmtpStandIn;
    let host: ProviderHost;
    /** Every output and error the drills saw, for the no-secret check at the end. */
    const seen: string[] = [];
    const INTENT_URN = dynamicUrn("comms:Intent", "ahoy-incident-intent");
    /** The stack config that sets every channel, as `configure` receives it. */
    const CHANNELS_CONFIG = () => ({
        "ahoy-ops:slackWebhookUrl": slack.webhookUrl,
        "ahoy-ops:pagerDutyRoutingKey": pagerDuty.routingKey,
        "ahoy-ops:alertEmail": ALERT_EMAIL,
        "ahoy-ops:smtpUrl": smtp.url,
    });
    const INCIDENT_URN = dynamicUrn("comms:Incident", "ahoy-incident");
    const RECEIPT_URN = dynamicUrn("comms:Receipt", "ahoy-incident-receipt");

    before(async () => {
        [slack, pagerDuty, smtp] = await Promise.all([
            startSlackStandIn(),
            startPagerDutyStandIn(),
            startSmtpStandIn(),
        ]);
        host = await startProviderHost({ AHOY_PAGERDUTY_EVENTS_URL: pagerDuty.eventsUrl });
        await host.configure(CHANNELS_CONFIG());
    });
    after(async () => {
        await host?.close();
        await Promise.all([slack?.close(), pagerDuty?.close(), smtp?.close()]);
    });

    /** The stack's state of the three resources between `up`s. */
    interface Stack {
        intent?: ResourceState;
        incident?: ResourceState;
        receipt?: ResourceState;
    }
    interface UpResult {
        op: StepOp;
        outputs: IncidentOutputs;
        /** The order the steps ran in. */
        steps: string[];
        /** The receipt's failure, which fails the `up`. */
        failure?: Error;
    }

    /**
     * One `pulumi up` of the comms, in the engine's order: the Incident (independent of the mitigation), the mitigation,
     * then the receipt, which depends on both. A failed step leaves its recorded state as it was.
     */
    async function up(
        stack: Stack,
        incident: DeclaredIncident | undefined,
        progress = "no switches on",
        using: ProviderHost = host,
    ): Promise<UpResult> {
        const steps: string[] = [];
        const delivered = await upResource(
            using,
            INCIDENT_URN,
            {
                incident,
                progress,
                source: "ahoy-indie-media",
                intent: await writeIntent(stack, incident, using),
                [PROVIDER_KEY]: incidentProvider.source,
            },
            stack.incident,
        );
        steps.push(`incident ${delivered.op}`);
        stack.incident = delivered.state;
        seen.push(JSON.stringify(delivered.state));
        steps.push("mitigation");
        const outputs = delivered.state.outputs as unknown as IncidentOutputs;
        let failure: Error | undefined;
        try {
            const receipt = await upResource(
                using,
                RECEIPT_URN,
                { failures: outputs.failures, [PROVIDER_KEY]: receiptProvider.source },
                stack.receipt,
            );
            stack.receipt = receipt.state;
            steps.push(`receipt ${receipt.op}`);
            seen.push(JSON.stringify(receipt.state));
        } catch (err) {
            failure = err as Error;
            steps.push("receipt failed");
            seen.push(failure.message);
        }
        return { op: delivered.op, outputs, steps, failure };
    }

    /** The write-ahead record's step, completed before the Incident's: what the Incident is given of it. */
    async function writeIntent(stack: Stack, incident: DeclaredIncident | undefined, using: ProviderHost) {
        const written = await upResource(
            using,
            INTENT_URN,
            { stack: "ahoy-ops/test", incident, [PROVIDER_KEY]: intentProvider.source },
            stack.intent,
        );
        stack.intent = written.state;
        const { token, dedupKey, openedAt } = written.state.outputs as Record<string, string | undefined>;
        return { token, ...(dedupKey && { dedupKey }), ...(openedAt && { openedAt }) };
    }

    /** What each stand-in has taken so far, to count what an `up` sent. */
    const counts = () => ({ slack: slack.posts.length, pagerDuty: pagerDuty.events.length, email: smtp.mails.length });
    const requests = () => slack.exchanges.length + pagerDuty.exchanges.length + smtp.mails.length;
    const sentSince = (before: ReturnType<typeof counts>) => {
        const now = counts();
        return {
            slack: now.slack - before.slack,
            pagerDuty: now.pagerDuty - before.pagerDuty,
            email: now.email - before.email,
        };
    };
    const headlines = (texts: string[]) => texts.map((t) => t.split("\n")[0]);
    /** As if the incident had been opened `ms` earlier: the engine hands the provider the state it recorded. */
    function openedEarlier(stack: Stack, ms: number): void {
        const outputs = stack.incident!.outputs as unknown as IncidentOutputs;
        const record = outputs.record!;
        const openedAt = new Date(Date.parse(record.openedAt) - ms).toISOString();
        (outputs as { record: IncidentRecord }).record = { ...record, openedAt };
    }

    it("opens, updates twice and resolves: one alert, two updates and one resolution per channel; a no-op up sends nothing", async () => {
        const stack: Stack = {};
        const start = counts();

        const peacetime = await up(stack, undefined);
        assert.equal(peacetime.op, "create");
        assert.equal(stack.incident!.id, "no-incident");
        assert.deepEqual(sentSince(start), { slack: 0, pagerDuty: 0, email: 0 }, "peacetime sends nothing");

        const opened = await up(stack, SIGNUP_ABUSE);
        assert.equal(opened.op, "replace", "a new incident is a new resource");
        assert.equal(opened.failure, undefined);
        const dedupKey = stack.incident!.id;
        // The stack and the incident's opening: the same in any up that speaks of this incident.
        assert.match(dedupKey, /^ahoy-ops\/test\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.equal(dedupKey, `ahoy-ops/test/${opened.outputs.record!.openedAt}`);
        assert.deepEqual(sentSince(start), { slack: 1, pagerDuty: 1, email: 1 });
        assert.match(
            opened.outputs.texts.alert!,
            /^🚨 INCIDENT ALERT - SEV-1 \(Critical\) - Signup abuse\nTime: \d{4}-\d\d-\d\d \d\d:\d\d UTC\n/,
        );
        const record = opened.outputs.record!;
        assert.equal(
            Date.parse(opened.outputs.deadlines.respondBy!) - Date.parse(record.messages[0].at),
            5 * 60_000,
            "Sev 1: respond within 5 minutes of the alert",
        );
        const alertPost = slack.posts[slack.posts.length - 1];
        assert.match(
            JSON.stringify(alertPost.blocks),
            /Respond by .* UTC: Severity 1 \(Critical\) needs a response within 5 minutes/,
        );
        const triggerEvent = pagerDuty.events[pagerDuty.events.length - 1];
        assert.equal(triggerEvent.event_action, "trigger");
        assert.equal(triggerEvent.payload?.severity, "critical");
        assert.equal(triggerEvent.payload?.source, "ahoy-indie-media");
        assert.equal(triggerEvent.payload?.summary, "🚨 INCIDENT ALERT - SEV-1 (Critical) - Signup abuse");
        assert.equal(triggerEvent.payload?.custom_details?.message, opened.outputs.texts.alert);
        assert.equal(smtp.mails[smtp.mails.length - 1].subject, "🚨 INCIDENT ALERT - SEV-1 (Critical) - Signup abuse");

        const mitigating = await up(
            stack,
            { ...SIGNUP_ABUSE, status: "mitigating" },
            "switches on: DISABLE_SIGNUP; no release pin",
        );
        assert.equal(mitigating.op, "update");
        const widened = await up(
            stack,
            { ...SIGNUP_ABUSE, status: "mitigating", impact: "bots are creating accounts; signups are off" },
            "switches on: DISABLE_SIGNUP, RATE_LIMIT_AUTH=3 per minute; no release pin",
        );
        assert.equal(widened.op, "update");
        assert.deepEqual(sentSince(start), { slack: 3, pagerDuty: 3, email: 3 });
        assert.deepEqual(
            widened.outputs.texts.updates.map((t) => t.split("\n").filter((l) => /^(Status|Progress):/.test(l))),
            [
                ["Status: Mitigating", "Progress: switches on: DISABLE_SIGNUP; no release pin"],
                [
                    "Status: Mitigating",
                    "Progress: switches on: DISABLE_SIGNUP, RATE_LIMIT_AUTH=3 per minute; no release pin",
                ],
            ],
        );

        // Two hours and five minutes into the incident, as the state recorded when it was opened says.
        openedEarlier(stack, (2 * 60 + 5) * 60_000 + 30_000);
        const resolved = await up(stack, { ...SIGNUP_ABUSE, status: "resolved" });
        assert.equal(resolved.op, "update");
        assert.equal(resolved.failure, undefined);
        assert.deepEqual(sentSince(start), { slack: 4, pagerDuty: 4, email: 4 });
        assert.match(
            resolved.outputs.texts.resolution!,
            /^✅ INCIDENT RESOLVED - Signup abuse\n.*\nDuration: 2 h 5 min\n/,
        );
        const resolvedAt = Date.parse(resolved.outputs.record!.resolvedAt!);
        const hours = (iso: string | undefined) => (Date.parse(iso!) - resolvedAt) / 3_600_000;
        const due = resolved.outputs.deadlines;
        assert.deepEqual(
            [
                hours(due.postIncidentReview),
                hours(due.rootCauseDocument),
                hours(due.actionItems),
                hours(due.processImprovements),
            ],
            [24, 48, 24 * 7, 24 * 14],
        );
        assert.match(
            resolved.outputs.summary,
            /^SEV-1 \(Critical\) Signup abuse: resolved; opened .* UTC, resolved .* UTC, lasted 2 h 5 min$/,
        );

        // PagerDuty: triggered (the alert and each update add to it) and resolved, all under the incident's one key.
        const events = pagerDuty.events.slice(start.pagerDuty);
        assert.deepEqual(
            events.map((e) => e.event_action),
            ["trigger", "trigger", "trigger", "resolve"],
        );
        assert.deepEqual([...new Set(events.map((e) => e.dedup_key))], [dedupKey]);
        assert.deepEqual(
            pagerDuty.alerts.get(dedupKey),
            { state: "resolved", incidents: 1 },
            "paged once, then resolved",
        );
        const inOrder = [
            "🚨 INCIDENT ALERT - SEV-1 (Critical) - Signup abuse",
            "📊 INCIDENT UPDATE - Signup abuse",
            "📊 INCIDENT UPDATE - Signup abuse",
            "✅ INCIDENT RESOLVED - Signup abuse",
        ];
        assert.deepEqual(headlines(slack.posts.slice(start.slack).map((p) => p.text)), inOrder);
        assert.deepEqual(headlines(smtp.mails.slice(start.email).map((m) => m.text)), inOrder);
        assert.deepEqual(
            smtp.mails.slice(start.email + 1).map((m) => m.headers["in-reply-to"]),
            Array(3).fill(`<alert.${dedupKey}@ahoy-ops.invalid>`),
            "the updates and the resolution thread under the alert",
        );
        assert.deepEqual(resolved.outputs.channels, {
            slack: "delivered 4 of 4 messages",
            pagerDuty: "delivered 4 of 4 messages",
            email: "delivered 4 of 4 messages",
        });

        const before = requests();
        const noop = await up(stack, { ...SIGNUP_ABUSE, status: "resolved" }, "a Progress line that changed");
        assert.equal(noop.op, "same", "nothing new to send: no change");
        assert.deepEqual(noop.steps, ["incident same", "mitigation", "receipt same"]);
        assert.equal(requests(), before, "a no-op up calls no one");

        const closed = await up(stack, undefined);
        assert.equal(closed.op, "update", "removing the keys records the end of the incident");
        assert.equal(requests(), before, "an incident already resolved is not resolved again");
        assert.match(closed.outputs.summary, /; closed \(the incident keys are removed\)$/);
        assert.equal((await up(stack, undefined)).op, "same");
        assert.equal(requests(), before);
    });

    it("removing the incident keys resolves an open incident everywhere, and the next incident is a new one", async () => {
        const stack: Stack = {};
        const start = counts();
        await up(stack, { ...SIGNUP_ABUSE, severity: 2, title: "Slow uploads", impact: "uploads take 30 s" });
        const firstKey = stack.incident!.id;
        assert.equal(
            pagerDuty.events[pagerDuty.events.length - 1].payload?.severity,
            "error",
            "Sev 2 is PagerDuty's error",
        );
        const ended = await up(stack, undefined);
        assert.equal(ended.op, "update");
        assert.deepEqual(sentSince(start), { slack: 2, pagerDuty: 2, email: 2 });
        assert.match(ended.outputs.texts.resolution!, /^✅ INCIDENT RESOLVED - Slow uploads\n/);
        assert.equal(pagerDuty.alerts.get(firstKey)?.state, "resolved");

        const next = await up(stack, { ...SIGNUP_ABUSE, severity: 3, title: "Broken avatars" });
        assert.equal(next.op, "replace");
        assert.notEqual(stack.incident!.id, firstKey, "a new incident gets a new dedup_key");
        assert.equal(pagerDuty.events[pagerDuty.events.length - 1].payload?.severity, "warning");
        assert.equal(next.outputs.texts.updates.length, 0);
        assert.equal(
            Date.parse(next.outputs.deadlines.respondBy!) - Date.parse(next.outputs.record!.openedAt),
            4 * 3_600_000,
            "Sev 3: respond within 4 hours",
        );
        await up(stack, { ...SIGNUP_ABUSE, severity: 3, title: "Broken avatars", status: "resolved" });
    });

    it("Slack down during an update: the mitigation still runs, the up fails naming Slack, the next up sends only the missing update", async () => {
        const stack: Stack = {};
        await up(stack, SIGNUP_ABUSE);
        const start = counts();
        slack.fail({ mode: "down" });
        const failed = await up(stack, { ...SIGNUP_ABUSE, status: "mitigating" });
        assert.equal(failed.op, "update", "the Incident step itself succeeds: the engine goes on to the mitigation");
        assert.deepEqual(failed.steps, ["incident update", "mitigation", "receipt failed"]);
        assert.deepEqual(sentSince(start), { slack: 0, pagerDuty: 1, email: 1 }, "PagerDuty and email took the update");
        assert.deepEqual(failed.outputs.failures, [
            "Slack (update 1): answered 503 service_unavailable (after 3 tries)",
        ]);
        assert.match(
            failed.outputs.channels.slack,
            /^delivered 1 of 2 messages; failed: update 1 answered 503 service_unavailable/,
        );
        assert.ok(failed.failure, "the receipt fails the up");
        assert.match(
            failed.failure.message,
            /^incident comms: a channel did not take a message \(the mitigation has run; the next `pulumi up` sends only what is missing\):\n {2}- Slack \(update 1\): answered 503 service_unavailable \(after 3 tries\)$/,
        );
        assert.match(
            host.output(),
            /Slack: update 1 \(📊 INCIDENT UPDATE - Signup abuse\) not delivered: answered 503/,
        );

        slack.heal();
        const retried = await up(stack, { ...SIGNUP_ABUSE, status: "mitigating" });
        assert.equal(retried.op, "update", "undelivered messages make a change");
        assert.equal(retried.failure, undefined);
        assert.deepEqual(
            sentSince(start),
            { slack: 1, pagerDuty: 1, email: 1 },
            "only Slack's missing update was sent",
        );
        assert.match(slack.posts[slack.posts.length - 1].text, /^📊 INCIDENT UPDATE - Signup abuse\n/);
        assert.deepEqual(retried.outputs.failures, []);
        assert.equal(retried.outputs.record!.messages[1].deliveries.slack.attempts, 2);

        const before = requests();
        assert.equal((await up(stack, { ...SIGNUP_ABUSE, status: "mitigating" })).op, "same");
        assert.equal(requests(), before);
        await up(stack, { ...SIGNUP_ABUSE, status: "resolved" });
    });

    it("keeps Slack's messages in order: while update 1 is undelivered, update 2 waits", async () => {
        const stack: Stack = {};
        await up(stack, SIGNUP_ABUSE);
        slack.fail({ mode: "down" });
        await up(stack, { ...SIGNUP_ABUSE, status: "mitigating" }, "switches on: DISABLE_SIGNUP");
        const second = await up(
            stack,
            { ...SIGNUP_ABUSE, status: "mitigating", impact: "fewer bots" },
            "switches on: DISABLE_SIGNUP, BLOCKED_IPS=10.0.0.1",
        );
        const [, update1, update2] = second.outputs.record!.messages;
        assert.equal(update1.deliveries.slack.state, "failed");
        assert.equal(update1.deliveries.slack.attempts, 2, "tried once in each up");
        assert.equal(update2.deliveries.slack.state, "pending");
        assert.equal(update2.deliveries.slack.answer, "waiting: update 1 was not delivered");
        assert.equal(update2.deliveries.slack.attempts, 0, "never sent ahead of update 1");
        assert.deepEqual(second.outputs.failures, [
            "Slack (update 1): answered 503 service_unavailable (after 3 tries)",
        ]);
        assert.match(second.outputs.channels.slack, /; 1 waiting$/);

        slack.heal();
        const before = slack.posts.length;
        await up(stack, { ...SIGNUP_ABUSE, status: "mitigating", impact: "fewer bots" });
        assert.deepEqual(
            slack.posts.slice(before).map((p) => p.text.split("\n").find((line) => line.startsWith("Progress: "))),
            ["Progress: switches on: DISABLE_SIGNUP", "Progress: switches on: DISABLE_SIGNUP, BLOCKED_IPS=10.0.0.1"],
        );
        await up(stack, { ...SIGNUP_ABUSE, status: "resolved" });
    });

    it("a mail server's temporary failure fails the up naming Email and its answer; the next up resends only the email", async () => {
        const stack: Stack = {};
        await up(stack, SIGNUP_ABUSE);
        const start = counts();
        smtp.failNext(1);
        const failed = await up(stack, { ...SIGNUP_ABUSE, status: "resolved" });
        assert.deepEqual(sentSince(start), { slack: 1, pagerDuty: 1, email: 0 });
        assert.match(
            failed.failure!.message,
            /- Email \(resolution 1\): answered EMESSAGE: 451 Requested action aborted: local error in processing$/,
        );
        const retried = await up(stack, { ...SIGNUP_ABUSE, status: "resolved" });
        assert.equal(retried.failure, undefined);
        assert.deepEqual(sentSince(start), { slack: 1, pagerDuty: 1, email: 1 });
        assert.match(smtp.mails[smtp.mails.length - 1].subject, /^✅ INCIDENT RESOLVED - Signup abuse$/);
    });

    it("reopening a resolved incident posts an update and pages again under the same dedup_key", async () => {
        const stack: Stack = {};
        await up(stack, SIGNUP_ABUSE);
        await up(stack, { ...SIGNUP_ABUSE, status: "resolved" });
        const dedupKey = stack.incident!.id;
        const reopened = await up(stack, { ...SIGNUP_ABUSE, status: "investigating", impact: "the bots are back" });
        assert.equal(reopened.op, "update", "the same incident, not a new one");
        assert.equal(stack.incident!.id, dedupKey);
        assert.match(
            reopened.outputs.texts.updates[0],
            /^📊 INCIDENT UPDATE - Signup abuse\n.*\nStatus: Investigating\n/,
        );
        assert.equal(reopened.outputs.deadlines.postIncidentReview, undefined, "no post-incident deadlines while open");
        assert.deepEqual(pagerDuty.alerts.get(dedupKey), { state: "triggered", incidents: 2 }, "PagerDuty pages again");
        const again = await up(stack, { ...SIGNUP_ABUSE, status: "resolved", impact: "the bots are back" });
        assert.equal(again.outputs.record!.messages.filter((m) => m.kind === "resolution").length, 2);
        assert.equal(pagerDuty.alerts.get(dedupKey)?.state, "resolved");
    });

    it("a refresh leaves the record as it is and no diff behind", async () => {
        const stack: Stack = {};
        await up(stack, SIGNUP_ABUSE);
        const refreshed = await refreshResource(host, stack.incident!);
        assert.ok(refreshed);
        assert.deepEqual(refreshed.outputs, stack.incident!.outputs);
        const diff = await host.diff(refreshed.id, INCIDENT_URN, refreshed.outputs, stack.incident!.inputs);
        assert.equal(diff.changes, "none");
        await up(stack, { ...SIGNUP_ABUSE, status: "resolved" });
    });

    it("refuses to delete an incident still open, so PagerDuty is never left paging", async () => {
        const stack: Stack = {};
        await up(stack, SIGNUP_ABUSE);
        await assert.rejects(
            host.delete(stack.incident!.id, INCIDENT_URN, stack.incident!.outputs),
            /incident "Signup abuse" \(SEV-1 \(Critical\)\) is still open/,
        );
        await up(stack, { ...SIGNUP_ABUSE, status: "resolved" });
        await host.delete(stack.incident!.id, INCIDENT_URN, stack.incident!.outputs);
    });

    it("an up killed after PagerDuty and Slack took the alert: the next up pages no one again, and what it sends again is marked", async () => {
        const stack: Stack = {};
        await up(stack, undefined);
        const start = counts();
        const doomed = await startProviderHost({ AHOY_PAGERDUTY_EVENTS_URL: pagerDuty.eventsUrl });
        try {
            await doomed.configure(CHANNELS_CONFIG());
            // Slack posts the alert and holds its answer: the up is killed before the Incident step can return.
            slack.fail({ mode: "answerLate", delayMs: 10_000, times: 1 });
            const killed = up(stack, SIGNUP_ABUSE, "no switches on", doomed).catch((err: unknown) => err);
            await waitFor(
                "Slack and PagerDuty to take the alert",
                () => slack.posts.length > start.slack && pagerDuty.events.length > start.pagerDuty,
                { timeoutMs: 20_000 },
            );
            await doomed.kill();
            assert.ok((await killed) instanceof Error, "the killed up failed");
        } finally {
            slack.heal();
            await doomed.close().catch(() => undefined);
        }
        assert.equal(stack.incident!.id, "no-incident", "the engine recorded nothing of the killed Incident step");
        const dedupKey = String(stack.intent!.outputs.dedupKey);

        const next = await up(stack, SIGNUP_ABUSE);
        assert.equal(next.failure, undefined);
        assert.equal(stack.incident!.id, dedupKey, "the incident the killed up opened, under its dedup_key");
        const events = pagerDuty.events.slice(start.pagerDuty);
        assert.deepEqual(
            events.map((e) => [e.event_action, e.dedup_key]),
            [
                ["trigger", dedupKey],
                ["trigger", dedupKey],
            ],
        );
        assert.deepEqual(pagerDuty.alerts.get(dedupKey), { state: "triggered", incidents: 1 }, "paged once");
        const posts = slack.posts.slice(start.slack);
        assert.equal(posts.length, 2, "the alert was posted again...");
        assert.ok(!JSON.stringify(posts[0].blocks).includes("Sent again"));
        assert.match(
            JSON.stringify(posts[1].blocks),
            /Sent again: an earlier `pulumi up` was stopped while sending this/,
        );
        assert.equal(headlines([posts[1].text])[0], headlines([posts[0].text])[0], "...the same alert");
        const mails = smtp.mails.slice(start.email);
        assert.ok(mails.length >= 1);
        assert.deepEqual(
            [...new Set(mails.map((m) => m.headers["message-id"]))],
            [`<alert.${dedupKey}@ahoy-ops.invalid>`],
            "one Message-ID: a mail client shows one message",
        );
        assert.match(mails[mails.length - 1].text, /Sent again: /);
        assert.match(host.output(), /an earlier pulumi up was stopped while sending/);

        const before = requests();
        assert.equal((await up(stack, SIGNUP_ABUSE)).op, "same", "the next up sends nothing");
        assert.equal(requests(), before);
        await up(stack, { ...SIGNUP_ABUSE, status: "resolved" });
        assert.equal(pagerDuty.alerts.get(dedupKey)?.state, "resolved");
    });

    it("a message an earlier up tried (it failed) is sent again marked as such; one never tried is not marked", async () => {
        const stack: Stack = {};
        await up(stack, SIGNUP_ABUSE);
        const start = counts();
        slack.fail({ mode: "down" });
        await up(stack, { ...SIGNUP_ABUSE, status: "mitigating" });
        slack.heal();
        await up(stack, { ...SIGNUP_ABUSE, status: "mitigating" });
        const posts = slack.posts.slice(start.slack);
        assert.equal(posts.length, 1);
        assert.match(JSON.stringify(posts[0].blocks), /Sent again: /, "Slack's update, tried before, is marked");
        const mails = smtp.mails.slice(start.email);
        assert.equal(mails.length, 1);
        assert.doesNotMatch(mails[0].text, /Sent again/, "the email, sent once, is not");
        await up(stack, { ...SIGNUP_ABUSE, status: "resolved" });
    });

    it("puts no secret in any output, state, log line or error: not the webhook URL, the routing key or the SMTP login", () => {
        const everything = [...seen, host.output()].join("\n");
        assert.ok(seen.length > 20, "the drills above produced the outputs checked here");
        for (const [what, secret] of [
            ["the webhook URL", slack.webhookUrl],
            ["the webhook's token", slack.token],
            ["the routing key", pagerDuty.routingKey],
            ["the SMTP URL", smtp.url],
            ["the SMTP password", smtp.password],
        ]) {
            assert.ok(!everything.includes(secret), `${what} appears in an output, a log line or an error`);
        }
    });
});

describe("incident comms: a channel that is not configured", function () {
    this.timeout(60_000);

    it("is skipped, and the outputs say so, while the others deliver", async () => {
        const slack = await startSlackStandIn();
        const host = await startProviderHost();
        try {
            await host.configure({ "ahoy-ops:slackWebhookUrl": slack.webhookUrl, "ahoy-ops:alertEmail": ALERT_EMAIL });
            const intent = await upResource(host, dynamicUrn("comms:Intent", "ahoy-incident-intent"), {
                stack: "ahoy-ops/test",
                incident: SIGNUP_ABUSE,
                [PROVIDER_KEY]: intentProvider.source,
            });
            const created = await upResource(host, dynamicUrn("comms:Incident", "ahoy-incident"), {
                incident: SIGNUP_ABUSE,
                progress: "p",
                source: "ahoy-indie-media",
                intent: intent.state.outputs,
                [PROVIDER_KEY]: incidentProvider.source,
            });
            const outputs = created.state.outputs as unknown as IncidentOutputs;
            assert.deepEqual(outputs.channels, {
                slack: "delivered 1 of 1 message",
                pagerDuty: "skipped: pagerDutyRoutingKey is not set",
                email: "skipped: alertEmail is set but smtpUrl is not",
            });
            assert.deepEqual(outputs.failures, [], "a channel skipped is not a failure");
            assert.equal(slack.posts.length, 1);
            assert.match(host.output(), /PagerDuty: the alert \(.*\) skipped: pagerDutyRoutingKey is not set/);
        } finally {
            await host.close();
            await slack.close();
        }
    });
});

describe("incident comms in the resource graph", () => {
    it("the messages depend on nothing of the mitigation, only on their write-ahead record; the receipt waits for both", async () => {
        await setProjectMocks();
        const registered = new Map<string, { name: string; dependencies: string[]; raw: Record<string, unknown> }>();
        observeRegistrations((req) =>
            registered.set(req.getType(), {
                name: req.getName(),
                dependencies: req.getDependenciesList(),
                raw: req.getObject().toJavaScript(),
            }),
        );
        const settings = parseStackConfig(
            {
                serviceUrl: "https://ahoy-indie-media.onrender.com",
                contacts: JSON.stringify({
                    primary: { name: "Primary On-Call", email: "primary@ahoy.example", phone: "+1-555-0100" },
                }),
                slackWebhookUrl: "https://hooks.slack.com/services/T/B/mock-secret-token",
                incidentSeverity: "1",
                incidentTitle: "Signup abuse",
                incidentImpact: "bots are creating accounts",
                incidentOnCall: "primary",
                releasePin: "v0.1.0",
            },
            new Set(["slackWebhookUrl"]),
        );
        // Declared first, as index.ts does: the comms before the mitigation, the receipt after it.
        const comms = new IncidentComms(
            "ahoy",
            { settings, facts: { switches: { DISABLE_SIGNUP: "true" } }, stack: "ahoy-ops/prod" },
            {},
        );
        const mitigation = new StandInDeploy("verification");
        const receiptResource = comms.receiptAfter(mitigation);
        const [mitigationUrn, intentUrn] = await Promise.all([
            valueOf(mitigation.urn),
            valueOf(comms.intent.urn),
            valueOf(comms.incident),
            valueOf(receiptResource.urn),
        ]);
        const intent = registered.get("pulumi-nodejs:dynamic/comms:Intent");
        const incident = registered.get("pulumi-nodejs:dynamic/comms:Incident");
        const receipt = registered.get("pulumi-nodejs:dynamic/comms:Receipt");
        assert.ok(intent && incident && receipt, `expected the three, got ${[...registered.keys()].join(", ")}`);
        assert.equal(incident.name, "ahoy-incident");
        assert.deepEqual(intent.dependencies, [], "the write-ahead record waits for nothing");
        assert.equal(intent.raw.stack, "ahoy-ops/prod");
        assert.deepEqual(
            incident.dependencies,
            [intentUrn],
            "the Incident waits for its record only, so a slow webhook never delays the deploy",
        );
        assert.throws(() => comms.receiptAfter(mitigation), /receiptAfter was already called/);
        assert.ok(receipt.dependencies.includes(mitigationUrn), "the receipt runs after the mitigation");
        assert.equal(receipt.dependencies.length, 2, "and after the Incident");
        assert.deepEqual(incident.raw.incident, {
            severity: 1,
            title: "Signup abuse",
            status: "investigating",
            impact: "bots are creating accounts",
            onCall: ON_CALL,
        });
        assert.equal(
            incident.raw.progress,
            "switches on: DISABLE_SIGNUP; release pinned to v0.1.0; rotations: SECRET_KEY generation 1; no verification yet",
        );
        assert.ok(!JSON.stringify(incident.raw).includes("mock-secret-token"), "the webhook never becomes an input");
    });
});
