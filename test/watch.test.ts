// The watch after `pulumi up` (`npm run watch`): the supersession decision and the verdict's wording as tables, the
// incident's update, and the runner against the emulator and its stand-in app: a clean window, a regression said at
// once, a newer up's deploy, a teammate's, the maintenance page, Ctrl-C, Render's late figures.
import { strict as assert } from "node:assert";
import { startEmulator, type Emulator } from "../emulator";
import { type Deploy, RenderClient } from "../lib/render/client";
import { verificationPlan, type WatchIncident, type WatchTarget, watchTarget } from "../components/verification";
import type { MetricsReadings } from "../components/verification/metricsVerdict";
import { eventsSource } from "../components/verification/eventsWatch";
import { logsSource } from "../components/verification/logsWatch";
import { metricsSource } from "../components/verification/metricsWatch";
import { lengthenedEnd, supersession } from "../components/verification/supersession";
import { watchNotice } from "../components/verification/watchNotice";
import { runWatch, type WatchOptions, type WatchSource } from "../components/verification/watchRunner";
import {
    WATCH_EXIT,
    type WatchEnd,
    type WatchFigure,
    watchOutcome,
    type WatchReport,
} from "../components/verification/watchVerdict";
import { notifyIncident } from "../scripts/watchNotify";
import { apiUrlProblem, secretsInConfig, secretsInVariables } from "../scripts/watchStack";
import { startPagerDutyStandIn, type PagerDutyStandIn } from "./support/pagerDutyStandIn";
import { startSlackStandIn, type SlackStandIn } from "./support/slackStandIn";
import { startSmtpStandIn, type SmtpStandIn } from "./support/smtpStandIn";
import { waitFor } from "./support/wait";

const T0 = Date.parse("2026-12-01T03:00:00.000Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const deploy = (id: string, trigger: string, liveSeconds?: number, status: Deploy["status"] = "live"): Deploy => ({
    id,
    status,
    trigger,
    createdAt: at((liveSeconds ?? 0) - 40),
    ...(liveSeconds !== undefined && { finishedAt: at(liveSeconds) }),
});

describe("the watch: whether its deploy is still the one serving (supersession)", () => {
    const watched = { id: "dep-ours", liveAt: T0 };
    // Render's live deploy as the watch sees it, and what the watch does.
    const rows: Array<[string, Deploy | undefined, ReadonlySet<string>, string]> = [
        ["ours is live: it watches on", deploy("dep-ours", "api", 0), new Set(), "still live"],
        ["Render lists no live deploy: nothing can be concluded, it watches on", undefined, new Set(), "still live"],
        [
            "a newer deploy through the API went live: a pulumi up's, whose own watch covers it",
            deploy("dep-newer", "api", 42),
            new Set(),
            "superseded by dep-newer at +42 s",
        ],
        [
            "a teammate's dashboard deploy went live: not this stack's, the watch takes it on",
            deploy("dep-manual", "manual", 30),
            new Set(),
            "not this stack's: dep-manual at +30 s",
        ],
        [
            "a push's autodeploy went live: not this stack's",
            deploy("dep-push", "new_commit", 12),
            new Set(),
            "not this stack's: dep-push at +12 s",
        ],
        [
            "a rollback (the dashboard's or a pin's: Render cannot tell) is taken on, so it is never left unwatched",
            deploy("dep-back", "rollback", 20),
            new Set(),
            "not this stack's: dep-back at +20 s",
        ],
        [
            "a deploy already taken on, still live: nothing new",
            deploy("dep-manual", "manual", 30),
            new Set(["dep-manual"]),
            "still live",
        ],
        [
            "a listing that shows a deploy live before ours went live is stale: ours is newer",
            deploy("dep-old", "api", -60),
            new Set(),
            "still live",
        ],
    ];
    for (const [name, live, taken, expected] of rows) {
        it(name, () => {
            const decision = supersession(watched, live, taken);
            const said =
                decision.kind === "still live"
                    ? "still live"
                    : decision.kind === "superseded"
                      ? `superseded by ${decision.by.id} at +${(decision.at - T0) / 1000} s`
                      : `not this stack's: ${decision.by.id} at +${(decision.at - T0) / 1000} s`;
            assert.equal(said, expected);
        });
    }

    it("a deploy not this stack's is watched a full window of its own, never past two windows in all", () => {
        const W = 300_000;
        // [current end, when the other deploy went live, the new end], times in seconds from T0.
        const rows: Array<[number, number, number]> = [
            [300, 30, 330],
            [300, 250, 550],
            [300, 299, 599],
            [300, 400, 600],
            [600, 10, 600],
        ];
        for (const [end, liveAt, expected] of rows) {
            assert.equal(
                (lengthenedEnd(T0 + end * 1000, T0, T0 + liveAt * 1000, W, 2) - T0) / 1000,
                expected,
                `end ${end}, other live at ${liveAt}`,
            );
        }
    });
});

describe("the watch's verdict: what it says and exits with", () => {
    const health = (status: WatchFigure["status"], line: string): WatchReport["sources"][number] => ({
        source: "health",
        figures: [{ check: "health", status, line }],
    });
    const metrics = (...figures: Array<[WatchFigure["status"], string]>): WatchReport["sources"][number] => ({
        source: "metrics",
        figures: figures.map(([status, line]) => ({ check: "metric", status, line })),
    });
    const report = (end: WatchEnd, sources: WatchReport["sources"], alsoWatched: WatchReport["alsoWatched"] = []) => ({
        action: "DISABLE_SIGNUP",
        deployId: "dep-1",
        windowSeconds: 300,
        verifiedAfterSeconds: 2,
        end,
        alsoWatched,
        sources,
    });
    const GOOD = health("ok", "GET /healthz: 290 requests, 0 errors (0.0%), slowest 40 ms");
    const MEMORY_OK = metrics(
        ["ok", "memory: 21.5% of the 512 MB limit, within 90%"],
        ["not applicable", "disk: not applicable (no disk)"],
    );

    const rows: Array<[string, WatchReport, number, string, string[]]> = [
        [
            "a whole window with nothing crossed and everything judged is clean (0)",
            report({ reason: "window", atSeconds: 300 }, [GOOD, MEMORY_OK]),
            WATCH_EXIT.clean,
            "watch of DISABLE_SIGNUP (deploy dep-1): clean: nothing crossed in its 300 s window (health: 1 ok; metrics: 1 ok, 1 not applicable)",
            [],
        ],
        [
            "a figure Render never reported: nothing crossed, but not a pass: incomplete (3), named",
            report({ reason: "window", atSeconds: 300 }, [
                GOOD,
                metrics([
                    "could not be judged",
                    "memory: could not be judged: Render reported nothing after 03:04:30 UTC",
                ]),
            ]),
            WATCH_EXIT.incomplete,
            "watch of DISABLE_SIGNUP (deploy dep-1): nothing crossed in its 300 s window, but 1 figure could not be judged (memory) (health: 1 ok; metrics: 1 could not be judged)",
            [],
        ],
        [
            "a threshold crossed fails (1), each failure naming its check",
            report({ reason: "window", atSeconds: 300 }, [
                health(
                    "crossed",
                    "error rate 12.0% is over the 5.0% limit: 36 of 300 answers to GET /healthz were not 200 (36 x 500), the first at +61.0 s",
                ),
                metrics([
                    "crossed",
                    "memory: 93.1% of the 512 MB limit, over 90% (Render's figures for +0.0 s to +300.0 s)",
                ]),
            ]),
            WATCH_EXIT.crossed,
            "watch of DISABLE_SIGNUP (deploy dep-1): FAILED: 2 thresholds crossed (health, metric memory) in its 300 s window (health: 1 crossed; metrics: 1 crossed)",
            [
                "health: error rate 12.0% is over the 5.0% limit: 36 of 300 answers to GET /healthz were not 200 (36 x 500), the first at +61.0 s",
                "metric: memory: 93.1% of the 512 MB limit, over 90% (Render's figures for +0.0 s to +300.0 s)",
            ],
        ],
        [
            "superseded by a newer up's deploy: the verdict of what it saw until then (clean here)",
            report({ reason: "superseded", atSeconds: 42, by: "dep-2" }, [GOOD, MEMORY_OK]),
            WATCH_EXIT.clean,
            "watch of DISABLE_SIGNUP (deploy dep-1): clean: nothing crossed in the 42 s before dep-2 superseded it (health: 1 ok; metrics: 1 ok, 1 not applicable)",
            [],
        ],
        [
            "superseded after a regression it saw: still fails, visibly",
            report({ reason: "superseded", atSeconds: 42, by: "dep-2" }, [
                health(
                    "crossed",
                    "error rate 20.0% is over the 5.0% limit: 6 of 30 answers to GET /healthz were not 200 (6 x 500), the first at +8.0 s",
                ),
            ]),
            WATCH_EXIT.crossed,
            "watch of DISABLE_SIGNUP (deploy dep-1): FAILED: 1 threshold crossed (health) in the 42 s before dep-2 superseded it (health: 1 crossed)",
            [
                "health: error rate 20.0% is over the 5.0% limit: 6 of 30 answers to GET /healthz were not 200 (6 x 500), the first at +8.0 s",
            ],
        ],
        [
            "Ctrl-C: live and verified at +N s, cut short after M s, and what it saw (130)",
            report({ reason: "interrupted", atSeconds: 37 }, [
                GOOD,
                metrics([
                    "could not be judged",
                    "Render's metrics: not read: the watch was cut short before its window ended",
                ]),
            ]),
            WATCH_EXIT.interrupted,
            "DISABLE_SIGNUP was live and verified at +2 s; the watch was cut short after 37 s of its 300 s window (Ctrl-C); what it saw: nothing crossed in the 37 s watched (health: 1 ok; metrics: 1 could not be judged)",
            [],
        ],
        [
            "the maintenance page went up: the verdict of what it saw before",
            report({ reason: "maintenance", atSeconds: 20 }, [GOOD, MEMORY_OK]),
            WATCH_EXIT.clean,
            "watch of DISABLE_SIGNUP (deploy dep-1): clean: nothing crossed in the 20 s before the maintenance page went up (health: 1 ok; metrics: 1 ok, 1 not applicable)",
            [],
        ],
        [
            "a teammate's deploy taken on lengthens the window, and is named",
            report(
                { reason: "window", atSeconds: 420 },
                [GOOD, MEMORY_OK],
                [{ deployId: "dep-m", trigger: "manual", atSeconds: 120 }],
            ),
            WATCH_EXIT.clean,
            "watch of DISABLE_SIGNUP (deploy dep-1): clean: nothing crossed in its 420 s (a 300 s window, lengthened) window, dep-m (manual, live at +120 s) watched too (health: 1 ok; metrics: 1 ok, 1 not applicable)",
            [],
        ],
    ];
    for (const [name, r, exitCode, summary, failures] of rows) {
        it(name, () => {
            const outcome = watchOutcome(r);
            assert.equal(outcome.summary, summary);
            assert.equal(outcome.exitCode, exitCode);
            assert.deepEqual(outcome.failures, failures);
        });
    }

    it("a failure never says 'did not take effect': that is the up's, of a switch's own check", () => {
        const crossed = watchOutcome(
            report({ reason: "window", atSeconds: 300 }, [
                health(
                    "crossed",
                    "1 response took longer than the 2000 ms limit (slowest 2400 ms), the first at +9.0 s",
                ),
            ]),
        );
        assert.doesNotMatch([crossed.summary, ...crossed.failures].join("\n"), /did not take effect/);
        assert.equal(crossed.exitCode, WATCH_EXIT.crossed);
    });
});

/** The open incident the notice tests post to: "Signup abuse", mitigating. */
function signupAbuse(severity: WatchIncident["severity"], dedupKey: string): WatchIncident {
    return { severity, title: "Signup abuse", status: "mitigating", dedupKey };
}

/** The DISABLE_SIGNUP deploy's watch, live at T0 and verified 2 s later, while `incident` is open. */
function incidentTarget(incident: WatchIncident): WatchTarget {
    return watchTarget({
        service: "ahoy-indie-media",
        serviceId: "srv-d0abcdefghijklmnopqr",
        apiUrl: "https://api.render.com/v1",
        serviceUrl: "https://ahoy-indie-media.onrender.com",
        plan: verificationPlan({ disableSignup: true, blockDirectMedia: false, stabilityWindowSeconds: 300 }),
        deployId: "dep-d0abcdefghijklmnopqr",
        liveAt: at(0),
        verifiedAt: at(2),
        verifiedAfterSeconds: 2,
        incident,
    });
}

describe("the watch's update to an open incident", () => {
    const incident = signupAbuse(1, "ahoy-ops-42");
    const target = incidentTarget(incident);

    it("is the runbook's Status Update, its Progress line the watch's finding, filed in the incident's alert", () => {
        const figure: WatchFigure = {
            check: "health",
            status: "crossed",
            line: "error rate 12.0% is over the 5.0% limit: 6 of 50 answers to GET /healthz were not 200 (6 x 500), the first at +31.0 s",
        };
        const notice = watchNotice(incident, target, figure, 33, "prod", new Date(at(33)), []);
        assert.equal(
            notice.text,
            [
                "📊 INCIDENT UPDATE - Signup abuse",
                "Time: 2026-12-01 03:00 UTC",
                "Status: Mitigating",
                "Progress: the watch of DISABLE_SIGNUP (deploy dep-d0abcdefghijklmnopqr, live at 2026-12-01 03:00 UTC) saw a " +
                    "threshold crossed at +33 s: health: error rate 12.0% is over the 5.0% limit: 6 of 50 answers to GET " +
                    "/healthz were not 200 (6 x 500), the first at +31.0 s; it watches on to the end of its 300 s window " +
                    "(npm run watch -- prod)",
                "ETA: not estimated yet; the next update follows the next change of status or impact",
            ].join("\n"),
        );
        assert.equal(notice.dedupKey, "ahoy-ops-42", "PagerDuty: the incident's own alert, never a new page");
        assert.equal(notice.severity, "critical");
        assert.equal(notice.messageId, "<watch.dep-d0abcdefghijklmnopqr.ahoy-ops-42@ahoy-ops.invalid>");
        assert.equal(notice.inReplyTo, "<alert.ahoy-ops-42@ahoy-ops.invalid>");
    });

    it("masks every secret it knows, plain or URL-encoded, and stays within what the channels take", () => {
        const key = "rnd_s3cretKeyThatMustNotShow";
        const figure: WatchFigure = {
            check: "log",
            status: "crossed",
            line: `FATAL token=${key} url=${encodeURIComponent(`${key}/x`)} ${"x".repeat(3000)}`,
        };
        const notice = watchNotice(incident, target, figure, 5, "prod", new Date(at(5)), [key]);
        assert.ok(!notice.text.includes(key) && !notice.text.includes("s3cretKey"), notice.text.slice(0, 300));
        assert.match(notice.progress, /FATAL token=\[redacted\] url=\[redacted\]%2Fx /);
        assert.ok(notice.progress.length <= 2000, `${notice.progress.length} characters`);
    });
});

describe("the watch's update reaching the incident's channels (scripts/watchNotify.ts, against stand-ins)", function () {
    this.timeout(30_000);
    let slack: SlackStandIn;
    let pagerDuty: PagerDutyStandIn;
    let smtp: SmtpStandIn;
    const incident = signupAbuse(2, "ahoy-ops-7");
    const target = incidentTarget(incident);
    const figure: WatchFigure = {
        check: "metric",
        status: "crossed",
        line: "memory: 93.1% of the 512 MB limit, over 90% (Render's figures for +0.0 s to +300.0 s)",
    };

    before(async () => {
        [slack, pagerDuty, smtp] = await Promise.all([
            startSlackStandIn(),
            startPagerDutyStandIn(),
            startSmtpStandIn(),
        ]);
        process.env.AHOY_PAGERDUTY_EVENTS_URL = pagerDuty.eventsUrl;
    });

    after(async () => {
        delete process.env.AHOY_PAGERDUTY_EVENTS_URL;
        await Promise.all([slack?.close(), pagerDuty?.close(), smtp?.close()]);
    });

    it("one Status Update per channel: Slack's post, PagerDuty's event in the incident's alert (no new page), email threaded under the alert", async () => {
        const lines: string[] = [];
        const config: Record<string, string> = {
            slackWebhookUrl: slack.webhookUrl,
            pagerDutyRoutingKey: pagerDuty.routingKey,
            smtpUrl: smtp.url,
            alertEmail: "oncall@ahoy.example",
        };
        // The incident's alert as the up sent it: PagerDuty has its alert open.
        await fetch(pagerDuty.eventsUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
                routing_key: pagerDuty.routingKey,
                event_action: "trigger",
                dedup_key: incident.dedupKey,
                payload: { summary: "alert", source: "ahoy-indie-media", severity: "error" },
            }),
        }).then((r) => r.arrayBuffer());
        await notifyIncident(target, figure, 301, {
            stack: "prod",
            secret: async (key) => config[key],
            knownSecrets: ["rnd_the_render_key"],
            log: (line) => lines.push(line),
        });
        assert.equal(slack.posts.length, 1);
        assert.match(slack.posts[0].text, /^📊 INCIDENT UPDATE - Signup abuse\n/);
        assert.match(
            slack.posts[0].text,
            /Progress: the watch of DISABLE_SIGNUP .* saw a threshold crossed at \+301 s: metric: memory: 93\.1%/,
        );
        const event = pagerDuty.events.at(-1);
        assert.equal(event?.dedup_key, incident.dedupKey);
        assert.equal(
            pagerDuty.alerts.get(incident.dedupKey)?.incidents,
            1,
            "the update joins the open alert: nobody is paged twice",
        );
        assert.equal(smtp.mails.length, 1);
        assert.equal(smtp.mails[0].headers["in-reply-to"], "<alert.ahoy-ops-7@ahoy-ops.invalid>");
        assert.deepEqual(
            lines.map((l) => /^(\w+): the watch's update delivered: /.exec(l)?.[1]).sort(),
            ["Email", "PagerDuty", "Slack"],
            lines.join("\n"),
        );
        const said = lines.join("\n");
        for (const secret of [slack.token, pagerDuty.routingKey, smtp.password])
            assert.ok(!said.includes(secret), "no secret said");
    });

    it("a channel not configured is said so; one that fails is said with its answer, never its secret", async () => {
        const lines: string[] = [];
        slack.fail({ mode: "down" });
        await notifyIncident(target, figure, 5, {
            stack: "prod",
            secret: async (key) => (key === "slackWebhookUrl" ? slack.webhookUrl : undefined),
            knownSecrets: [],
            log: (line) => lines.push(line),
        });
        slack.heal();
        assert.ok(
            lines.includes("PagerDuty: the watch's update not sent: pagerDutyRoutingKey is not set"),
            lines.join("\n"),
        );
        assert.ok(lines.includes("Email: the watch's update not sent: alertEmail is not set"), lines.join("\n"));
        const slackLine = lines.find((l) => l.startsWith("Slack:")) ?? "";
        assert.match(slackLine, /^Slack: the watch's update not delivered: answered 503/);
        assert.ok(!slackLine.includes(slack.token));
    });
});

describe("where the watch sends the Render key", () => {
    it("only to Render's own API or an emulator on this machine", () => {
        const rows: Array<[string, boolean]> = [
            ["https://api.render.com/v1", true],
            ["http://127.0.0.1:4010/v1", true],
            ["http://localhost:4010/v1", true],
            ["http://api.render.com/v1", false],
            ["https://api.render.com.evil.example/v1", false],
            ["https://render-proxy.internal/v1", false],
        ];
        for (const [url, allowed] of rows) assert.equal(apiUrlProblem(url) === undefined, allowed, url);
    });
});

describe("the watch against the emulator and its stand-in app", function () {
    this.timeout(60_000);
    let emulator: Emulator;
    let client: RenderClient;

    before(async () => {
        // The watch runs here 25 times faster than in production (Render looked at every 200 ms, not every 5 s): so does
        // Render's budget of 400 GETs, a window of 2.4 s for its minute, or the file's later tests wait out its 429s.
        emulator = await startEmulator({ stepMs: 20, rateLimitWindowMs: 2_400 });
        client = new RenderClient({ apiKey: emulator.apiKey, baseUrl: emulator.baseUrl, retryBaseMs: 10 });
    });

    after(async () => {
        await emulator?.close();
    });

    afterEach(async () => {
        emulator.misbehave(undefined);
        if (emulator.maintenanceMode().enabled)
            await client.updateMaintenanceMode(emulator.serviceId, { enabled: false, uri: "" });
    });

    /** The target the stack would export for the live deploy, its window of `seconds` starting `ago` ms before now. */
    function target(seconds: number, ago = 0): WatchTarget {
        const liveAt = new Date(Date.now() - ago).toISOString();
        return watchTarget({
            service: "ahoy-indie-media",
            serviceId: emulator.serviceId,
            apiUrl: emulator.baseUrl,
            serviceUrl: emulator.appUrl,
            plan: verificationPlan({
                disableSignup: false,
                blockDirectMedia: false,
                stabilityWindowSeconds: seconds,
                databaseId: emulator.databaseId,
            }),
            deployId: emulator.liveDeploy()!.id,
            liveAt,
            verifiedAt: liveAt,
            verifiedAfterSeconds: 1,
            maxConnections: 100,
        });
    }

    const metricsOf = (t: WatchTarget): WatchSource<MetricsReadings> =>
        metricsSource(
            client,
            {
                serviceId: t.serviceId,
                databaseId: t.metrics.databaseId,
                maxConnections: t.metrics.maxConnections,
                expected5xx: [],
            },
            Date.parse(t.liveAt),
        ) as WatchSource<MetricsReadings>;

    /** Runs the watch; its report, outcome and log, and the crossings it handed on. */
    function watching(t: WatchTarget, extra: Partial<WatchOptions> = {}) {
        const lines: string[] = [];
        const told: Array<{ figure: WatchFigure; atSeconds: number }> = [];
        const started = Date.now();
        const done = runWatch({
            target: t,
            render: client,
            sources: [metricsOf(t) as WatchSource<unknown>],
            log: (line) => lines.push(line),
            onCrossing: (figure, atSeconds) => void told.push({ figure, atSeconds }),
            timing: { sampleMs: 100, pollMs: 200, lagGraceMs: 600, lagPollMs: 100 },
            ...extra,
        }).then((report) => ({ report, outcome: watchOutcome(report), lines, told, ms: Date.now() - started }));
        return { lines, told, done };
    }

    it("a healthy deploy: its whole window watched, every figure judged, clean (exit 0), Render asked at a modest rate", async () => {
        emulator.clearRequests();
        const { report, outcome, lines } = await watching(target(2)).done;
        assert.equal(outcome.exitCode, WATCH_EXIT.clean, `${outcome.summary}\n${lines.join("\n")}`);
        assert.deepEqual(report.end, { reason: "window", atSeconds: 2 });
        assert.match(
            report.sources[0].figures[0].line,
            /^GET \/healthz: \d+ requests, 0 errors \(0\.0%\), slowest \d+ ms from \+0\.\d s to \+1\.\d s/,
        );
        assert.equal(report.sources[1].figures.length, 5);
        const looks = emulator.requests().filter((r) => r.path.endsWith("/deploys")).length;
        assert.ok(looks >= 5 && looks <= 12, `${looks} looks at the live deploy over 2 s at one per 200 ms`);
    });

    it("a regression in the window is said at once (and handed to the incident's channels once), then fails the watch (exit 1)", async () => {
        const t = target(3);
        const run = watching(t);
        await waitFor("the watch to ask /healthz", () => run.lines.some((l) => l.startsWith("watching ")), {
            timeoutMs: 2_000,
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        emulator.misbehave({ pathPrefix: "/healthz", status: 500 });
        await waitFor("the crossing to be said", () => run.lines.some((l) => l.startsWith("CROSSED")), {
            timeoutMs: 2_500,
        });
        const saidAt = Date.now();
        emulator.misbehave(undefined);
        const { report, outcome, told } = await run.done;
        assert.ok(Date.now() - saidAt > 500, "said before the window ended, not at its end");
        assert.equal(outcome.exitCode, WATCH_EXIT.crossed, outcome.summary);
        assert.equal(report.end.reason, "window", "the watch goes on to the end of its window");
        assert.equal(told.length, 1, "the channels are told once per window");
        assert.match(
            outcome.failures[0],
            /^health: error rate \d+\.\d% is over the 5\.0% limit: \d+ of \d+ answers to GET \/healthz were not 200 \(\d+ x 500\), the first at \+\d\.\d s \(\d+ requests/,
        );
        assert.doesNotMatch(outcome.failures.join("\n"), /did not take effect/);
    });

    it("a newer up's deploy going live supersedes it: it ends, reporting what it saw until then, the regression included", async () => {
        const t = target(20);
        const run = watching(t);
        await waitFor("the watch to ask /healthz", () => run.lines.some((l) => l.startsWith("watching ")), {
            timeoutMs: 2_000,
        });
        emulator.misbehave({ pathPrefix: "/healthz", status: 500 });
        await waitFor("the crossing to be said", () => run.lines.some((l) => l.startsWith("CROSSED")), {
            timeoutMs: 3_000,
        });
        emulator.misbehave(undefined);
        const newer = await client.triggerDeploy(emulator.serviceId, { deployMode: "deploy_only" });
        const { report, outcome, ms } = await run.done;
        assert.ok(ms < 10_000, `ended ${ms} ms after it began, not at the end of its 20 s window`);
        assert.equal(report.end.reason, "superseded");
        assert.equal((report.end as { by: string }).by, newer.id);
        assert.equal(outcome.exitCode, WATCH_EXIT.crossed, "what it saw before the cut still fails it");
        assert.match(
            outcome.summary,
            // /healthz's 500s count in Render's error rate too.
            new RegExp(
                `FAILED: \\d thresholds? crossed \\(health(, metric error rate)?\\) in the \\d+ s before ${newer.id} superseded it`,
            ),
        );
        assert.ok(
            run.lines.some(
                (l) => l.startsWith(`superseded by ${newer.id} at +`) && l.includes("that up's own watch covers it"),
            ),
        );
    });

    it("a teammate's dashboard deploy is taken on: the window is lengthened to watch it a full window too", async () => {
        const t = target(2);
        const run = watching(t);
        await new Promise((resolve) => setTimeout(resolve, 500));
        const manual = emulator.dashboardDeploy();
        await waitFor("the dashboard deploy to go live", () => emulator.liveDeploy()?.id === manual.id, {
            timeoutMs: 5_000,
        });
        const { report, outcome } = await run.done;
        assert.equal(outcome.exitCode, WATCH_EXIT.clean, outcome.summary);
        assert.deepEqual(
            report.alsoWatched.map((d) => [d.deployId, d.trigger]),
            [[manual.id, "manual"]],
        );
        assert.equal(report.end.reason, "window");
        assert.ok(report.end.atSeconds > 2, `lengthened past the 2 s window: ended at +${report.end.atSeconds} s`);
        assert.ok(
            run.lines.some(
                (l) =>
                    l.includes(`${manual.id} went live at +`) &&
                    l.includes("a dashboard deploy (manual), not this stack's"),
            ),
        );
    });

    it("the maintenance page going up ends it without a false alarm from its 503s", async () => {
        const t = target(10);
        const run = watching(t);
        await new Promise((resolve) => setTimeout(resolve, 500));
        await client.updateMaintenanceMode(emulator.serviceId, { enabled: true, uri: "" });
        const { report, outcome, told } = await run.done;
        assert.equal(report.end.reason, "maintenance");
        assert.equal(outcome.exitCode, WATCH_EXIT.clean, outcome.summary);
        assert.equal(told.length, 0, "no channel told of the page's 503s");
    });

    it("Ctrl-C ends it at once: live and verified at +N s, cut short after M s, what it saw (exit 130)", async () => {
        const stop = new AbortController();
        const run = watching(target(30), { signal: stop.signal });
        await new Promise((resolve) => setTimeout(resolve, 700));
        const pressed = Date.now();
        stop.abort();
        const { report, outcome } = await run.done;
        assert.ok(Date.now() - pressed < 500, `ended ${Date.now() - pressed} ms after Ctrl-C`);
        assert.equal(outcome.exitCode, WATCH_EXIT.interrupted);
        assert.match(
            outcome.summary,
            /^deploy dep-\w+ was live and verified at \+1 s; the watch was cut short after \d+ s of its 30 s window \(Ctrl-C\); what it saw: nothing crossed in the \d+ s watched \(health: 1 ok; metrics: 1 could not be judged\)$/,
        );
        assert.equal(
            report.sources[1].figures[0].line,
            "Render's metrics: not read: the watch was cut short before its window ended",
        );
    });

    it("a window over before the watch began: /healthz could not be judged, Render's metrics for the window still read (exit 3)", async () => {
        const { report, outcome } = await watching(target(1, 3_000)).done;
        assert.equal(report.end.reason, "over");
        assert.equal(outcome.exitCode, WATCH_EXIT.incomplete, outcome.summary);
        assert.equal(report.sources[1].figures.length, 5, "the metrics for the window are judged");
    });

    it("figures Render has not reported yet are waited for past the window; once they come, judged", async () => {
        const t = target(1);
        let reads = 0;
        const source = metricsOf(t);
        const lagging: WatchSource<MetricsReadings> = {
            ...source,
            // Render's lag: the first two reads lack the memory figures' newest bucket.
            read: async (range) => {
                const readings = await source.read(range);
                reads += 1;
                if (reads > 2) return readings;
                const newest = Math.floor((range.end.getTime() - 1) / 30_000) * 30_000;
                const drop = (s: MetricsReadings["memory"][number]) => ({
                    ...s,
                    values: s.values.filter((p) => Date.parse(p.timestamp) < newest),
                });
                return { ...readings, memory: readings.memory.map(drop) };
            },
        };
        const run = watching(t, {
            sources: [lagging as WatchSource<unknown>],
            timing: { sampleMs: 100, pollMs: 200, lagGraceMs: 2_000, lagPollMs: 100 },
        });
        const { outcome } = await run.done;
        assert.equal(outcome.exitCode, WATCH_EXIT.clean, outcome.summary);
        assert.equal(reads, 3);
        assert.ok(
            run.lines.some((l) => /^metrics: memory not reported yet; asking Render again every 0\.1 s until/.test(l)),
            run.lines.join("\n"),
        );
    });

    it("figures Render never reports within the grace could not be judged: reported, not a pass (exit 3)", async () => {
        const t = target(1);
        const source = metricsOf(t);
        const never: WatchSource<MetricsReadings> = {
            ...source,
            read: async (range) => ({ ...(await source.read(range)), latency: [] }),
        };
        const { outcome, report } = await watching(t, { sources: [never as WatchSource<unknown>] }).done;
        assert.equal(outcome.exitCode, WATCH_EXIT.incomplete, outcome.summary);
        const latency = report.sources[1].figures[0];
        assert.equal(latency.status, "could not be judged");
        assert.match(
            latency.line,
            /^response time: could not be judged: Render reported no latency figures of srv-\w+ for the window$/,
        );
        assert.match(outcome.summary, /but 1 figure could not be judged \(response time\)/);
    });

    /**
     * The four sources as scripts/watch.ts wires them, the events and logs read every second instead of every 15 and
     * 60 s (faster would spend the emulator's 400 GETs a minute, as it would Render's, and be waited out).
     */
    function fourSources(t: WatchTarget, secrets: string[]): Array<WatchSource<unknown>> {
        const events = eventsSource(client, { serviceId: t.serviceId, deployId: t.deployId }, secrets);
        const logs = logsSource(
            client,
            { serviceId: t.serviceId, ownerId: emulator.ownerId },
            { expected5xx: t.metrics.expected5xx, maxErrorRate: t.metrics.thresholds.maxErrorRate, secrets },
        );
        return [{ ...events, everyMs: 200 }, { ...logs, everyMs: 200 }, metricsOf(t)] as Array<WatchSource<unknown>>;
    }

    it("its four sources in one window: /healthz, the service's events, its logs and Render's metrics, each judged and named", async () => {
        const t = target(2);
        const { report, outcome, lines } = await watching(t, { sources: fourSources(t, [emulator.apiKey]) }).done;
        assert.deepEqual(
            report.sources.map((s) => s.source),
            ["health", "events", "logs", "metrics"],
        );
        assert.equal(outcome.exitCode, WATCH_EXIT.clean, `${outcome.summary}\n${lines.join("\n")}`);
        assert.deepEqual(
            report.sources[2].figures.map((f) => f.line.slice(0, f.line.indexOf(":"))),
            ["request errors", "app errors", "crash signatures"],
        );
        assert.match(report.sources[1].figures[0].line, /^events: \d+ events? in the \d+ s since the deploy went live/);
        assert.match(outcome.summary, /health: 1 ok; events: 1 ok; logs: 3 ok; metrics: 4 ok, 1 not applicable/);
    });

    it("an instance that dies in the window fails the watch at once, naming server_failed, its time and Render's reason", async () => {
        const t = target(4);
        const run = watching(t, { sources: fourSources(t, [emulator.apiKey]) });
        await waitFor("the watch to start", () => run.lines.some((l) => l.startsWith("watching ")), {
            timeoutMs: 2_000,
        });
        const instance = emulator.crash({ reason: "oom", restartSeconds: 1 });
        await waitFor("the crash to be said", () => run.lines.some((l) => /^CROSSED.*server_failed/.test(l)), {
            timeoutMs: 3_000,
        });
        const { outcome, told } = await run.done;
        assert.equal(outcome.exitCode, WATCH_EXIT.crossed, outcome.summary);
        assert.match(
            outcome.failures.find((f) => f.startsWith("event: server_failed")) ?? outcome.failures.join("\n"),
            new RegExp(`^event: server_failed at \\S+Z \\(\\+\\d+ s\\): instance ${instance} was killed out of memory`),
        );
        assert.ok(
            outcome.failures.some((f) => /^log: crash signatures: .*out of memory/.test(f)),
            `the app's last words fail the logs too:\n${outcome.failures.join("\n")}`,
        );
        assert.equal(told.length, 1, "the channels are told once per window");
    });

    it("an app error line carrying the Render key or the database password is shown redacted, never as it is", async () => {
        const password = new URL(emulator.liveEnv().DATABASE_URL).password;
        const secrets = [
            emulator.apiKey,
            ...secretsInVariables([{ key: "DATABASE_URL", value: emulator.liveEnv().DATABASE_URL }]),
        ];
        const t = target(2);
        const run = watching(t, { sources: fourSources(t, secrets) });
        await waitFor("the watch to start", () => run.lines.some((l) => l.startsWith("watching ")), {
            timeoutMs: 2_000,
        });
        emulator.appLog(`FATAL: could not log in with ${emulator.liveEnv().DATABASE_URL} (key ${emulator.apiKey})`, {
            level: "error",
        });
        const { outcome, lines } = await run.done;
        assert.equal(outcome.exitCode, WATCH_EXIT.crossed, outcome.summary);
        const all = [...lines, ...outcome.failures, outcome.summary].join("\n");
        assert.match(all, /crash signatures: .*FATAL/);
        for (const secret of [emulator.apiKey, password, decodeURIComponent(password)])
            assert.ok(!all.includes(secret), "a secret shown as it is");
    });
});

describe("what the watch redacts its lines of", () => {
    it("every value the stack's config marks secret, and nothing it does not", () => {
        const json = JSON.stringify({
            "ahoy-ops:renderApiKey": { value: "rnd_abcdefgh12345678", secret: true },
            "ahoy-ops:slackWebhookUrl": { value: "https://hooks.slack.com/services/T0/B0/xyz123456", secret: true },
            "ahoy-ops:service": { value: "ahoy-indie-media", secret: false },
            "ahoy-ops:redisUrl": { value: "", secret: true },
        });
        assert.deepEqual(secretsInConfig(json), [
            "rnd_abcdefgh12345678",
            "https://hooks.slack.com/services/T0/B0/xyz123456",
        ]);
    });

    it("the service's SECRET_KEY, DATABASE_URL with its password as written and decoded, and anything named like a credential", () => {
        const secrets = secretsInVariables([
            { key: "SECRET_KEY", value: "k3y-value-0123456789" },
            { key: "DATABASE_URL", value: "postgresql://ahoy_app_blue:p%40ss%2Fw0rd!@db:5432/ahoy_prod" },
            { key: "STRIPE_API_KEY", value: "sk_live_123456789" },
            { key: "DISABLE_SIGNUP", value: "true" },
            { key: "BLOCKED_IPS", value: "192.0.2.7" },
        ]);
        assert.deepEqual(secrets, [
            "k3y-value-0123456789",
            "postgresql://ahoy_app_blue:p%40ss%2Fw0rd!@db:5432/ahoy_prod",
            "p%40ss%2Fw0rd!",
            "p@ss/w0rd!",
            "sk_live_123456789",
        ]);
    });

    it("a password with a malformed escape is kept as written, and the watch goes on", () => {
        const url = "postgresql://ahoy_app_blue:50%off@db:5432/ahoy_prod";
        assert.deepEqual(secretsInVariables([{ key: "DATABASE_URL", value: url }]), [url, "50%off", "50%off"]);
    });
});
