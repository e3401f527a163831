// The Timeline: what each `up` leaves in the state for the post-incident report. The rule (lib/report/record.ts) by
// table; the provider through @pulumi/pulumi's own dynamic-provider host, as the engine calls it; the program's
// declaration under Pulumi's mocks (after the deploy, its checks and the incident; nothing after it; nothing secret).
import * as assert from "node:assert/strict";
import { timelineProvider } from "../components/report/timeline";
import {
    changes,
    ENTRIES_KEPT,
    factsText,
    parseFactsText,
    type IncidentLedger,
    INCIDENTS_KEPT,
    recordUp,
    type TimelineRecord,
    UNKNOWN_VALUE,
    type UpFacts,
} from "../lib/report/record";
import { dynamicUrn, PROVIDER_KEY, type ProviderHost, startProviderHost } from "./support/providerHost";
import { runProgram } from "./support/program";

const deploy = (id: string) => ({
    id,
    commit: "1d77afa5cf2fcaabc360f25fbe8f222e68bb02ee",
    status: "live",
    liveAt: "2026-12-01T03:00:10.000Z",
    decided: "variables changed: redeploying the live commit 1d77afa so they take effect; no build: ...",
});
const checks = (verifiedAt: string) => ({ verifiedAt, results: ["healthz: GET /healthz answered 200 in 4 ms"] });
const incident = (messages: number): IncidentLedger =>
    ({
        dedupKey: "ahoy-ops-1",
        openedAt: "2026-12-01T03:00:00.000Z",
        messages: Array(messages).fill({}),
    }) as IncidentLedger;
const notReady = [{ action: "Invalidate Sessions", lacks: ["redisUrl"], commands: ["pulumi config set ..."] }];
const base: UpFacts = {
    deploy: deploy("dep-a"),
    checks: checks("2026-12-01T03:00:20.000Z"),
    maintenancePage: { enabled: false, seen: "off: nothing changed" },
    incident: incident(1),
    notReady,
};
const at = new Date("2026-12-01T03:05:00.000Z");

describe("post-incident report: the Timeline each `up` leaves in the state", () => {
    describe("what makes an entry (recordUp), by table", () => {
        const table: Array<[string, Partial<UpFacts>, string[]]> = [
            ["the same facts (a no-op up)", {}, []],
            ["only the readiness (another machine's environment)", { notReady: [] }, []],
            ["a new deploy", { deploy: deploy("dep-b") }, ["deploy"]],
            ["new checks of the same deploy", { checks: checks("2026-12-01T03:04:00.000Z") }, ["checks"]],
            [
                "the maintenance page turned on",
                { maintenancePage: { enabled: true, seen: "503 ..." } },
                ["maintenancePage"],
            ],
            ["a message written to the incident", { incident: incident(2) }, ["incident"]],
            [
                "a deploy and its checks",
                { deploy: deploy("dep-b"), checks: checks("2026-12-01T03:04:00.000Z") },
                ["checks", "deploy"],
            ],
        ];
        for (const [name, change, expected] of table) {
            it(`${name}: ${expected.length === 0 ? "no entry" : `an entry with ${expected.join(", ")}`}`, () => {
                const record = recordUp(undefined, undefined, base, at);
                const next = recordUp(record, base, { ...base, ...change }, new Date(at.getTime() + 1000));
                const added = next.entries.slice(record.entries.length);
                assert.equal(added.length, expected.length === 0 ? 0 : 1);
                if (added.length === 1) {
                    const keys = Object.keys(added[0]).filter((k) => !["at", "notReady"].includes(k));
                    assert.deepEqual(keys.sort(), expected);
                    assert.deepEqual(added[0].notReady, change.notReady ?? notReady, "every entry carries readiness");
                }
            });
        }

        it("the first one is a baseline: the stack as found, not what that `up` did", () => {
            const record = recordUp(undefined, undefined, base, at);
            assert.equal(record.entries.length, 1);
            assert.equal(record.entries[0].baseline, true);
            assert.equal(record.entries[0].deploy?.id, "dep-a");
            assert.deepEqual(record.incidents, [base.incident]);
        });

        it("an incident's ledger is replaced by its newer self; a new incident is added; old ones are kept", () => {
            let record = recordUp(undefined, undefined, base, at);
            const second = { ...incident(1), dedupKey: "ahoy-ops-2" };
            record = recordUp(record, base, { ...base, incident: incident(3) }, at);
            record = recordUp(record, { ...base, incident: incident(3) }, { ...base, incident: second }, at);
            assert.deepEqual(
                record.incidents.map((i) => [i.dedupKey, (i as unknown as { messages: unknown[] }).messages.length]),
                [
                    ["ahoy-ops-1", 3],
                    ["ahoy-ops-2", 1],
                ],
            );
        });

        it(`keeps the newest ${ENTRIES_KEPT} entries and ${INCIDENTS_KEPT} incidents`, () => {
            let record: TimelineRecord | undefined;
            let previous: UpFacts | undefined;
            for (let i = 0; i < ENTRIES_KEPT + 30; i++) {
                const facts = { ...base, deploy: deploy(`dep-${i}`), incident: { ...incident(1), dedupKey: `k-${i}` } };
                record = recordUp(record, previous, facts, new Date(at.getTime() + i * 1000));
                previous = facts;
            }
            assert.equal(record!.entries.length, ENTRIES_KEPT);
            assert.equal(record!.entries[ENTRIES_KEPT - 1].deploy?.id, `dep-${ENTRIES_KEPT + 29}`);
            assert.equal(record!.incidents.length, INCIDENTS_KEPT);
            assert.equal(record!.incidents[0].dedupKey, `k-${ENTRIES_KEPT + 30 - INCIDENTS_KEPT}`);
        });

        it("the Timeline's input is a line a preview can show, then the facts, and reads back whole", () => {
            const text = factsText(base);
            assert.match(text, /^deploy dep-a live 2026-12-01T03:00:10.000Z; checks passed 2026-12-01T03:00:20.000Z; /);
            assert.throws(() => JSON.parse(text), "not JSON as a whole, so the CLI does not print it decoded");
            assert.deepEqual(parseFactsText(text), base);
            assert.equal(parseFactsText(JSON.stringify(base)), undefined);
        });

        it("the same facts are no change", () => {
            assert.equal(changes(base, base), undefined);
            assert.equal(changes(base, { ...base, notReady: [] }), undefined);
        });
    });

    describe("the provider, through the dynamic-provider host", function () {
        this.timeout(60_000);
        let host: ProviderHost;
        const urn = dynamicUrn("report:Timeline", "ahoy-timeline");
        const inputs = (facts: unknown) => ({
            [PROVIDER_KEY]: timelineProvider.source,
            facts: facts === UNKNOWN_VALUE ? facts : factsText(facts as UpFacts),
        });

        before(async () => {
            host = await startProviderHost();
        });
        after(async () => {
            await host?.close();
        });

        it("creates a baseline, appends an entry for a new deploy, and a no-op or readiness change is no diff", async () => {
            const created = await host.create(urn, inputs(base));
            assert.equal(created.id, "timeline");
            const entries = () => created.properties.entries as Array<Record<string, unknown>>;
            assert.equal(entries().length, 1);
            assert.equal(entries()[0].baseline, true);

            const same = await host.diff(created.id, urn, created.properties, inputs({ ...base, notReady: [] }));
            assert.equal(same.changes, "none", "readiness alone changes nothing");

            const next = { ...base, deploy: deploy("dep-b") };
            const diff = await host.diff(created.id, urn, created.properties, inputs(next));
            assert.equal(diff.changes, "some");
            const updated = await host.update(created.id, urn, created.properties, inputs(next));
            const after = updated.entries as Array<{ deploy?: { id: string }; at: string }>;
            assert.equal(after.length, 2);
            assert.equal(after[1].deploy?.id, "dep-b");
            assert.ok(!Number.isNaN(Date.parse(after[1].at)));
        });

        it("during a preview, facts not known yet are a change", async () => {
            const created = await host.create(urn, inputs(base));
            const diff = await host.diff(created.id, urn, created.properties, inputs(UNKNOWN_VALUE));
            assert.equal(diff.changes, "some");
            const check = await host.check(urn, created.properties, inputs(UNKNOWN_VALUE));
            assert.deepEqual(check.failures, []);
        });

        it("check refuses facts that are not the program's JSON, naming the property", async () => {
            const check = await host.check(urn, {}, { [PROVIDER_KEY]: timelineProvider.source, facts: "{not json" });
            assert.equal(check.failures.length, 1);
            assert.equal(check.failures[0].property, "facts");
            assert.match(check.failures[0].reason, /a summary, then the facts' JSON/);
        });

        it("refresh keeps the record as it is", async () => {
            const created = await host.create(urn, inputs(base));
            const read = await host.read(created.id, urn, created.properties, inputs(base));
            assert.deepEqual(read.properties.entries, created.properties.entries);
            assert.deepEqual(parseFactsText(read.inputs?.facts), base);
        });
    });

    describe("the program's declaration (Pulumi's mocks, Pulumi.prod.yaml)", function () {
        this.timeout(30_000);

        it("follows the deploy, its checks, the maintenance page and the incident, with no secret among its inputs", async () => {
            const webhook = "https://hooks.slack.com/services/T0/B0/timeline-test-secret";
            // (An open incident reads the stack's own outputs, which the mocks cannot: the Incident is declared anyway.)
            const run = await runProgram({ serviceUrl: "https://ahoy.example" }, { slackWebhookUrl: webhook });
            const timeline = run.named("ahoy-timeline");
            assert.equal(timeline.type, "pulumi-nodejs:dynamic/report:Timeline");
            for (const name of ["ahoy-deploy", "ahoy-verify", "ahoy-maintenance-page", "ahoy-incident"]) {
                assert.ok(
                    timeline.dependencies.some((urn) => urn.endsWith(`::${name}`)),
                    `depends on ${name}: ${timeline.dependencies.join(", ")}`,
                );
            }
            const raw = JSON.stringify(timeline.raw);
            assert.ok(!raw.includes("4dabf18193072939515e22adb298388d"), "no secret input");
            assert.ok(!raw.includes("timeline-test-secret"), "the webhook is not among its inputs");
            const facts = parseFactsText(timeline.inputs.facts)!;
            assert.equal(facts.deploy?.id, "dep-mock");
            assert.ok(facts.checks?.results.length, "the checks' lines");
            assert.ok(Array.isArray(facts.notReady));
            const after = run.registrations.filter((r) =>
                r.dependencies.some((urn) => urn.endsWith("::ahoy-timeline")),
            );
            assert.deepEqual(
                after.map((r) => r.name),
                [],
                "nothing waits on the Timeline",
            );
        });
    });
});
