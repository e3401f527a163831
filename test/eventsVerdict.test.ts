// judgeEvents: Render's service events from the deploy going live to the end of the window, table by table.
import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
    describeFailure,
    type EventsReadings,
    FAILING_EVENTS,
    judgeEvents,
} from "../components/verification/eventsVerdict";
import type { ServiceEvent } from "../lib/render/client";

const SERVICE = "srv-d0abcdefghijklmnopqr";
const INSTANCE = `${SERVICE}-x4k2p`;
const DEPLOY = "dep-d0watched0000000000";
const LIVE = Date.UTC(2026, 0, 5, 10, 0, 0);

let seq = 0;
/** An event `seconds` after the deploy went live. */
function event(type: string, seconds: number, details: Record<string, unknown> = {}): ServiceEvent {
    return {
        id: `evt-${String(++seq).padStart(20, "0")}`,
        timestamp: new Date(LIVE + seconds * 1000).toISOString(),
        serviceId: SERVICE,
        type,
        details,
    };
}

function readings(events: ServiceEvent[], extra: Partial<EventsReadings> = {}): EventsReadings {
    return {
        serviceId: SERVICE,
        deployId: DEPLOY,
        from: new Date(LIVE).toISOString(),
        to: new Date(LIVE + 300_000).toISOString(),
        events,
        complete: true,
        pages: 1,
        ...extra,
    };
}

describe("judgeEvents", () => {
    it("a quiet window passes, saying so", () => {
        const verdict = judgeEvents(readings([]));
        assert.deepEqual(
            { ok: verdict.ok, status: verdict.status, failures: verdict.failures, summary: verdict.summary },
            {
                ok: true,
                status: "ok",
                failures: [],
                summary: "events: 0 events in the 300 s since the deploy went live, none that fails the watch",
            },
        );
    });

    // Each row: one event in the window, whether it fails the watch, and the line the on-call reads.
    const cases: Array<[string, ServiceEvent, boolean, string]> = [
        [
            "an instance that exited",
            event("server_failed", 41, { instanceID: INSTANCE, reason: { evicted: false, nonZeroExit: 1 } }),
            true,
            `server_failed at 2026-01-05T10:00:41Z (+41 s): instance ${INSTANCE} exited with status 1`,
        ],
        [
            "an out-of-memory kill",
            event("server_failed", 90, {
                instanceID: INSTANCE,
                reason: { evicted: false, oomKilled: { memoryLimit: "512Mi" } },
            }),
            true,
            `server_failed at 2026-01-05T10:01:30Z (+90 s): instance ${INSTANCE} was killed out of memory (limit 512Mi)`,
        ],
        [
            "an instance that failed its health check",
            event("server_failed", 12, {
                instanceID: INSTANCE,
                reason: { evicted: false, unhealthy: "GET /healthz answered 500" },
            }),
            true,
            `server_failed at 2026-01-05T10:00:12Z (+12 s): instance ${INSTANCE} failed its health check: GET /healthz answered 500`,
        ],
        [
            "a failure Render gives no reason for",
            event("server_failed", 5, { instanceID: INSTANCE }),
            true,
            `server_failed at 2026-01-05T10:00:05Z (+5 s): instance ${INSTANCE} failed (Render gave no reason)`,
        ],
        [
            "a restart by Render",
            event("server_restarted", 95, { triggeredByUser: null }),
            true,
            "server_restarted at 2026-01-05T10:01:35Z (+95 s): the service was restarted by Render",
        ],
        [
            "a restart by a teammate",
            event("server_restarted", 95, { triggeredByUser: "usr-d0teammate000000000" }),
            true,
            "server_restarted at 2026-01-05T10:01:35Z (+95 s): the service was restarted by usr-d0teammate000000000",
        ],
        [
            "an image that could not be pulled",
            event("image_pull_failed", 3, { imageURL: "docker.io/ahoy/app:9", message: "manifest unknown" }),
            true,
            "image_pull_failed at 2026-01-05T10:00:03Z (+3 s): the image docker.io/ahoy/app:9 could not be pulled: manifest unknown",
        ],
        [
            "failed hardware",
            event("server_hardware_failure", 200),
            true,
            "server_hardware_failure at 2026-01-05T10:03:20Z (+200 s): the hardware under an instance failed (Render moves it)",
        ],
        [
            "an instance failing health checks (Render's older event)",
            event("server_unhealthy", 7, { instanceID: INSTANCE }),
            true,
            `server_unhealthy at 2026-01-05T10:00:07Z (+7 s): instance ${INSTANCE} failed its health checks`,
        ],
        [
            "an instance available",
            event("server_available", 96),
            false,
            "server_available at 2026-01-05T10:01:36Z (+96 s): an instance is available",
        ],
        [
            "the watched deploy's own end",
            event("deploy_ended", 0, { deployId: DEPLOY, deployStatus: "succeeded", reason: {}, status: 2 }),
            false,
            `deploy_ended at 2026-01-05T10:00:00Z (+0 s): deploy ${DEPLOY} (the deploy watched) ended succeeded`,
        ],
        [
            "another deploy starting (a teammate's, or the next action's)",
            event("deploy_started", 60, { deployId: "dep-d0other00000000000000", trigger: {} }),
            false,
            "deploy_started at 2026-01-05T10:01:00Z (+60 s): deploy dep-d0other00000000000000 (another deploy) started",
        ],
        [
            "a zero-downtime redeploy by Render",
            event("zero_downtime_redeploy_started", 30, { trigger: "render" }),
            false,
            'zero_downtime_redeploy_started at 2026-01-05T10:00:30Z (+30 s): {"trigger":"render"}',
        ],
        [
            "disk usage high (the disk metric judges the disk)",
            event("service_disk_usage_high", 30),
            false,
            "service_disk_usage_high at 2026-01-05T10:00:30Z (+30 s): (no details)",
        ],
    ];
    for (const [what, seen, fails, line] of cases) {
        it(`${what} ${fails ? "fails the watch" : "is reported, not failed on"}, naming it, its time and Render's reason`, () => {
            const verdict = judgeEvents(readings([seen]));
            assert.equal(verdict.ok, !fails);
            assert.equal(verdict.status, fails ? "crossed" : "ok");
            assert.deepEqual(
                verdict.events.map((e) => e.line),
                [line],
            );
            assert.deepEqual(verdict.failures, fails ? [line] : []);
        });
    }

    it("a crash and its recovery: both failing events named, oldest first; the rest reported", () => {
        const verdict = judgeEvents(
            readings([
                event("server_available", 21),
                event("server_restarted", 20, { triggeredByUser: null }),
                event("server_failed", 10, { instanceID: INSTANCE, reason: { evicted: false, nonZeroExit: 137 } }),
                event("deploy_ended", 0, { deployId: DEPLOY, deployStatus: "succeeded" }),
            ]),
        );
        assert.equal(verdict.ok, false);
        assert.deepEqual(
            verdict.events.map((e) => [e.type, e.fails]),
            [
                ["deploy_ended", false],
                ["server_failed", true],
                ["server_restarted", true],
                ["server_available", false],
            ],
        );
        assert.equal(
            verdict.summary,
            "events: 4 events in the 300 s since the deploy went live: 2 fail the watch (server_failed, server_restarted); " +
                "reported: deploy_ended, server_available",
        );
    });

    it("leaves out events before the deploy went live and after the window", () => {
        const verdict = judgeEvents(
            readings([
                event("server_failed", -5, { instanceID: INSTANCE, reason: { evicted: true } }),
                event("server_failed", 301, { instanceID: INSTANCE, reason: { evicted: true } }),
            ]),
        );
        assert.deepEqual({ ok: verdict.ok, events: verdict.events }, { ok: true, events: [] });
    });

    it("a read that stopped at its page bound could not be judged, unless what it read already fails", () => {
        const partial = judgeEvents(readings([event("server_available", 290)], { complete: false, pages: 10 }));
        assert.equal(partial.status, "could not be judged");
        assert.equal(partial.ok, true, "reported, not a failure");
        assert.match(partial.summary, /^events: could not be judged: the read stopped after 10 pages/);
        const failed = judgeEvents(readings([event("server_hardware_failure", 290)], { complete: false, pages: 10 }));
        assert.equal(failed.status, "crossed");
    });

    it("redacts every secret from Render's text, and lists a busy window's events up to the bound, then a count", () => {
        const key = "rnd_Secr3tKeyThatMustNeverShow";
        const verdict = judgeEvents(
            readings([
                event("image_pull_failed", 1, {
                    imageURL: `https://user:${key}@registry.example/ahoy:1`,
                    message: `unauthorized for ${key}`,
                }),
                ...Array.from({ length: 30 }, (_, i) => event("server_available", 10 + i)),
            ]),
            { secrets: [key], maxLines: 5 },
        );
        assert.ok(!JSON.stringify(verdict).includes("Secr3tKey"), JSON.stringify(verdict.failures));
        assert.match(verdict.failures[0], /could not be pulled: unauthorized for \[redacted\]/);
        assert.equal(verdict.events.length, 6);
        assert.equal(verdict.events[5].line, "... and 26 more events (server_available x 26)");
    });

    it("fails on every failing type, whatever else is in the window (property)", () => {
        const types = [...FAILING_EVENTS, "server_available", "deploy_ended", "plan_changed", "autoscaling_started"];
        fc.assert(
            fc.property(fc.array(fc.tuple(fc.constantFrom(...types), fc.integer({ min: 0, max: 300 }))), (drawn) => {
                const verdict = judgeEvents(readings(drawn.map(([type, at]) => event(type, at))));
                const failing = drawn.filter(([type]) => FAILING_EVENTS.has(type)).length;
                return verdict.ok === (failing === 0) && verdict.failures.length === failing;
            }),
        );
    });

    it("says each of Render's failure reasons in words", () => {
        const table: Array<[unknown, string]> = [
            [{ evicted: true }, "was evicted"],
            [{ evicted: false, earlyExit: true }, "exited early"],
            [
                { evicted: false, timedOutSeconds: 900, timedOutReason: "start command" },
                "timed out after 900 s: start command",
            ],
            [
                { evicted: false, nonZeroExit: 1, oomKilled: { memoryLimit: "2Gi" } },
                "was killed out of memory (limit 2Gi), exited with status 1",
            ],
            ["oom", "failed (Render gave no reason)"],
            [undefined, "failed (Render gave no reason)"],
        ];
        for (const [reason, words] of table) assert.equal(describeFailure(reason), words, JSON.stringify(reason));
    });
});
