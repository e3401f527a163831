// decideDeploy and parseReleasePin: which deploy each release-pin case triggers, and what happens to autodeploy.
import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
    adoptableDeploy,
    DeployDecisionInput,
    PinTarget,
    decideDeploy,
    type DeployFacts,
    type ListedDeploy,
    newestWrite,
    revisionTime,
    reuseProblem,
    rollbackUnavailableMessage,
} from "../components/render/deployDecision";
import { parseReleasePin, releasePinProblem } from "../lib/releasePin";

const LIVE = "1111111111111111111111111111111111111111";
const GOOD = "2222222222222222222222222222222222222222";
const TAGGED = "3333333333333333333333333333333333333333";
const GOOD_DEPLOY = "dep-d000000000000000good";

/** The last good deploy, created after the current variables went out (so it ran them). */
function goodDeploy(overrides: Partial<Extract<PinTarget, { kind: "deploy" }>> = {}): PinTarget {
    return {
        kind: "deploy",
        pin: GOOD_DEPLOY,
        deployId: GOOD_DEPLOY,
        commitId: GOOD,
        createdAt: "2025-06-01T12:00:00Z",
        trigger: "api",
        ...overrides,
    };
}

function input(overrides: Partial<DeployDecisionInput>): DeployDecisionInput {
    return {
        variablesChanged: false,
        variablesSince: "2025-06-01T11:00:00Z",
        liveCommitId: LIVE,
        autoDeploy: "yes",
        ...overrides,
    };
}

describe("parseReleasePin", () => {
    it("reads dep- ids as deploys, 7-40 hex as commits and anything else git accepts as a tag", () => {
        assert.deepEqual(parseReleasePin("dep-d0abcdefghijklmnopqr"), {
            kind: "deploy",
            deployId: "dep-d0abcdefghijklmnopqr",
        });
        assert.deepEqual(parseReleasePin("ABCDEF1"), { kind: "commit", commitId: "abcdef1" });
        assert.deepEqual(parseReleasePin(GOOD), { kind: "commit", commitId: GOOD });
        assert.deepEqual(parseReleasePin("v0.1.0"), { kind: "ref", ref: "v0.1.0" });
        assert.deepEqual(parseReleasePin("release/2025-06"), { kind: "ref", ref: "release/2025-06" });
    });

    const bad: Array<[string, RegExp]> = [
        ["dep-short", /starts like a deploy id but is not one/],
        ["dep-d0abcdefghijklmnopqz", /starts like a deploy id/],
        ["--upload-pack=evil", /starts with "-"/],
        ["v0.1.0..v0.2.0", /contains "\.\."/],
        ["v 1", /contains a space/],
        ["v1^{}", /one of ~ \^/],
        ["refs/heads/", /empty path component/],
        ["v1.lock", /ends with "\.lock"/],
        ["", /it is empty/],
    ];
    for (const [raw, why] of bad) {
        it(`refuses ${JSON.stringify(raw)}, naming why and what a pin looks like`, () => {
            const problem = releasePinProblem(raw);
            assert.ok(problem, `expected ${JSON.stringify(raw)} to be refused`);
            assert.match(problem, why);
            assert.match(problem, /expected a deploy id .*, a commit SHA .* or a git tag/);
            assert.throws(
                () => parseReleasePin(raw),
                (err: Error) => err.message.startsWith("releasePin: ") && why.test(err.message),
            );
        });
    }
});

describe("decideDeploy", () => {
    it("no pin: redeploys the live commit, never the branch head, and leaves autodeploy alone", () => {
        const decision = decideDeploy(input({ variablesChanged: true }));
        assert.deepEqual(decision.action, { kind: "commit", commitId: LIVE });
        assert.equal(decision.setAutoDeploy, undefined);
        assert.equal(decision.record, undefined);
    });

    it("no pin and no live commit: fails saying there is no commit to redeploy and what to do", () => {
        assert.throws(
            () => decideDeploy(input({ variablesChanged: true, liveCommitId: undefined })),
            /no live deploy of a git commit.*never the branch head.*deploy the service once from Render, or set releasePin/,
        );
    });

    it("pin to a deploy that ran the current variables, nothing else changed: Render's rollback, reusing its build", () => {
        const decision = decideDeploy(input({ pin: goodDeploy() }));
        assert.deepEqual(decision.action, { kind: "rollback", deployId: GOOD_DEPLOY, commitId: GOOD });
        assert.match(decision.reason, /rolling back to dep-d000000000000000good, reusing its build/);
    });

    it("setting a pin turns autodeploy off and records the setting it found, to restore later", () => {
        const decision = decideDeploy(input({ pin: goodDeploy(), autoDeploy: "yes" }));
        assert.equal(decision.setAutoDeploy, "no");
        assert.deepEqual(decision.record, { pin: GOOD_DEPLOY, autoDeployBeforePin: "yes" });
        assert.match(decision.reason, /autodeploy turned off while pinned/);
    });

    it("setting a pin where autodeploy is already off records 'no' and sends no PATCH", () => {
        const decision = decideDeploy(input({ pin: goodDeploy(), autoDeploy: "no" }));
        assert.equal(decision.setAutoDeploy, undefined);
        assert.deepEqual(decision.record, { pin: GOOD_DEPLOY, autoDeployBeforePin: "no" });
    });

    it("pin plus a switch flipped in the same up: deploys the pinned deploy's commit, since a rollback would run its old variables", () => {
        const decision = decideDeploy(input({ pin: goodDeploy(), variablesChanged: true }));
        assert.deepEqual(decision.action, { kind: "commit", commitId: GOOD });
        assert.match(decision.reason, /not a rollback, because the variables change in this up/);
    });

    it("a switch flipped while pinned: deploys the pinned commit and keeps the autodeploy setting the pin first found", () => {
        const recorded = { pin: GOOD_DEPLOY, autoDeployBeforePin: "yes" as const };
        // The pin already turned autodeploy off; what it found then is what the unpin must restore.
        const decision = decideDeploy(input({ pin: goodDeploy(), recorded, variablesChanged: true, autoDeploy: "no" }));
        assert.deepEqual(decision.action, { kind: "commit", commitId: GOOD });
        assert.equal(decision.setAutoDeploy, undefined);
        assert.deepEqual(decision.record, recorded);
    });

    it("variables changed since the pinned deploy was made: deploys its commit, even with nothing changed in this up", () => {
        const decision = decideDeploy(
            input({ pin: goodDeploy({ createdAt: "2025-06-01T10:00:00Z" }), variablesSince: "2025-06-01T11:00:00Z" }),
        );
        assert.deepEqual(decision.action, { kind: "commit", commitId: GOOD });
        assert.match(decision.reason, /the variables changed after dep-d000000000000000good was created/);
    });

    it("when it is unknown which variables went out when (first up), deploys the commit rather than risk a rollback", () => {
        const decision = decideDeploy(input({ pin: goodDeploy(), variablesSince: undefined }));
        assert.deepEqual(decision.action, { kind: "commit", commitId: GOOD });
    });

    it("a pin to a deploy that was itself a rollback deploys its commit: it ran an older deploy's variables", () => {
        const decision = decideDeploy(input({ pin: goodDeploy({ trigger: "rollback" }) }));
        assert.deepEqual(decision.action, { kind: "commit", commitId: GOOD });
        assert.match(decision.reason, /was itself a rollback/);
    });

    it("a pin to an image deploy whose variables may differ fails: it has no commit to deploy with the current variables", () => {
        assert.throws(
            () => decideDeploy(input({ pin: goodDeploy({ commitId: undefined }), variablesChanged: true })),
            /releasePin dep-d000000000000000good: .*drop a kill switch.*no git commit.*pin a commit SHA or a git tag instead/,
        );
    });

    it("pin to a commit: deploys that commit, with autodeploy off", () => {
        const decision = decideDeploy(input({ pin: { kind: "commit", pin: GOOD, commitId: GOOD } }));
        assert.deepEqual(decision.action, { kind: "commit", commitId: GOOD });
        assert.equal(decision.setAutoDeploy, "no");
        assert.deepEqual(decision.record, { pin: GOOD, autoDeployBeforePin: "yes" });
    });

    it("pin to a tag: deploys the commit it resolved to, and names the tag", () => {
        const decision = decideDeploy(input({ pin: { kind: "commit", pin: "v0.1.0", commitId: TAGGED } }));
        assert.deepEqual(decision.action, { kind: "commit", commitId: TAGGED });
        assert.match(decision.reason, /deploying commit 3333333 \(v0\.1\.0\)/);
        assert.deepEqual(decision.record, { pin: "v0.1.0", autoDeployBeforePin: "yes" });
    });

    it("moving the pin from one target to another keeps the autodeploy setting found by the first pin", () => {
        const decision = decideDeploy(
            input({
                pin: { kind: "commit", pin: "v0.1.0", commitId: TAGGED },
                recorded: { pin: GOOD_DEPLOY, autoDeployBeforePin: "yes" },
                autoDeploy: "no",
            }),
        );
        assert.deepEqual(decision.record, { pin: "v0.1.0", autoDeployBeforePin: "yes" });
    });

    it("while pinned, autodeploy turned back on by hand is turned off again at the next deploy", () => {
        const decision = decideDeploy(
            input({
                pin: goodDeploy(),
                recorded: { pin: GOOD_DEPLOY, autoDeployBeforePin: "no" },
                variablesChanged: true,
                autoDeploy: "yes",
            }),
        );
        assert.equal(decision.setAutoDeploy, "no");
        assert.deepEqual(decision.record, { pin: GOOD_DEPLOY, autoDeployBeforePin: "no" });
    });

    it("pin removed: restores the autodeploy setting the pin found, then deploys the branch head", () => {
        const decision = decideDeploy(
            input({ recorded: { pin: GOOD_DEPLOY, autoDeployBeforePin: "yes" }, autoDeploy: "no" }),
        );
        assert.deepEqual(decision.action, { kind: "branchHead" });
        assert.equal(decision.setAutoDeploy, "yes");
        assert.equal(decision.record, undefined);
        assert.match(decision.reason, /release pin dep-d000000000000000good removed: autodeploy back to "yes"/);
    });

    it("pin removed where autodeploy was off before the pin: leaves it off, still deploys the branch head", () => {
        const decision = decideDeploy(
            input({ recorded: { pin: "v0.1.0", autoDeployBeforePin: "no" }, autoDeploy: "no", variablesChanged: true }),
        );
        assert.deepEqual(decision.action, { kind: "branchHead" });
        assert.equal(decision.setAutoDeploy, undefined);
    });

    it("property: a pinned up deploys the pinned commit (never the branch head), leaves autodeploy off, and rolls back only to a deploy that provably ran the current variables", () => {
        const sha = fc.stringMatching(/^[0-9a-f]{40}$/);
        const time = fc
            .integer({ min: Date.parse("2025-01-01T00:00:00Z"), max: Date.parse("2026-01-01T00:00:00Z") })
            .map((t) => new Date(t).toISOString());
        const pin: fc.Arbitrary<PinTarget> = fc.oneof(
            fc.record({
                kind: fc.constant("commit" as const),
                pin: fc.constantFrom("v0.1.0", "release-1"),
                commitId: sha,
            }),
            fc.record({
                kind: fc.constant("deploy" as const),
                pin: fc.constant(GOOD_DEPLOY),
                deployId: fc.constant(GOOD_DEPLOY),
                commitId: sha,
                createdAt: time,
                trigger: fc.constantFrom("api", "new_commit", "rollback"),
            }),
        );
        fc.assert(
            fc.property(
                pin,
                fc.boolean(),
                fc.option(time, { nil: undefined }),
                fc.constantFrom("yes" as const, "no" as const),
                fc.option(fc.constantFrom("yes" as const, "no" as const), { nil: undefined }),
                (target, variablesChanged, variablesSince, autoDeploy, before) => {
                    const recorded = before === undefined ? undefined : { pin: "earlier", autoDeployBeforePin: before };
                    const decision = decideDeploy({
                        pin: target,
                        recorded,
                        variablesChanged,
                        variablesSince,
                        liveCommitId: LIVE,
                        autoDeploy,
                    });
                    assert.notEqual(decision.action.kind, "branchHead");
                    const deployed =
                        decision.action.kind === "commit"
                            ? decision.action.commitId
                            : decision.action.kind === "rollback"
                              ? decision.action.commitId
                              : undefined;
                    assert.equal(deployed, target.commitId);
                    assert.equal(decision.setAutoDeploy ?? autoDeploy, "no");
                    assert.equal(decision.record?.autoDeployBeforePin, before ?? autoDeploy);
                    // A rollback runs the target's variables: only allowed when they are provably the current ones.
                    if (decision.action.kind === "rollback") {
                        assert.equal(variablesChanged, false);
                        assert.ok(
                            target.kind === "deploy" && target.trigger !== "rollback" && variablesSince !== undefined,
                        );
                        assert.ok(Date.parse(target.createdAt) >= Date.parse(variablesSince));
                    }
                },
            ),
        );
    });
});

describe("rollbackUnavailableMessage", () => {
    it("suggests pinning the target's commit instead, with the command", () => {
        const message = rollbackUnavailableMessage(GOOD_DEPLOY, GOOD, "400 its build artifact is no longer retained");
        assert.match(
            message,
            /releasePin dep-d000000000000000good: Render cannot roll back to it \(400 its build artifact/,
        );
        assert.match(message, new RegExp(`pin its commit instead \\(pulumi config set releasePin ${GOOD}\\)`));
    });
});

describe("deploying without a build (deployMode deploy_only)", () => {
    const liveDeploy = { id: "dep-live", status: "live", trigger: "api", commitId: LIVE };
    const older = { id: "dep-older", status: "deactivated", trigger: "new_commit", commitId: GOOD };
    const flip = (recent: DeployFacts[]) => decideDeploy(input({ variablesChanged: true, recent }));

    it("a flag flip reuses the live build when the live deploy is the newest that got past its build", () => {
        const decision = flip([liveDeploy, older]);
        assert.deepEqual(decision.action, { kind: "deployOnly", commitId: LIVE, buildDeployId: "dep-live" });
        assert.match(decision.reason, /no build: reuses the live build of 1111111 \(dep-live\)/);
    });

    it("a newer deploy whose build failed leaves no newer build: still no build", () => {
        const decision = flip([{ id: "dep-nobuild", status: "build_failed", commitId: TAGGED }, liveDeploy]);
        assert.equal(decision.action.kind, "deployOnly");
    });

    const unsafe: Array<[string, DeployFacts[], RegExp]> = [
        [
            "a newer commit built but failed its update (deploy_only would ship that build)",
            [{ id: "dep-broken", status: "update_failed", trigger: "new_commit", commitId: TAGGED }, liveDeploy],
            /builds commit 1111111 again, because deploy dep-broken of commit 3333333 \(update_failed\) is newer than the live one/,
        ],
        [
            "a newer deploy was canceled (perhaps after its build)",
            [{ id: "dep-canceled", status: "canceled", commitId: TAGGED }, liveDeploy],
            /deploy dep-canceled of commit 3333333 \(canceled\) is newer/,
        ],
        [
            "the live deploy is a rollback (Render's last successful build is then another deploy's)",
            [{ ...liveDeploy, trigger: "rollback" }, older],
            /the live deploy dep-live is a rollback, whose build is not the one Render would reuse/,
        ],
        [
            "the live deploy runs an image, not a build of a commit",
            [{ id: "dep-image", status: "live", trigger: "api" }],
            /the live deploy runs an image, not 1111111/,
        ],
        [
            "the live deploy is not among the newest listed",
            [{ id: "dep-x", status: "build_failed", commitId: TAGGED }],
            /the live deploy is not among the service's 1 newest deploys/,
        ],
    ];
    for (const [why, recent, message] of unsafe) {
        it(`builds the live commit again when ${why}, and says why`, () => {
            const decision = flip(recent);
            assert.deepEqual(decision.action, { kind: "commit", commitId: LIVE });
            assert.match(decision.reason, message);
        });
    }

    it("reuseProblem names the first deploy newer than the live one that may have left a build", () => {
        assert.equal(reuseProblem([liveDeploy]), undefined);
        assert.match(String(reuseProblem(undefined)), /not known/);
        assert.match(String(reuseProblem([{ id: "dep-q", status: "queued" }, liveDeploy])), /dep-q \(queued\)/);
    });

    it("a switch flipped while pinned to a commit that is live reuses its build; pinned to another, it builds", () => {
        const pinned = { kind: "commit", pin: "v0.1.0", commitId: LIVE } as const;
        const reuse = decideDeploy(
            input({
                pin: pinned,
                recorded: { pin: "v0.1.0", autoDeployBeforePin: "yes" },
                variablesChanged: true,
                recent: [liveDeploy],
                autoDeploy: "no",
            }),
        );
        assert.deepEqual(reuse.action, { kind: "deployOnly", commitId: LIVE, buildDeployId: "dep-live" });
        const other = decideDeploy(
            input({
                pin: { ...pinned, commitId: TAGGED },
                variablesChanged: true,
                recent: [liveDeploy],
                autoDeploy: "yes",
            }),
        );
        assert.deepEqual(other.action, { kind: "commit", commitId: TAGGED });
        assert.match(other.reason, /builds commit 3333333 again, because the live deploy runs 1111111, not 3333333/);
    });

    it("after a pin to a deploy, a flip while pinned builds its commit: the live deploy is that rollback", () => {
        const decision = decideDeploy(
            input({
                pin: goodDeploy(),
                recorded: { pin: GOOD_DEPLOY, autoDeployBeforePin: "yes" },
                variablesChanged: true,
                recent: [{ id: "dep-rb", status: "live", trigger: "rollback", commitId: GOOD }],
                autoDeploy: "no",
            }),
        );
        assert.deepEqual(decision.action, { kind: "commit", commitId: GOOD });
        assert.match(decision.reason, /the live deploy dep-rb is a rollback/);
    });

    it("never reuses a build for an unpin (new code) or a first pin to an older commit", () => {
        const unpin = decideDeploy(
            input({ recorded: { pin: "v0.1.0", autoDeployBeforePin: "yes" }, recent: [liveDeploy], autoDeploy: "no" }),
        );
        assert.deepEqual(unpin.action, { kind: "branchHead" });
    });

    it("property: deploy_only is chosen only when nothing newer than the live deploy but failed builds, and the live one is no rollback", () => {
        const facts = fc.record({
            status: fc.constantFrom(
                "live",
                "deactivated",
                "build_failed",
                "update_failed",
                "canceled",
                "queued",
                "build_in_progress",
            ),
            trigger: fc.constantFrom("api", "new_commit", "rollback", "manual"),
            commitId: fc.constantFrom(LIVE, GOOD, TAGGED),
        });
        fc.assert(
            fc.property(fc.array(facts, { maxLength: 6 }), (list) => {
                const recent = list.map((d, i) => ({ ...d, id: `dep-${i}` }));
                const decision = decideDeploy(input({ variablesChanged: true, recent }));
                if (decision.action.kind !== "deployOnly") return true;
                const liveIndex = recent.findIndex((d) => d.status === "live");
                const live = recent[liveIndex];
                return (
                    liveIndex >= 0 &&
                    live.trigger !== "rollback" &&
                    live.commitId === LIVE &&
                    recent.slice(0, liveIndex).every((d) => d.status === "build_failed")
                );
            }),
        );
    });
});

describe("adopting a deploy an earlier up triggered, whose answer was lost", () => {
    const WRITE = Date.parse("2026-12-01T03:00:00.000Z");
    const after = (s: number) => new Date(WRITE + s * 1000).toISOString();
    const live: ListedDeploy = {
        id: "dep-live",
        status: "live",
        trigger: "new_commit",
        commitId: LIVE,
        createdAt: "2026-11-30T12:00:00.000Z",
    };
    const late = (overrides: Partial<ListedDeploy> = {}): ListedDeploy => ({
        id: "dep-late",
        status: "build_in_progress",
        trigger: "api",
        commitId: LIVE,
        createdAt: after(95),
        ...overrides,
    });
    const cases: Array<[string, ListedDeploy[], Record<string, unknown>, string | undefined]> = [
        ["an API deploy of the live commit created after the last write, in flight", [late(), live], {}, "dep-late"],
        [
            "the same, already live (the commit is its own)",
            [late({ status: "live" }), { ...live, status: "deactivated" }],
            {},
            "dep-late",
        ],
        ["queued behind another deploy", [late({ status: "queued" }), live], {}, "dep-late"],
        ["created before the last write: it does not carry it", [late({ createdAt: after(-1) }), live], {}, undefined],
        ["a teammate's dashboard deploy", [late({ trigger: "manual" }), live], {}, undefined],
        ["a push's autodeploy", [late({ trigger: "new_commit" }), live], {}, undefined],
        ["a deploy of another commit than the live one", [late({ commitId: GOOD }), live], {}, undefined],
        ["one that failed", [late({ status: "build_failed" }), live], {}, undefined],
        ["one that was canceled", [late({ status: "canceled" }), live], {}, undefined],
        ["one superseded since", [late({ status: "deactivated" }), live], {}, undefined],
        ["the deploy the state records", [late({ status: "live" })], { recordedDeployId: "dep-late" }, undefined],
        [
            "pinned: a deploy of the pinned commit",
            [late({ commitId: GOOD }), live],
            { pinnedCommitId: GOOD },
            "dep-late",
        ],
        ["pinned: a deploy of the live commit is not the pin's", [late(), live], { pinnedCommitId: GOOD }, undefined],
        [
            "a deploy-id pin: its rollback",
            [late({ trigger: "rollback", commitId: GOOD }), live],
            { pinnedCommitId: GOOD, rollbackPin: true },
            "dep-late",
        ],
        ["a rollback without a deploy-id pin", [late({ trigger: "rollback" }), live], {}, undefined],
        ["no write time known", [late(), live], { newestWrite: undefined }, undefined],
    ];
    for (const [what, recent, extra, expected] of cases) {
        it(`${what}: ${expected ? `adopts ${expected}` : "adopts nothing"}`, () => {
            const found = adoptableDeploy({ recent, newestWrite: WRITE, ...extra });
            assert.equal(found?.deploy.id, expected);
        });
    }

    it("two that qualify: the newest is adopted, the other named", () => {
        const found = adoptableDeploy({
            recent: [late({ id: "dep-second", createdAt: after(120) }), late(), live],
            newestWrite: WRITE,
        });
        assert.equal(found?.deploy.id, "dep-second");
        assert.deepEqual(
            found?.others.map((d) => d.id),
            ["dep-late"],
        );
    });

    it("reads a write's time from its revision, and the newest of the managed variables'", () => {
        assert.equal(revisionTime("2026-12-01T03:00:00.000Z-bdccf9b0"), WRITE);
        assert.equal(revisionTime("revision-of-something"), undefined);
        assert.equal(revisionTime(undefined), undefined);
        assert.equal(
            newestWrite({ A: "2026-12-01T02:00:00.000Z-00aa", B: "2026-12-01T03:00:00.000Z-bdccf9b0", C: "x" }),
            WRITE,
        );
        assert.equal(newestWrite({}), undefined);
    });
});
