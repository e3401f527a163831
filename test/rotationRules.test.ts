// The RotationGate's rules, by table: which generation may start, what the standby slot's role is, and why a refusal.
import { strict as assert } from "node:assert";
import fc from "fast-check";
import { gateDecision, type GateRoles, type RoleFacts, rolesToAsk } from "../components/database/rotationRules";
import { activeSlot, roleName, standbySlot } from "../stacks/rotation";

/** What the program asks the gate at `generation` under `prefix`. */
const at = (generation: number, prefix = "ahoy_app"): GateRoles => ({
    generation,
    activeRole: roleName(prefix, activeSlot(generation)),
    standbyRole: roleName(prefix, standbySlot(generation)),
});
const recorded = (generation: number, prefix = "ahoy_app", retiring?: string): GateRoles => ({
    ...at(generation, prefix),
    ...(retiring ? { retiring } : {}),
});
const retired = { canLogin: false };
const live = { canLogin: true };

describe("the rotation gate's decision", () => {
    const cases: Array<{
        what: string;
        olds: Partial<GateRoles>;
        news: GateRoles;
        roles: RoleFacts;
        retiring: string;
        refused?: RegExp;
    }> = [
        {
            what: "a first up where nothing exists starts, the other slot standing by",
            olds: {},
            news: at(1),
            roles: {},
            retiring: "ahoy_app_green",
        },
        {
            what: "a first up refuses an active role that exists and can log in",
            olds: {},
            news: at(1),
            roles: { ahoy_app_blue: live },
            retiring: "ahoy_app_green",
            refused: /ahoy_app_blue already exists and can log in, so something may use it/,
        },
        {
            what: "a re-run of the same generation keeps the standby's recorded name",
            olds: recorded(4, "ahoy_app", "old_blue"),
            news: at(4),
            roles: {},
            retiring: "old_blue",
        },
        {
            what: "a state from before `retiring` was recorded holds it as standbyRole",
            olds: recorded(4),
            news: at(4),
            roles: {},
            retiring: "ahoy_app_blue",
        },
        {
            what: "the next generation retires the live login and activates the retired one",
            olds: recorded(1),
            news: at(2),
            roles: { ahoy_app_green: retired },
            retiring: "ahoy_app_blue",
        },
        {
            what: "the next generation is refused while the role it activates can still log in",
            olds: recorded(2),
            news: at(3),
            roles: { ahoy_app_blue: live },
            retiring: "ahoy_app_green",
            refused:
                /generation 3 would give ahoy_app_blue a new password, but ahoy_app_blue can still log in: generation 2 never went live/,
        },
        {
            what: "a lower generation (a reverted PR) is refused, saying to bump forward",
            olds: recorded(2),
            news: at(1),
            roles: {},
            retiring: "ahoy_app_blue",
            refused:
                /databaseCredentialGeneration: got 1, but generation 2 already started.*`pulumi config set databaseCredentialGeneration 3` rotates again/,
        },
        {
            what: "a jump of two (the live slot again) is refused",
            olds: recorded(3),
            news: at(5),
            roles: {},
            retiring: "ahoy_app_green",
            refused:
                /got 5, but generation 3 is the last one started: rotation goes one generation at a time.*set it to 4/,
        },
        {
            what: "a new prefix without a bump is refused: it would rename the live login",
            olds: recorded(3),
            news: at(3, "ahoy_web"),
            roles: {},
            retiring: "ahoy_app_green",
            refused:
                /databaseRolePrefix: the live login is ahoy_app_blue \(generation 3\); a new prefix would rename it to ahoy_web_blue.*`pulumi config set databaseCredentialGeneration 4`/,
        },
        {
            what: "a new prefix with the bump renames the retired role and retires the live one under its old name",
            olds: recorded(3),
            news: at(4, "ahoy_web"),
            roles: { ahoy_app_green: retired },
            retiring: "ahoy_app_blue",
        },
        {
            what: "the bump after moves the other slot to the new prefix",
            olds: recorded(4, "ahoy_web", "ahoy_app_blue"),
            news: at(5, "ahoy_web"),
            roles: { ahoy_app_blue: retired },
            retiring: "ahoy_web_green",
        },
        {
            what: "a rename onto a name another role has is refused",
            olds: recorded(3),
            news: at(4, "ahoy_web"),
            roles: { ahoy_app_green: retired, ahoy_web_green: retired },
            retiring: "ahoy_app_blue",
            refused: /renames ahoy_app_green to ahoy_web_green .* a role ahoy_web_green exists already/,
        },
    ];
    for (const c of cases) {
        it(c.what, () => {
            const decision = gateDecision(c.olds, c.news, c.roles);
            assert.equal(decision.retiring, c.retiring);
            if (c.refused) assert.match(decision.refusal ?? "(no refusal)", c.refused);
            else assert.equal(decision.refusal, undefined);
        });
    }

    it("never lets a generation start that would give the live login a new password", () => {
        fc.assert(
            fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1000 }), (was, asked) => {
                const olds = recorded(was);
                const roles: RoleFacts = { [olds.activeRole]: live, [olds.standbyRole]: retired };
                const decision = gateDecision(olds, at(asked), roles);
                if (asked < was) assert.ok(decision.refusal, "a lower generation is refused");
                if (decision.refusal === undefined && asked !== was) {
                    assert.equal(asked, was + 1, "only the next generation starts");
                    assert.notEqual(at(asked).activeRole, olds.activeRole, "the new password goes to the other slot");
                    assert.equal(decision.retiring, olds.activeRole, "and the live login is the one retired");
                }
            }),
        );
    });

    it("asks the database only when a generation starts", () => {
        assert.deepEqual(rolesToAsk(recorded(4), at(4)), []);
        assert.deepEqual(rolesToAsk(recorded(4), at(3)), []);
        assert.deepEqual(rolesToAsk({}, at(1)), ["ahoy_app_blue"]);
        assert.deepEqual(rolesToAsk(recorded(3), at(4, "ahoy_web")), ["ahoy_app_green", "ahoy_web_green"]);
    });
});
