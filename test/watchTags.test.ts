// The watch's verdict as a stack tag (lib/report/watchTags.ts): within Pulumi Cloud's limits, redacted, read back as
// written, and pruned oldest first.
import * as assert from "node:assert/strict";
import fc from "fast-check";
import {
    KEPT_WATCH_TAGS,
    MAX_TAG_NAME,
    MAX_TAG_VALUE,
    parseWatchTags,
    staleWatchTags,
    type WatchRecord,
    watchTagName,
    watchTagValue,
} from "../lib/report/watchTags";

const DEPLOY = "dep-d4a1b2c3e5f6g7h8i9j0";
const ENDED = new Date("2026-12-06T03:14:15.926Z");

describe("the watch's verdict kept as a stack tag", () => {
    it("is named after the deploy, within the 40 characters a tag name may have; anything else is refused", () => {
        assert.equal(watchTagName(DEPLOY), "ahoy-watch.dep-d4a1b2c3e5f6g7h8i9j0");
        assert.ok(watchTagName(DEPLOY).length <= MAX_TAG_NAME);
        for (const bad of ["srv-d4a1b2c3e5f6g7h8i9j0", "dep-", "dep-../x", `dep-${"a".repeat(40)}`]) {
            assert.throws(() => watchTagName(bad), /is not a Render deploy id \(dep-\.\.\.\)/, bad);
        }
    });

    it("reads back as written: the end time to the second, the verdict, the first failure", () => {
        const value = watchTagValue(
            ENDED,
            "watch of DISABLE_SIGNUP: FAILED: 1 threshold crossed (events)",
            ["events: server_failed at 03:12:01 (Out of memory)", "logs: a second failure"],
            [],
        );
        const read = parseWatchTags(JSON.stringify({ [watchTagName(DEPLOY)]: value, owner: "ops" }));
        assert.deepEqual(
            [...read.values()],
            [
                {
                    deployId: DEPLOY,
                    endedAt: new Date("2026-12-06T03:14:15Z"),
                    text:
                        "watch of DISABLE_SIGNUP: FAILED: 1 threshold crossed (events); " +
                        "first: events: server_failed at 03:12:01 (Out of memory)",
                },
            ],
        );
    });

    it("a long verdict gives way to the first failure: both are in the tag", () => {
        const summary = `watch of DISABLE_SIGNUP (deploy ${DEPLOY}): FAILED: 3 thresholds crossed ${"(counts) ".repeat(40)}`;
        const value = watchTagValue(
            ENDED,
            summary,
            [`health: error rate 40.0% is over the 5.0% limit ${"x".repeat(300)}`],
            [],
        );
        assert.ok(value.length <= MAX_TAG_VALUE, `${value.length} characters`);
        assert.match(
            value,
            /^2026-12-06T03:14:15Z watch of DISABLE_SIGNUP \(deploy dep-\w+\): FAILED: 3 thresholds crossed .*…; first: health: error rate 40\.0% is over the 5\.0% limit x+…$/,
        );
    });

    it("never holds a secret, whatever the line quoted, and never more than 256 characters", () => {
        fc.assert(
            fc.property(
                fc.string({ minLength: 12, maxLength: 40 }).filter((s) => /^[\x21-\x7e]+$/.test(s)),
                fc.string({ maxLength: 600 }),
                (secret, around) => {
                    const value = watchTagValue(
                        ENDED,
                        `clean ${around}`,
                        [`logs: password ${secret} rejected`],
                        [secret],
                    );
                    assert.ok(!value.includes(secret), value);
                    assert.ok(!value.includes(encodeURIComponent(secret)), value);
                    assert.ok(value.length <= MAX_TAG_VALUE, `${value.length} characters`);
                    assert.ok(!value.includes("\n"), "one line");
                },
            ),
        );
    });

    it("passes over other tags and values it did not write", () => {
        const read = parseWatchTags(
            JSON.stringify({
                "pulumi:project": "ahoy-ops",
                "ahoy-watch.dep-a": "no time first",
                "ahoy-watch.dep-b": 7,
            }),
        );
        assert.equal(read.size, 0);
        assert.equal(parseWatchTags("not json").size, 0);
        assert.equal(parseWatchTags("").size, 0);
    });

    it(`keeps the newest ${KEPT_WATCH_TAGS}: the ones that ended first are dropped`, () => {
        const records = new Map<string, WatchRecord>();
        for (let i = 0; i < KEPT_WATCH_TAGS + 3; i++) {
            const deployId = `dep-${String(i).padStart(20, "0")}`;
            records.set(deployId, { deployId, endedAt: new Date(ENDED.getTime() + i * 60_000), text: "clean" });
        }
        assert.deepEqual(staleWatchTags(records), [
            "ahoy-watch.dep-00000000000000000002",
            "ahoy-watch.dep-00000000000000000001",
            "ahoy-watch.dep-00000000000000000000",
        ]);
        assert.deepEqual(staleWatchTags(new Map([...records].slice(0, KEPT_WATCH_TAGS))), []);
    });
});
