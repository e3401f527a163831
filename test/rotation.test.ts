// The rotation arithmetic: slots, keepers, role names, the app's DATABASE_URL and the SECRET_KEY form.
import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as fc from "fast-check";
import { Client } from "pg";
import { SecretKey } from "../components/secretKey";
import { newSecretKey } from "../components/secretKeyProvider";
import {
    SLOTS,
    activeSlot,
    databaseUrl,
    encodeUrlComponent,
    roleName,
    secretKeyOf,
    slotKeeper,
    standbySlot,
    type Slot,
} from "../stacks/rotation";
import { RESERVED, setProjectMocks, valueOf } from "./support/mocks";

const generation = fc.integer({ min: 1, max: 1_000_000 });
/** The connection settings node-postgres derives from a URL (the parser the app's tests and our providers share). */
function parseConnectionString(url: string): {
    user?: string;
    password?: string;
    host: string;
    port: number;
    database?: string;
    applicationName?: string;
} {
    const client = new Client({ connectionString: url });
    const { user, password, host, port, database } = client;
    const { application_name } = (client as unknown as { connectionParameters: { application_name?: string } })
        .connectionParameters;
    return { user, password: password ?? undefined, host, port, database, applicationName: application_name };
}
const keepers = (g: number): Record<Slot, number> => ({ blue: slotKeeper(g, "blue"), green: slotKeeper(g, "green") });

describe("rotation slots and keepers", () => {
    it("odd generations activate blue and even ones green, the other slot standing by", () => {
        assert.deepEqual([1, 2, 3, 4, 5].map(activeSlot), ["blue", "green", "blue", "green", "blue"]);
        fc.assert(
            fc.property(generation, (g) => activeSlot(g) !== standbySlot(g) && activeSlot(g) === activeSlot(g + 2)),
        );
    });

    it("a slot is kept by the last generation that activated it (green starts at 0)", () => {
        assert.deepEqual(keepers(1), { blue: 1, green: 0 });
        assert.deepEqual(keepers(2), { blue: 1, green: 2 });
        fc.assert(
            fc.property(generation, (g) =>
                SLOTS.every((slot) => {
                    const keeper = slotKeeper(g, slot);
                    return (
                        keeper <= g &&
                        (keeper === 0 || activeSlot(keeper) === slot) &&
                        (keeper === g || activeSlot(g) !== slot)
                    );
                }),
            ),
        );
    });

    it("3 to 4 changes only the standby slot's keeper, which becomes active", () => {
        assert.deepEqual(keepers(3), { blue: 3, green: 2 });
        assert.deepEqual(keepers(4), { blue: 3, green: 4 });
        assert.equal(activeSlot(4), standbySlot(3));
        fc.assert(
            fc.property(generation, (g) => {
                const [before, after] = [keepers(g), keepers(g + 1)];
                const changed = SLOTS.filter((slot) => before[slot] !== after[slot]);
                return changed.length === 1 && changed[0] === activeSlot(g + 1) && changed[0] === standbySlot(g);
            }),
        );
    });

    it("3 to 5 returns to blue with a new keeper, so blue's old (possibly leaked) password is not reused", () => {
        assert.equal(activeSlot(5), activeSlot(3));
        assert.notEqual(slotKeeper(5, "blue"), slotKeeper(3, "blue"));
        fc.assert(fc.property(generation, (g) => slotKeeper(g + 2, activeSlot(g)) !== slotKeeper(g, activeSlot(g))));
    });

    it("refuses a generation below 1 or not whole, naming the setting", () => {
        for (const bad of [0, -1, 1.5, Number.NaN]) {
            assert.throws(() => activeSlot(bad), /databaseCredentialGeneration: got .*; expected a whole number >= 1/);
        }
    });
});

describe("role names", () => {
    it("are <prefix>_blue and <prefix>_green whatever the generation", () => {
        assert.equal(roleName("ahoy_app", "blue"), "ahoy_app_blue");
        assert.equal(roleName("ahoy_app", "green"), "ahoy_app_green");
        fc.assert(
            fc.property(
                generation,
                (g) => roleName("ahoy_app", activeSlot(g)) === roleName("ahoy_app", activeSlot(g + 2)),
            ),
        );
    });

    it("refuse a prefix that is not a lower-case identifier or would be truncated by PostgreSQL", () => {
        for (const bad of ["", "Ahoy", "1app", "ahoy-app", "a".repeat(58)]) {
            assert.throws(() => roleName(bad, "green"), /databaseRolePrefix: got .*; expected a lower-case identifier/);
        }
        assert.equal(roleName("a".repeat(57), "green").length, 63);
    });
});

describe("DATABASE_URL", () => {
    const parts = {
        user: "ahoy_app_green",
        host: "dpg-abc123-a",
        port: 5432,
        database: "ahoy_prod",
        sslMode: "verify-full",
        applicationName: "ahoy-indie-media",
    };

    it("percent-encodes every URL-reserved character of the password", () => {
        const encoded = encodeUrlComponent(RESERVED);
        assert.match(encoded, /^(%[0-9A-F]{2})+$/, `every reserved character is escaped, got ${encoded}`);
        const url = databaseUrl({ ...parts, password: `pw${RESERVED}` });
        assert.equal(
            url,
            `postgresql://ahoy_app_green:pw${encoded}@dpg-abc123-a:5432/ahoy_prod?sslmode=verify-full&application_name=ahoy-indie-media`,
        );
    });

    it("round-trips any user and password through new URL() and through pg's connection-string parser", () => {
        const text = fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 });
        fc.assert(
            fc.property(text, text, (user, password) => {
                const url = databaseUrl({ ...parts, user, password });
                const parsed = new URL(url);
                const viaPg = parseConnectionString(url);
                return (
                    decodeURIComponent(parsed.username) === user &&
                    decodeURIComponent(parsed.password) === password &&
                    parsed.hostname === "dpg-abc123-a" &&
                    parsed.pathname === "/ahoy_prod" &&
                    parsed.searchParams.get("sslmode") === "verify-full" &&
                    viaPg.user === user &&
                    viaPg.password === password &&
                    viaPg.host === "dpg-abc123-a" &&
                    viaPg.port === 5432 &&
                    viaPg.database === "ahoy_prod" &&
                    viaPg.applicationName === "ahoy-indie-media"
                );
            }),
            { numRuns: 500 },
        );
        const reserved = parseConnectionString(databaseUrl({ ...parts, password: RESERVED }));
        assert.equal(reserved.password, RESERVED);
    });

    it("brackets an IPv6 host", () => {
        const parsed = parseConnectionString(databaseUrl({ ...parts, host: "::1", password: "x" }));
        assert.equal(parsed.host, "::1");
    });

    it("refuses a bad host, port, database name or sslmode, naming the setting and never the password", () => {
        const password = "do-not-print-me";
        const cases: Array<[Partial<typeof parts>, RegExp]> = [
            [{ host: "bad host" }, /^databaseAppHost: got "bad host"; expected a host name/],
            [{ port: 0 }, /^databasePort: got 0; expected a whole number from 1 to 65535/],
            [{ database: "ahoy/prod" }, /^databaseName: got "ahoy\/prod"; expected letters, digits/],
            [
                { sslMode: "on" },
                /^databaseSslMode: got "on"; expected one of disable, allow, prefer, require, verify-ca, verify-full/,
            ],
        ];
        for (const [override, message] of cases) {
            assert.throws(
                () => databaseUrl({ ...parts, ...override, password }),
                (err: Error) => message.test(err.message) && !err.message.includes(password),
            );
        }
    });
});

describe("SECRET_KEY", () => {
    it("has the form of secrets.token_urlsafe(32): 43 URL-safe base64 characters, no padding, the same bytes", () => {
        fc.assert(
            fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
                const key = secretKeyOf(bytes);
                return /^[A-Za-z0-9_-]{43}$/.test(key) && Buffer.from(key, "base64url").equals(Buffer.from(bytes));
            }),
        );
    });

    it("matches Python's token_urlsafe encoding for a known value", () => {
        // base64.urlsafe_b64encode(bytes(range(224, 256))).rstrip(b"=")
        const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => 224 + i));
        assert.equal(secretKeyOf(bytes), "4OHi4-Tl5ufo6err7O3u7_Dx8vP09fb3-Pn6-_z9_v8");
    });

    it("refuses anything but 32 bytes", () => {
        assert.throws(() => secretKeyOf(randomBytes(16)), /got 16 random bytes; expected 32/);
    });

    it("a new key is 32 fresh random bytes each time", () => {
        const keys = new Set(Array.from({ length: 50 }, () => newSecretKey()));
        assert.equal(keys.size, 50);
        for (const key of keys) assert.equal(Buffer.from(key, "base64url").length, 32);
    });
});

describe("SecretKey component", () => {
    const SOURCE = "pulumi-nodejs:dynamic/secrets:SecretKey";

    /** Declares SecretKey under mocks whose source answers a value (as the provider would, adopted or new). */
    async function declareKey(generation: number) {
        const declared: pulumi.runtime.MockResourceArgs[] = [];
        await setProjectMocks((args) => {
            declared.push(args);
            const state: Record<string, unknown> = { ...args.inputs };
            if (args.type === SOURCE) state.value = `key-of-generation-${generation}`;
            return { id: `${args.name}-id`, state };
        });
        const key = new SecretKey("secret-key", {
            service: "ahoy-indie-media",
            apiUrl: "http://127.0.0.1:1/v1",
            generation,
        });
        const value = await valueOf(key.value);
        await valueOf(key.source.urn);
        const source = declared.find((r) => r.type === SOURCE);
        assert.ok(source, "SecretKey declares its source");
        return { value, secret: await pulumi.isSecret(key.value), inputs: source.inputs };
    }

    it("declares its source for the service and the generation, and hands its value on as a secret", async () => {
        const key = await declareKey(3);
        assert.deepEqual(
            { service: key.inputs.service, apiUrl: key.inputs.apiUrl, generation: key.inputs.generation },
            { service: "ahoy-indie-media", apiUrl: "http://127.0.0.1:1/v1", generation: 3 },
        );
        assert.equal(key.value, "key-of-generation-3");
        assert.ok(key.secret, "SECRET_KEY is a secret");
    });

    it("refuses a generation below 1, naming the setting", async () => {
        await setProjectMocks();
        assert.throws(
            () => new SecretKey("bad", { service: "ahoy-indie-media", apiUrl: "http://127.0.0.1:1/v1", generation: 0 }),
            /secretKeyGeneration: got 0; expected a whole number >= 1/,
        );
    });
});
