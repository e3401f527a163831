// The RotationGate's rules, by table: which generation may start, and why a refusal.
import { strict as assert } from "node:assert";
import fc from "fast-check";
import { gateRefusal, type GateRoles, type RoleFacts, rolesToAsk } from "../components/database/rotationRules";
import { activeSlot, roleName, standbySlot } from "../stacks/rotation";

/** What the program asks the gate at `generation` under `prefix` (and what the gate records then). */
const at = (generation: number, prefix = "ahoy_app"): GateRoles => ({
    generation,
    activeRole: roleName(prefix, activeSlot(generation)),
    standbyRole: roleName(prefix, standbySlot(generation)),
});
const retired = { canLogin: false };
const live = { canLogin: true };

describe("the rotation gate's rules", () => {
    const cases: Array<{
        what: string;
        olds: Partial<GateRoles>;
        news: GateRoles;
        roles: RoleFacts;
        refused?: RegExp;
    }> = [
        { what: "a first up where nothing exists starts", olds: {}, news: at(1), roles: {} },
        {
            what: "a first up refuses an active role that exists and can log in",
            olds: {},
            news: at(1),
            roles: { ahoy_app_blue: live },
            refused: /ahoy_app_blue already exists and can log in, so something may use it/,
        },
        { what: "a re-run of the same generation starts nothing new", olds: at(4), news: at(4), roles: {} },
        {
            what: "the next generation activates the role the previous one retired",
            olds: at(1),
            news: at(2),
            roles: { ahoy_app_green: retired },
        },
        {
            what: "the next generation is refused while the role it activates can still log in",
            olds: at(2),
            news: at(3),
            roles: { ahoy_app_blue: live },
            refused:
                /generation 3 would give ahoy_app_blue a new password, but ahoy_app_blue can still log in: generation 2 never went live/,
        },
        {
            what: "a lower generation (a reverted PR) is refused, saying to bump forward",
            olds: at(2),
            news: at(1),
            roles: {},
            refused:
                /databaseCredentialGeneration: got 1, but generation 2 already started.*`pulumi config set databaseCredentialGeneration 3` rotates again/,
        },
        {
            what: "a jump of two (the live slot again) is refused",
            olds: at(3),
            news: at(5),
            roles: {},
            refused:
                /got 5, but generation 3 is the last one started: rotation goes one generation at a time.*set it to 4/,
        },
        {
            what: "a new prefix is refused: it would rename the live login; the refusal gives the three steps",
            olds: at(3),
            news: at(3, "ahoy_web"),
            roles: {},
            refused:
                /databaseRolePrefix: the login roles are ahoy_app_blue \(live, generation 3\) and ahoy_app_green; the new prefix would rename them in place.*\(1\) `pulumi config rm databaseAppHost` and `pulumi config rm databaseCredentialGeneration`.*`pulumi config set databaseCredentialGeneration 4`.*ALTER ROLE ahoy_app_blue NOLOGIN PASSWORD NULL/,
        },
        {
            what: "a new prefix with a bump is refused too",
            olds: at(3),
            news: at(4, "ahoy_web"),
            roles: {},
            refused: /databaseRolePrefix: the login roles are ahoy_app_blue/,
        },
    ];
    for (const c of cases) {
        it(c.what, () => {
            const refusal = gateRefusal(c.olds, c.news, c.roles);
            if (c.refused) assert.match(refusal ?? "(no refusal)", c.refused);
            else assert.equal(refusal, undefined);
        });
    }

    it("never lets a generation start that would give the live login a new password", () => {
        fc.assert(
            fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1000 }), (was, asked) => {
                const olds = at(was);
                const roles: RoleFacts = { [olds.activeRole]: live, [olds.standbyRole]: retired };
                const refusal = gateRefusal(olds, at(asked), roles);
                if (asked < was) assert.ok(refusal, "a lower generation is refused");
                if (refusal === undefined && asked !== was) {
                    assert.equal(asked, was + 1, "only the next generation starts");
                    assert.notEqual(at(asked).activeRole, olds.activeRole, "the new password goes to the other slot");
                }
            }),
        );
    });

    it("asks the database only when a generation starts", () => {
        assert.deepEqual(rolesToAsk(at(4), at(4)), []);
        assert.deepEqual(rolesToAsk(at(4), at(3)), []);
        assert.deepEqual(rolesToAsk(at(3), at(4, "ahoy_web")), []);
        assert.deepEqual(rolesToAsk({}, at(1)), ["ahoy_app_blue"]);
        assert.deepEqual(rolesToAsk(at(3), at(4)), ["ahoy_app_green"]);
    });
});
