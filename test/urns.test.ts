// URNs are a contract: every resource the committed Pulumi.prod.yaml declares keeps its URN (type, parent chain, name),
// or names its old one in an alias. A rename without one is a new resource to the engine: it creates the successor,
// then deletes the old one at the end of the `up`; the pin below fails CI before that can happen.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { FeatureFlags } from "../components/featureFlags";
import { parseStackConfig } from "../stacks/config";
import { setProjectMocks, valueOf } from "./support/mocks";
import { recordRegistrations, repoRoot, runProgram, type Seen, urnOf } from "./support/program";

/** The capabilities prod can turn on whose resources must keep their URNs too: the database login and the sessions. */
export const DATABASE_SETTINGS = {
    databaseAppHost: "db.internal",
    sessionStore: "redis",
    "postgresql:host": "db.example.com",
    "postgresql:username": "ahoy_admin",
};
export const DATABASE_SECRETS = { redisUrl: "rediss://:pw@redis.internal:6380/0", "postgresql:password": "pw" };

const pinFile = (name: string) => path.join(repoRoot, "test", "urns", name);
const pinned = (name: string) =>
    fs
        .readFileSync(pinFile(name), "utf8")
        .split("\n")
        .filter((line) => line.startsWith("urn:"));

/**
 * Every URN the engine would match a declared resource to: its own, its aliases', and the same under each URN its
 * parent is known by (the engine gives children the aliases their parents have).
 */
function knownUrns(declared: readonly Seen[]): Map<Seen, Set<string>> {
    const known = new Map<Seen, Set<string>>();
    const byUrn = new Map(declared.map((r) => [r.urn, r]));
    for (const r of declared) {
        const urns = new Set([r.urn, ...r.aliases]);
        const parent = byUrn.get(r.parent);
        const names = new Set([r.name, ...r.aliases.map((a) => a.split("::").pop()!)]);
        for (const parentUrn of parent ? (known.get(parent) ?? []) : []) {
            const [stack, project] = parentUrn.replace(/^urn:pulumi:/, "").split("::");
            for (const name of names) urns.add(urnOf(stack, project, parentUrn, r.type, name));
        }
        known.set(r, urns);
    }
    return known;
}

/**
 * What breaks the contract, in words: a pinned URN no declared resource has or aliases (a rename or a moved parent
 * without an alias), and a declared resource whose URN is not pinned (a new one: pin it in the same reviewed change).
 */
export function urnProblems(declared: readonly Seen[], pins: readonly string[], file: string): string[] {
    const known = knownUrns(declared);
    const matched = new Set<string>();
    for (const urns of known.values()) for (const urn of urns) if (pins.includes(urn)) matched.add(urn);
    const problems: string[] = [];
    for (const pin of pins.filter((p) => !matched.has(p))) {
        problems.push(
            `${pin} is no longer declared, and no alias names it: the engine would create its successor and delete ` +
                `it after the deploy (for an EnvVar, the variable; for a random value, a new secret). Give the renamed ` +
                `or moved resource an alias (aliases: [{ name: "<old name>" }] or [{ parent: <old parent> }]); if it ` +
                `is truly gone, delete this line from ${file} in the same reviewed change`,
        );
    }
    for (const [r, urns] of known) {
        if (![...urns].some((urn) => pins.includes(urn))) {
            problems.push(`${r.urn} is a new resource: add this line to ${file} in the same reviewed change`);
        }
    }
    return problems;
}

describe("URNs are a contract", () => {
    const variants: Array<[string, string, Record<string, string>, Record<string, string>]> = [
        ["the committed Pulumi.prod.yaml", "prod.txt", {}, {}],
        [
            "Pulumi.prod.yaml with the database login and the session flush",
            "prod-database.txt",
            DATABASE_SETTINGS,
            DATABASE_SECRETS,
        ],
    ];
    for (const [what, file, settings, secrets] of variants) {
        it(`every resource of ${what} keeps the URN pinned in test/urns/${file}`, async () => {
            const run = await runProgram(settings, secrets);
            const declared = run.registrations.filter((r) => r.urn !== "");
            assert.equal(declared.length, run.registrations.length, "every registration's URN is known");
            assert.deepEqual(urnProblems(declared, pinned(file), `test/urns/${file}`), []);
        });
    }

    describe("the pin catches what would replace a resource", () => {
        const settings = parseStackConfig({ serviceUrl: "https://ahoy-indie-media.onrender.com" });
        const flagsPins = pinned("prod.txt").filter((urn) => urn.includes("ahoy:flags:FeatureFlags"));

        /** FeatureFlags declared as `declare` says, under Pulumi's mocks, each registration seen as the engine sees it. */
        async function declareFlags(
            declare: () => FeatureFlags,
        ): Promise<{ declared: readonly Seen[]; problems: string[] }> {
            await setProjectMocks();
            const declared = recordRegistrations();
            const flags = declare();
            await Promise.all([flags, ...Object.values(flags.variables)].map((r) => valueOf(r.urn)));
            const ours = declared.filter((r) => r.urn.includes("ahoy:flags:FeatureFlags"));
            return { declared, problems: urnProblems(ours, flagsPins, "test/urns/prod.txt") };
        }
        const args = { service: "ahoy-indie-media", apiUrl: "https://api.render.com/v1", settings };

        it("declared as the program declares it, the pin holds", async () => {
            const { problems } = await declareFlags(() => new FeatureFlags("ahoy", args));
            assert.deepEqual(problems, []);
        });

        it("a renamed component without an alias fails, naming each URN it would replace", async () => {
            const { problems } = await declareFlags(() => new FeatureFlags("flags", args));
            const gone = problems.filter((p) => p.includes("is no longer declared"));
            assert.equal(gone.length, flagsPins.length, problems.join("\n"));
            assert.ok(
                gone.some((p) =>
                    p.startsWith(
                        "urn:pulumi:prod::ahoy-ops::ahoy:flags:FeatureFlags$pulumi-nodejs:dynamic/render:EnvVar::ahoy-DISABLE_SIGNUP is no longer declared",
                    ),
                ),
                problems.join("\n"),
            );
            assert.ok(problems.some((p) => /flags-DISABLE_SIGNUP is a new resource/.test(p)));
        });

        it("an alias on the renamed component covers it; its children, named from it, are still named by the pin", async () => {
            const { problems } = await declareFlags(
                () => new FeatureFlags("flags", args, { aliases: [{ name: "ahoy" }] }),
            );
            const gone = problems.filter((p) => p.includes("is no longer declared"));
            assert.ok(!gone.some((p) => p.includes("ahoy:flags:FeatureFlags::ahoy ")), "the component is aliased");
            assert.equal(gone.length, flagsPins.length - 1, "each child (flags-KEY, once ahoy-KEY) needs its own");
            assert.ok(
                gone.every((p) => /::ahoy-[A-Z_]+ is no longer declared/.test(p)),
                problems.join("\n"),
            );
        });

        it("a moved parent without an alias fails; with an alias naming the old parent it holds", async () => {
            /** FeatureFlags moved under another component. */
            const moveFlags = (withAlias: boolean) => {
                const wrapper = new pulumi.ComponentResource("ahoy:test:Wrapper", "wrapper", {});
                return new FeatureFlags("ahoy", args, {
                    parent: wrapper,
                    ...(withAlias ? { aliases: [{ parent: pulumi.rootStackResource }] } : {}),
                });
            };
            const moved = await declareFlags(() => moveFlags(false));
            assert.equal(moved.problems.filter((p) => p.includes("is no longer declared")).length, flagsPins.length);
            const aliased = await declareFlags(() => moveFlags(true));
            assert.deepEqual(
                aliased.problems.filter((p) => p.includes("is no longer declared")),
                [],
                aliased.problems.join("\n"),
            );
        });
    });
});
