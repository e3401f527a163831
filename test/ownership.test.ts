// Who owns a service, what adoption records and what letting go does: the pure rules, by tables.
import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
    adoptionNote,
    adoptionRecord,
    formatMarker,
    generationProblems,
    highestGenerations,
    letGoPlan,
    mayLetGo,
    type MarkerReading,
    noLongerManaged,
    OWNER_MARKER_KEY,
    type OwnerMarker,
    type OwnershipRequest,
    ownershipVerdict,
    parseMarker,
    restoreSteps,
} from "../components/render/ownership";

const PROD = "organization/ahoy-ops/prod";
const SCRATCH = "organization/ahoy-ops/scratch";
const OTHER = "organization/ahoy-ops/staging";

function marker(overrides: Partial<OwnerMarker> = {}): OwnerMarker {
    return {
        stack: PROD,
        claim: "c1a1m",
        since: "2026-12-01T03:00:00.000Z",
        generations: { secretKey: 2, databaseCredential: 3 },
        found: { BLOCKED_IPS: "192.0.2.7", DISABLE_SIGNUP: null },
        ...overrides,
    };
}

const present = (m: OwnerMarker = marker()): MarkerReading => ({ state: "present", marker: m });
const request = (overrides: Partial<OwnershipRequest> = {}): OwnershipRequest => ({
    stack: PROD,
    generations: { secretKey: 2, databaseCredential: 3 },
    ...overrides,
});
const reasons = (verdict: ReturnType<typeof ownershipVerdict>) =>
    verdict.ok ? [] : verdict.problems.map((p) => p.reason);

describe("the owner marker on the service", () => {
    it("reads back exactly what was written, whatever the found values", () => {
        fc.assert(
            fc.property(
                fc.dictionary(fc.stringMatching(/^[A-Z_]{1,12}$/), fc.option(fc.string(), { nil: null })),
                fc.integer({ min: 1, max: 1e6 }),
                fc.option(fc.integer({ min: 1, max: 1e6 }), { nil: undefined }),
                (found, secretKey, databaseCredential) => {
                    const m = marker({ found, generations: { secretKey, databaseCredential } });
                    const read = parseMarker(formatMarker(m));
                    assert.equal(read.state, "present");
                    assert.equal(formatMarker((read as { marker: OwnerMarker }).marker), formatMarker(m));
                },
            ),
        );
    });

    it("is the same text for the same record, whatever order the keys came in", () => {
        const a = marker({ found: { A: "1", B: null } });
        const b = marker({ found: { B: null, A: "1" } });
        assert.equal(formatMarker(a), formatMarker(b));
    });

    const unreadable: Array<[string, string]> = [
        ["not json", "it is not JSON"],
        ["[1,2]", "it is not an object"],
        [JSON.stringify({ ...marker(), stack: "prod" }), "its stack is not <organization>/<project>/<stack>"],
        [JSON.stringify({ ...marker(), claim: "" }), "it has no claim"],
        [JSON.stringify({ ...marker(), generations: { secretKey: 0 } }), "its generations are not whole numbers >= 1"],
        [JSON.stringify({ ...marker(), found: { A: 1 } }), "its found values are not strings or null"],
    ];
    for (const [raw, why] of unreadable) {
        it(`a value this program did not write is unreadable, saying why: ${why}`, () => {
            assert.deepEqual(parseMarker(raw), { state: "unreadable", why });
        });
    }

    it("absent is absent", () => {
        assert.deepEqual(parseMarker(undefined), { state: "absent" });
    });
});

describe("who may write to the service", () => {
    const cases: Array<{
        what: string;
        reading: MarkerReading;
        request: Partial<OwnershipRequest>;
        action?: string;
        refused?: RegExp[];
    }> = [
        { what: "an unowned service is claimed (adopted)", reading: { state: "absent" }, request: {}, action: "claim" },
        { what: "the owner holds its own service", reading: present(), request: {}, action: "hold" },
        {
            what: "a stack whose marker was deleted by hand claims it again",
            reading: { state: "absent" },
            request: { recorded: { generations: { secretKey: 2 } } },
            action: "reclaim",
        },
        {
            what: "a second stack refuses, naming the owner and the reviewed hand-over",
            reading: present(),
            request: { stack: SCRATCH },
            refused: [
                /ahoy-indie-media is managed by stack organization\/ahoy-ops\/prod \(since 2026-12-01T03:00:00.000Z\)/,
                /This stack \(organization\/ahoy-ops\/scratch\) writes nothing to it/,
                /`pulumi config set takeOverFrom organization\/ahoy-ops\/prod`/,
                /`pulumi destroy --stack organization\/ahoy-ops\/prod` keeps the secrets and the login/,
            ],
        },
        {
            what: "takeOverFrom naming the owner hands it over",
            reading: present(),
            request: { stack: SCRATCH, takeOverFrom: PROD },
            action: "take-over",
        },
        {
            what: "takeOverFrom naming another stack than the owner refuses",
            reading: present(),
            request: { stack: SCRATCH, takeOverFrom: OTHER },
            refused: [/takeOverFrom names organization\/ahoy-ops\/staging, not the owner/],
        },
        {
            what: "takeOverFrom on an unowned service refuses: there is nothing to take over",
            reading: { state: "absent" },
            request: { stack: SCRATCH, takeOverFrom: PROD },
            refused: [/no stack manages ahoy-indie-media; remove it \(`pulumi config rm takeOverFrom`\)/],
        },
        {
            what: "takeOverFrom naming this stack itself refuses",
            reading: present(),
            request: { takeOverFrom: PROD },
            refused: [/takeOverFrom names this stack itself/],
        },
        {
            what: "a marker this program cannot read refuses, saying how to clear it",
            reading: { state: "unreadable", why: "it is not JSON" },
            request: {},
            refused: [
                /AHOY_OPS_STACK variable cannot be read .* \(it is not JSON\).*delete AHOY_OPS_STACK in the Render dashboard/,
            ],
        },
        {
            what: "a secretKeyGeneration lower than the marker's refuses, saying to bump forward",
            reading: present(),
            request: { generations: { secretKey: 1, databaseCredential: 3 } },
            refused: [
                /secretKeyGeneration: got 1, but generation 2 already started \(recorded by organization\/ahoy-ops\/prod's marker on ahoy-indie-media\)/,
                /`pulumi config set secretKeyGeneration 3` rotates again, 2 keeps what is live now/,
            ],
        },
        {
            what: "a databaseCredentialGeneration lower than the state's refuses, even with the marker gone",
            reading: { state: "absent" },
            request: {
                generations: { secretKey: 2, databaseCredential: 1 },
                recorded: { generations: { secretKey: 2, databaseCredential: 2 } },
            },
            refused: [
                /databaseCredentialGeneration: got 1, but generation 2 already started \(recorded by this stack's state\)/,
            ],
        },
        {
            what: "a stale state (a backup restored) cannot undo a rotation the marker recorded",
            reading: present(marker({ generations: { secretKey: 5, databaseCredential: 3 } })),
            request: {
                generations: { secretKey: 4, databaseCredential: 3 },
                recorded: { generations: { secretKey: 4 } },
            },
            refused: [/secretKeyGeneration: got 4, but generation 5 already started/],
        },
        {
            what: "an unmanaged database's generation is neither checked nor refused",
            reading: present(),
            request: { generations: { secretKey: 2 } },
            action: "hold",
        },
        {
            what: "a higher generation is a rotation, and goes ahead",
            reading: present(),
            request: { generations: { secretKey: 3, databaseCredential: 4 } },
            action: "hold",
        },
    ];
    for (const c of cases) {
        it(c.what, () => {
            const verdict = ownershipVerdict(c.reading, request(c.request), "ahoy-indie-media");
            if (c.refused) {
                assert.equal(verdict.ok, false, `expected a refusal, got ${JSON.stringify(verdict)}`);
                const text = reasons(verdict).join("\n");
                for (const pattern of c.refused) assert.match(text, pattern);
            } else {
                assert.ok(verdict.ok, `expected ${c.action}, got ${reasons(verdict).join("; ")}`);
                assert.equal(verdict.action, c.action);
            }
        });
    }

    it("a refusal for a second stack and a lower generation come together, so one preview lists both", () => {
        const problems = generationProblems({ secretKey: 1, databaseCredential: 1 }, [
            { generations: { secretKey: 3, databaseCredential: 2 }, by: "a marker" },
            { generations: { secretKey: 2 }, by: "the state" },
        ]);
        assert.deepEqual(
            problems.map((p) => p.reason.split(";")[0]),
            [
                "secretKeyGeneration: got 1, but generation 3 already started (recorded by a marker)",
                "databaseCredentialGeneration: got 1, but generation 2 already started (recorded by a marker)",
            ],
        );
    });

    it("the marker keeps the highest generation ever started", () => {
        assert.deepEqual(highestGenerations({ secretKey: 2 }, { secretKey: 3, databaseCredential: 4 }), {
            secretKey: 3,
            databaseCredential: 4,
        });
        assert.deepEqual(highestGenerations({ secretKey: 5, databaseCredential: 1 }), {
            secretKey: 5,
            databaseCredential: 1,
        });
    });
});

describe("the adoption record", () => {
    it("records each switch as the service had it before any write, absent as null", () => {
        assert.deepEqual(adoptionRecord(["DISABLE_SIGNUP", "BLOCKED_IPS"], { BLOCKED_IPS: "192.0.2.7", OTHER: "x" }), {
            BLOCKED_IPS: "192.0.2.7",
            DISABLE_SIGNUP: null,
        });
    });

    it("keeps the marker's record over the state's over what is there now: the oldest record wins", () => {
        assert.deepEqual(
            adoptionRecord(
                ["A", "B", "C"],
                { A: "now", B: "now", C: "now" },
                { A: "marker" },
                { A: "state", B: "state" },
            ),
            { A: "marker", B: "state", C: "now" },
        );
    });

    it("drops switches the program no longer manages", () => {
        assert.deepEqual(adoptionRecord(["A"], {}, { A: "1", GONE: "2" }), { A: "1" });
    });
});

describe("letting go", () => {
    it("says what stays and what goes, key by key", () => {
        assert.deepEqual(
            letGoPlan({ BLOCKED_IPS: "192.0.2.7", DISABLE_SIGNUP: null }, ["SECRET_KEY", "DATABASE_URL"]),
            {
                DATABASE_URL: "kept as it is (the app runs on it)",
                SECRET_KEY: "kept as it is (the app runs on it)",
                BLOCKED_IPS: 'put back to "192.0.2.7" (as found)',
                DISABLE_SIGNUP: "removed (absent when this stack adopted the service)",
                [OWNER_MARKER_KEY]: "removed (the service is let go)",
            },
        );
    });

    it("names what else stays, such as the database's login roles", () => {
        const plan = letGoPlan({}, ["SECRET_KEY"], { "ahoy_app_blue, ahoy_app_green": "kept: never dropped" });
        assert.equal(plan["ahoy_app_blue, ahoy_app_green"], "kept: never dropped");
    });

    it("says which keys a changed config no longer manages (they stay as they are)", () => {
        assert.deepEqual(
            noLongerManaged(
                { secrets: ["SECRET_KEY", "DATABASE_URL"], switches: ["A"], kept: { roles: "kept" } },
                { secrets: ["SECRET_KEY"], switches: ["A"], kept: {} },
            ),
            ["DATABASE_URL", "roles"],
        );
        assert.deepEqual(
            noLongerManaged({}, { secrets: ["SECRET_KEY"], switches: [] }),
            [],
            "a first up drops nothing",
        );
    });

    const steps: Array<[string, Record<string, string | null>, Record<string, string | undefined>, unknown[]]> = [
        ["a switch this stack created is deleted", { A: null }, { A: "true" }, [{ kind: "delete", key: "A" }]],
        ["a switch found set is put back", { A: "192.0.2.7" }, {}, [{ kind: "put", key: "A", value: "192.0.2.7" }]],
        ["a changed one too", { A: "1" }, { A: "2" }, [{ kind: "put", key: "A", value: "1" }]],
        ["one already as found is left alone", { A: "1", B: null }, { A: "1" }, []],
    ];
    for (const [what, found, current, expected] of steps) {
        it(what, () => assert.deepEqual(restoreSteps(found, current), expected));
    }

    it("restores every switch to what was found, whatever Render holds now", () => {
        fc.assert(
            fc.property(
                fc.dictionary(fc.constantFrom("A", "B", "C"), fc.option(fc.string(), { nil: null })),
                fc.dictionary(fc.constantFrom("A", "B", "C", "D"), fc.string()),
                (found, current) => {
                    const after: Record<string, string | undefined> = { ...current };
                    for (const step of restoreSteps(found, current)) {
                        if (step.kind === "delete") delete after[step.key];
                        else after[step.key] = step.value;
                    }
                    for (const [key, value] of Object.entries(found)) assert.equal(after[key], value ?? undefined);
                    // Keys the record does not name are never touched.
                    for (const key of Object.keys(current).filter((k) => !(k in found)))
                        assert.equal(after[key], current[key]);
                },
            ),
        );
    });

    const mine = present(marker());
    const letGo: Array<[string, MarkerReading, boolean, RegExp]> = [
        ["the stack's own marker, its own claim: let go", mine, true, /this stack holds it/],
        ["no marker: nothing to let go", { state: "absent" }, false, /no marker/],
        [
            "handed over to another stack: left alone",
            present(marker({ stack: OTHER })),
            false,
            /managed by .*staging now/,
        ],
        ["a renamed ServiceOwner holds it now: left alone", present(marker({ claim: "new" })), false, /renamed/],
        ["unreadable: left alone", { state: "unreadable", why: "it is not JSON" }, false, /cannot be read/],
    ];
    for (const [what, reading, ok, why] of letGo) {
        it(what, () => {
            const verdict = mayLetGo(reading, PROD, "c1a1m");
            assert.equal(verdict.ok, ok);
            assert.match(verdict.why, why);
        });
    }
});

describe("what the EnvVar's first preview shows", () => {
    const notes: Array<[string | undefined, string | undefined, boolean, string]> = [
        ["192.0.2.7", undefined, false, '"192.0.2.7" (set by hand) => absent'],
        ["true", "false", false, '"true" (set by hand) => "false"'],
        ["false", "false", false, '"false" (already so)'],
        [undefined, "false", false, "absent"],
        [undefined, undefined, false, "absent (stays absent)"],
        ["the app's key", "the app's key", true, "present (a secret, not shown)"],
        ["a key", "another", true, "present (a secret, not shown)"],
        [undefined, "new", true, "absent"],
    ];
    for (const [found, wanted, secret, note] of notes) {
        it(`found ${JSON.stringify(found)}, wanted ${JSON.stringify(wanted)}${secret ? " (secret)" : ""}: ${note}`, () => {
            assert.equal(adoptionNote(found, wanted, secret), note);
        });
    }

    it("never shows a secret's value", () => {
        fc.assert(
            fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (found, wanted) => {
                const note = adoptionNote(found, wanted, true);
                assert.ok(!note.includes(JSON.stringify(found)) && !note.includes(JSON.stringify(wanted)));
            }),
        );
    });
});
