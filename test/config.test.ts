// parseStackConfig: good and bad values, the grammars' properties, every problem reported at once.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { parse as parseYaml } from "yaml";
import { StackConfigError, parseBlockedIps, parseRateLimit, parseStackConfig, settingsMeta } from "../stacks/config";

const root = path.join(__dirname, "..");
const SERVICE_URL = "https://ahoy-indie-media.onrender.com";
/** What every stack must set besides the defaults: the URL verification checks (unless verify is false). */
const REQUIRED = { serviceUrl: SERVICE_URL };

/** The problems with `values` (on top of the required settings, which a test may override or remove). */
function problemsOf(values: Record<string, string | undefined>, secretKeys?: Set<string>): string {
    try {
        parseStackConfig({ ...REQUIRED, ...values }, secretKeys);
    } catch (err) {
        assert.ok(err instanceof StackConfigError, `expected a StackConfigError, got ${err}`);
        return err.message;
    }
    assert.fail(`expected ${JSON.stringify(values)} to be rejected`);
}

describe("parseStackConfig", () => {
    it("gives every key its documented default when the stack sets only the required serviceUrl", () => {
        const config = parseStackConfig(REQUIRED);
        assert.deepEqual(config, {
            MAINTENANCE_PAGE: false,
            maintenancePageUri: undefined,
            DISABLE_SIGNUP: false,
            MAINTENANCE_MODE: false,
            ENABLE_SIGNED_URLS: false,
            BLOCK_DIRECT_MEDIA: false,
            SIGNED_URL_EXPIRY: 3600,
            RATE_LIMIT_DEFAULT: undefined,
            RATE_LIMIT_AUTH: undefined,
            BLOCKED_IPS: undefined,
            service: "ahoy-indie-media",
            renderApiUrl: "https://api.render.com/v1",
            renderApiKey: undefined,
            releasePin: undefined,
            repository: undefined,
            serviceUrl: SERVICE_URL,
            verify: true,
            mediaProbePath: undefined,
            databaseId: undefined,
            stabilityWindowSeconds: 300,
            secretKeyGeneration: 1,
            sessionStore: "none",
            sessionKeyPattern: undefined,
            redisUrl: undefined,
            databaseCredentialGeneration: 1,
            databaseRolePrefix: "ahoy_app",
            databaseOwnerRole: "ahoy",
            databaseAppHost: undefined,
            databasePort: 5432,
            databaseName: "ahoy_prod",
            databaseSslMode: "require",
            incidentSeverity: undefined,
            incidentTitle: undefined,
            incidentStatus: "investigating",
            incidentImpact: undefined,
            incidentOnCall: undefined,
            contacts: {},
            slackWebhookUrl: undefined,
            pagerDutyRoutingKey: undefined,
            alertEmail: undefined,
            smtpUrl: undefined,
        });
    });

    const good: Array<[string, string, unknown]> = [
        ["DISABLE_SIGNUP", "true", true],
        ["DISABLE_SIGNUP", "false", false],
        ["BLOCK_DIRECT_MEDIA", "true", true],
        ["SIGNED_URL_EXPIRY", "60", 60],
        ["SIGNED_URL_EXPIRY", "604800", 604800],
        ["RATE_LIMIT_DEFAULT", "10 per minute", "10 per minute"],
        ["RATE_LIMIT_DEFAULT", "10/minute", "10 per minute"],
        ["RATE_LIMIT_AUTH", "3 / Hour", "3 per hour"],
        ["RATE_LIMIT_AUTH", "", undefined],
        ["BLOCKED_IPS", "192.168.1.100,10.0.0.50", "192.168.1.100,10.0.0.50"],
        ["BLOCKED_IPS", " 10.0.0.0/8 , 2001:DB8::/32,10.0.0.0/8 ", "10.0.0.0/8,2001:db8::/32"],
        ["BLOCKED_IPS", "::1", "::1"],
        ["service", "srv-d0abcdefghijklmnopqr", "srv-d0abcdefghijklmnopqr"],
        ["service", "ahoy-staging", "ahoy-staging"],
        ["renderApiUrl", "http://127.0.0.1:4010/v1/", "http://127.0.0.1:4010/v1"],
    ];
    for (const [key, raw, want] of good) {
        it(`accepts ${key}=${JSON.stringify(raw)} as ${JSON.stringify(want)}`, () => {
            const values = {
                ...REQUIRED,
                ...(key === "BLOCK_DIRECT_MEDIA" && { mediaProbePath: "/media/probe.jpg" }),
                [key]: raw,
            };
            assert.deepEqual(parseStackConfig(values)[key as keyof ReturnType<typeof parseStackConfig>], want);
        });
    }

    it("refuses a maintenance page on the service itself (Render's edge would answer it with the page)", () => {
        assert.match(
            problemsOf({ MAINTENANCE_PAGE: "true", maintenancePageUri: `${SERVICE_URL}/maintenance.html` }),
            /maintenancePageUri: got ".*", a page of the service itself \(serviceUrl\), which maintenance mode takes offline/,
        );
        assert.equal(
            parseStackConfig({
                ...REQUIRED,
                MAINTENANCE_PAGE: "true",
                maintenancePageUri: "https://status.ahoy.example/",
            }).maintenancePageUri,
            "https://status.ahoy.example/",
        );
        assert.match(
            problemsOf({ maintenancePageUri: "ftp://x" }),
            /maintenancePageUri: got "ftp:\/\/x": expected an https:\/\/ URL/,
        );
    });

    const bad: Array<[string, string, RegExp]> = [
        ["DISABLE_SIGNUP", "yes", /DISABLE_SIGNUP: got "yes": expected true or false/],
        ["MAINTENANCE_MODE", "1", /MAINTENANCE_MODE: got "1": expected true or false/],
        ["SIGNED_URL_EXPIRY", "59", /SIGNED_URL_EXPIRY: got "59": expected whole seconds from 60 to 604800/],
        ["SIGNED_URL_EXPIRY", "604801", /SIGNED_URL_EXPIRY: got "604801"/],
        ["SIGNED_URL_EXPIRY", "1h", /SIGNED_URL_EXPIRY: got "1h": expected whole seconds/],
        ["SIGNED_URL_EXPIRY", "3600.5", /SIGNED_URL_EXPIRY: got "3600.5"/],
        [
            "RATE_LIMIT_DEFAULT",
            "0 per minute",
            /RATE_LIMIT_DEFAULT: got "0 per minute": expected `N per second\|minute\|hour\|day`/,
        ],
        ["RATE_LIMIT_DEFAULT", "10 per fortnight", /RATE_LIMIT_DEFAULT: got "10 per fortnight"/],
        ["RATE_LIMIT_AUTH", "lots", /RATE_LIMIT_AUTH: got "lots"/],
        [
            "BLOCKED_IPS",
            "10.0.0.300",
            /BLOCKED_IPS: got "10.0.0.300": "10.0.0.300" is not an IPv4\/IPv6 address or CIDR range/,
        ],
        ["BLOCKED_IPS", "10.0.0.1,example.com", /"example.com" is not an IPv4\/IPv6 address or CIDR range/],
        ["BLOCKED_IPS", "10.0.0.0/33", /"10.0.0.0\/33" is not/],
        ["BLOCKED_IPS", " , ", /BLOCKED_IPS: got " , "/],
        ["service", "srv-TOO-SHORT", /service: got "srv-TOO-SHORT": expected a Render service name or a service id/],
        [
            "renderApiUrl",
            "ftp://render.example",
            /renderApiUrl: got "ftp:\/\/render.example": expected an http\(s\) URL/,
        ],
        [
            "DISABLE_SIGNUPS",
            "true",
            /DISABLE_SIGNUPS: got "true", but ahoy-ops has no setting DISABLE_SIGNUPS \(did you mean DISABLE_SIGNUP\?\)/,
        ],
    ];
    for (const [key, raw, want] of bad) {
        it(`rejects ${key}=${JSON.stringify(raw)} naming the key, the value and the expected form`, () => {
            assert.match(problemsOf({ [key]: raw }), want);
        });
    }

    it("reports every problem at once, not just the first", () => {
        const message = problemsOf({
            DISABLE_SIGNUPS: "true",
            SIGNED_URL_EXPIRY: "5",
            RATE_LIMIT_AUTH: "many",
            BLOCKED_IPS: "1.2.3.4,999.1.1.1",
            MAINTENANCE_MODE: "on",
        });
        assert.match(message, /5 problems/);
        for (const key of [
            "DISABLE_SIGNUPS",
            "SIGNED_URL_EXPIRY",
            "RATE_LIMIT_AUTH",
            "BLOCKED_IPS",
            "MAINTENANCE_MODE",
        ]) {
            assert.match(message, new RegExp(`- ${key}: `), `the message should name ${key}:\n${message}`);
        }
    });

    it("never prints a secret: not the API key, not the value of an unknown secret key", () => {
        const message = problemsOf(
            { renderApiKey: "rnd_supersecret", renderApiKy: "rnd_othersecret", DISABLE_SIGNUP: "maybe" },
            new Set(["renderApiKy"]),
        );
        assert.doesNotMatch(message, /rnd_supersecret|rnd_othersecret/);
        assert.match(
            message,
            /renderApiKey: is stored in plain text; expected a Render API key set with `pulumi config set --secret renderApiKey`/,
        );
        assert.match(
            message,
            /renderApiKy: got a secret value, but ahoy-ops has no setting renderApiKy \(did you mean renderApiKey\?\)/,
        );
    });

    it("never quotes a value stored as a secret, even when it is malformed", () => {
        const message = problemsOf(
            { BLOCKED_IPS: "secret-host-xyz", releasePin: "dep-secretpin!", repository: "ftp://tok3n@git.example" },
            new Set(["BLOCKED_IPS", "releasePin", "repository"]),
        );
        assert.doesNotMatch(message, /secret-host-xyz|secretpin|tok3n/);
        for (const key of ["BLOCKED_IPS", "releasePin", "repository"]) {
            assert.match(
                message,
                new RegExp(`- ${key}: got a secret value`),
                `${key} should be named without its value`,
            );
        }
    });

    it("never prints the user part of a URL, a token among them, in any message", () => {
        const message = problemsOf({ repository: "ftp://ghp_tok3n@git.example/ahoy.git" });
        assert.doesNotMatch(message, /tok3n/);
        assert.match(message, /repository: got /);
    });

    // DATABASE_URL's host: what the app connects to. A port or a scheme in it would make a URL the app cannot use.
    const appHosts: Array<[string, RegExp | undefined]> = [
        ["dpg-cr9q1q3v2p9s73b0ug4g-a", undefined],
        ["db.internal", undefined],
        ["10.0.0.5", undefined],
        ["::1", undefined],
        ["fd00::5", undefined],
        [
            "db.internal:5432",
            /databaseAppHost: got "db.internal:5432": a host with a port; set the host alone, and the port with pulumi config set databasePort 5432/,
        ],
        ["10.0.0.5:6543", /a host with a port; .* pulumi config set databasePort 6543/],
        [":", /databaseAppHost: got ":": expected a host name .* or an IPv4\/IPv6 address/],
        ["dead:5432", /a host with a port/],
        [
            "postgres://db.internal/ahoy",
            /databaseAppHost: got "postgres:\/\/db.internal\/ahoy": a URL; expected only its host/,
        ],
        ["10.0.0.300", /databaseAppHost: got "10.0.0.300": not an IPv4 address/],
        ["[::1]", /an IPv6 address in brackets; give it without them/],
        ["db_internal", /databaseAppHost: got "db_internal": expected a host name/],
        ["-db", /databaseAppHost: got "-db": expected a host name/],
    ];
    for (const [host, problem] of appHosts) {
        it(`${problem ? "refuses, at preview," : "accepts"} databaseAppHost ${host}`, () => {
            if (!problem) {
                assert.equal(parseStackConfig({ ...REQUIRED, databaseAppHost: host }).databaseAppHost, host);
                return;
            }
            assert.match(problemsOf({ databaseAppHost: host }), problem);
        });
    }

    it("refuses an owner role that is one of the login roles, before anything is declared", () => {
        assert.match(
            problemsOf({ databaseAppHost: "db.internal", databaseOwnerRole: "ahoy_app_blue" }),
            /databaseOwnerRole: got "ahoy_app_blue"; expected the existing role that owns the app's tables and nothing more, not one of the login roles ahoy_app_blue and ahoy_app_green/,
        );
    });

    // The app's logins act as the owner (SET ROLE at login): an owner with powers beyond its tables hands them over.
    const dangerousOwners: Array<[string, Record<string, string>, Record<string, string>, RegExp]> = [
        [
            "postgres",
            {},
            {},
            /databaseOwnerRole: got "postgres", the superuser: the app's login roles act as the owner/,
        ],
        ["pg_write_all_data", {}, {}, /got "pg_write_all_data", a role built into PostgreSQL \(pg_\*\)/],
        ["pg_signal_backend", {}, {}, /a role built into PostgreSQL/],
        [
            "ahoy_admin",
            { "postgresql:username": "ahoy_admin" },
            {},
            /got "ahoy_admin", the admin role the program connects as/,
        ],
        ["ops", {}, { PGUSER: "ops" }, /got "ops", the admin role the program connects as/],
    ];
    for (const [owner, provider, environment, why] of dangerousOwners) {
        const where = Object.keys(provider).length ? " (postgresql:username)" : environment.PGUSER ? " (PGUSER)" : "";
        it(`refuses databaseOwnerRole ${owner}${where}, saying why`, () => {
            let message = "";
            try {
                parseStackConfig(
                    { ...REQUIRED, databaseAppHost: "db.internal", databaseOwnerRole: owner },
                    new Set(),
                    provider,
                    environment,
                );
            } catch (err) {
                message = (err as Error).message;
            }
            assert.match(message, why);
        });
    }

    it("takes an owner role that is neither a login role, a built-in role nor the admin", () => {
        const config = parseStackConfig(
            { ...REQUIRED, databaseAppHost: "db.internal", databaseOwnerRole: "ahoy" },
            new Set(),
            { "postgresql:username": "ahoy_admin" },
            { PGUSER: "ops" },
        );
        assert.equal(config.databaseOwnerRole, "ahoy");
    });

    const redisUrls: Array<[string, boolean]> = [
        ["redis://cache.internal:6379", true],
        ["rediss://:pw@cache.internal:6380/0", true],
        ["redis://cache.internal/15", true],
        ["redis://cache.internal/", true],
        ["redis://cache.internal/16", false],
        ["redis://cache.internal/db1", false],
        ["redis://cache.internal/0/extra", false],
        ["redis://cache.internal/0?timeout=1", false],
        ["http://cache.internal", false],
    ];
    for (const [url, ok] of redisUrls) {
        it(`${ok ? "accepts" : "refuses, at preview,"} redisUrl ${url.replace(/:pw@/, ":***@")}`, () => {
            const values = { ...REQUIRED, sessionStore: "redis", redisUrl: url };
            if (ok) {
                assert.equal(parseStackConfig(values, new Set(["redisUrl"])).redisUrl, url);
                return;
            }
            const message = problemsOf(values, new Set(["redisUrl"]));
            assert.match(
                message,
                /redisUrl: got a secret value: expected a redis:\/\/ or rediss:\/\/ URL, with no database or one of \/0 to \/15/,
            );
            assert.ok(!message.includes("cache.internal"), "the secret URL must not be quoted");
        });
    }

    for (const pattern of ["*", "**"]) {
        it(`refuses sessionKeyPattern ${JSON.stringify(pattern)}: that is FLUSHDB, which no pattern says`, () => {
            assert.match(
                problemsOf(
                    { sessionStore: "redis", redisUrl: "redis://cache.internal", sessionKeyPattern: pattern },
                    new Set(["redisUrl"]),
                ),
                /sessionKeyPattern: got "\*+": matches every key; remove sessionKeyPattern to clear the whole database with FLUSHDB/,
            );
        });
    }

    it("accepts the API key when it was stored as a secret", () => {
        assert.equal(
            parseStackConfig({ ...REQUIRED, renderApiKey: "rnd_x" }, new Set(["renderApiKey"])).renderApiKey,
            "rnd_x",
        );
    });
});

describe("release pin and verification settings", () => {
    const parsed = (values: Record<string, string>) => parseStackConfig({ ...REQUIRED, ...values });

    it("takes a release pin as a deploy id, a commit SHA or a git tag; unset means no pin", () => {
        assert.equal(parsed({ releasePin: "dep-d0abcdefghijklmnopqr" }).releasePin, "dep-d0abcdefghijklmnopqr");
        assert.equal(parsed({ releasePin: "abc1234" }).releasePin, "abc1234");
        assert.equal(parsed({ releasePin: " v0.1.0 " }).releasePin, "v0.1.0");
        assert.equal(parsed({ releasePin: "" }).releasePin, undefined);
    });

    it("rejects a release pin that is none of those, naming what a pin looks like", () => {
        assert.match(
            problemsOf({ releasePin: "dep-123" }),
            /releasePin: got "dep-123": "dep-123" starts like a deploy id but is not one; expected a deploy id/,
        );
        assert.match(
            problemsOf({ releasePin: "v0.1..0" }),
            /releasePin: got "v0.1..0": .*contains "\.\.".*expected a deploy id \(dep- .*\), a commit SHA .* or a git tag/,
        );
        assert.match(
            problemsOf({ releasePin: "--upload-pack=x" }),
            /releasePin: got "--upload-pack=x": .*starts with "-"/,
        );
    });

    it("takes the repository as a URL or git@host:path, and refuses one carrying credentials without echoing them", () => {
        assert.equal(
            parsed({ repository: "https://github.com/ahoy/ahoy-indie-media" }).repository,
            "https://github.com/ahoy/ahoy-indie-media",
        );
        assert.equal(
            parsed({ repository: "git@github.com:ahoy/ahoy-indie-media.git" }).repository,
            "git@github.com:ahoy/ahoy-indie-media.git",
        );
        const message = problemsOf({ repository: "https://ghp_token@github.com/ahoy/ahoy-indie-media" });
        assert.match(
            message,
            /repository: got "https:\/\/\*\*\*@github\.com\/ahoy\/ahoy-indie-media": repository https:\/\/github\.com\/ahoy\/ahoy-indie-media carries credentials in its URL/,
        );
        assert.doesNotMatch(message, /ghp_token/);
    });

    it("wants serviceUrl as https, allowing http only for a local rehearsal", () => {
        assert.equal(parsed({ serviceUrl: "http://127.0.0.1:4011" }).serviceUrl, "http://127.0.0.1:4011");
        assert.match(
            problemsOf({ serviceUrl: "http://ahoy-indie-media.onrender.com" }),
            /serviceUrl: got "http:\/\/ahoy-indie-media.onrender.com": expected the service's public https:\/\/ URL/,
        );
        assert.match(
            problemsOf({ serviceUrl: "ahoy-indie-media.onrender.com" }),
            /serviceUrl: got "ahoy-indie-media.onrender.com": expected/,
        );
    });

    it("fails by name when serviceUrl is missing and verify is not explicitly false, listed with every other problem", () => {
        const message = problemsOf({ serviceUrl: undefined, SIGNED_URL_EXPIRY: "5" });
        assert.match(message, /2 problems/);
        assert.match(
            message,
            /- serviceUrl: got nothing, but verify is on; expected the service's public https:\/\/ URL .*, or `pulumi config set verify false`/,
        );
        assert.match(message, /- SIGNED_URL_EXPIRY: got "5"/);
    });

    it("needs no serviceUrl when verify is set to false", () => {
        const config = parseStackConfig({ verify: "false" });
        assert.equal(config.verify, false);
        assert.equal(config.serviceUrl, undefined);
    });

    it("needs a media probe path when BLOCK_DIRECT_MEDIA is on and verification runs", () => {
        assert.match(
            problemsOf({ BLOCK_DIRECT_MEDIA: "true" }),
            /- mediaProbePath: got nothing, but BLOCK_DIRECT_MEDIA is true and verify is on; expected a direct media path that must answer 403/,
        );
        assert.equal(
            parsed({ BLOCK_DIRECT_MEDIA: "true", mediaProbePath: "/media/probe.jpg" }).mediaProbePath,
            "/media/probe.jpg",
        );
        assert.match(
            problemsOf({ mediaProbePath: "media/probe.jpg" }),
            /mediaProbePath: got "media\/probe.jpg": expected a path on serviceUrl starting with \//,
        );
        assert.equal(parseStackConfig({ verify: "false", BLOCK_DIRECT_MEDIA: "true" }).BLOCK_DIRECT_MEDIA, true);
    });

    it("bounds the stability window to 10-1200 s, 300 (the runbook's five minutes) by default", () => {
        assert.equal(parsed({}).stabilityWindowSeconds, 300);
        assert.equal(parsed({ stabilityWindowSeconds: "10" }).stabilityWindowSeconds, 10);
        assert.equal(parsed({ stabilityWindowSeconds: "1200" }).stabilityWindowSeconds, 1200);
        assert.match(
            problemsOf({ stabilityWindowSeconds: "3600" }),
            /stabilityWindowSeconds: got "3600": expected whole seconds from 10 to 1200/,
        );
        assert.match(
            problemsOf({ stabilityWindowSeconds: "9" }),
            /stabilityWindowSeconds: got "9": expected whole seconds from 10 to 1200/,
        );
        assert.match(problemsOf({ stabilityWindowSeconds: "5m" }), /stabilityWindowSeconds: got "5m"/);
    });
});

describe("the rate-limit and IP grammars", () => {
    const unit = fc.constantFrom("second", "minute", "hour", "day");
    it("normalises every `N per unit` and `N/unit` to `N per unit`", () => {
        fc.assert(
            fc.property(fc.integer({ min: 1, max: 1_000_000 }), unit, fc.boolean(), (n, u, slash) => {
                const raw = slash ? `${n}/${u.toUpperCase()}` : `${n} per ${u}`;
                return parseRateLimit(raw) === `${n} per ${u}`;
            }),
        );
    });
    it("is idempotent: a normalised limit parses to itself", () => {
        fc.assert(
            fc.property(fc.string(), (raw) => {
                const once = parseRateLimit(raw);
                return once === undefined || parseRateLimit(once) === once;
            }),
        );
    });
    it("rejects a zero count", () => {
        fc.assert(fc.property(unit, (u) => parseRateLimit(`0 per ${u}`) === undefined));
    });
    it("accepts any list of IPv4 addresses and CIDRs, de-duplicated, in first-seen order", () => {
        const ipv4 = fc.ipV4();
        const entry = fc.oneof(
            ipv4,
            fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`),
        );
        fc.assert(
            fc.property(fc.array(entry, { minLength: 1, maxLength: 8 }), (entries) => {
                const raw = entries.map((e) => ` ${e} `).join(",");
                const { value, bad } = parseBlockedIps(raw);
                return bad.length === 0 && value === [...new Set(entries)].join(",") && !/\s/.test(value);
            }),
        );
    });
    it("accepts IPv6 addresses, lower-cased", () => {
        fc.assert(
            fc.property(fc.ipV6(), (ip) => {
                const { value } = parseBlockedIps(ip.toUpperCase());
                return value === ip.toLowerCase();
            }),
        );
    });
    it("rejects an IPv4 address with an octet over 255, naming it", () => {
        fc.assert(
            fc.property(fc.ipV4(), fc.integer({ min: 256, max: 999 }), (ip, octet) => {
                const badIp = ip.replace(/\d+$/, String(octet));
                const { bad } = parseBlockedIps(`${ip},${badIp}`);
                return bad.length === 1 && bad[0] === badIp;
            }),
        );
    });
});

describe("Pulumi.yaml and the zod schema", () => {
    const project = parseYaml(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
        name: string;
        config: Record<string, { type: string; default: unknown; description: string }>;
    };

    it("declare the same keys", () => {
        assert.equal(project.name, "ahoy-ops");
        assert.deepEqual(
            Object.keys(project.config).sort(),
            settingsMeta()
                .map(([key]) => key)
                .sort(),
        );
    });

    for (const [key, meta] of settingsMeta()) {
        it(`agree on ${key}'s type, default and description`, () => {
            const declared = project.config[key];
            assert.ok(declared, `Pulumi.yaml does not declare ${key}`);
            assert.equal(declared.type, meta.pulumiType, `${key}: Pulumi.yaml type`);
            // An object key's default is handed to the program as its JSON text.
            const declaredDefault =
                typeof declared.default === "object" ? JSON.stringify(declared.default) : String(declared.default);
            assert.equal(declaredDefault, meta.default, `${key}: Pulumi.yaml default`);
            assert.equal(declared.description, meta.description, `${key}: Pulumi.yaml description`);
        });
    }

    it("the declared defaults parse to the schema's defaults", () => {
        const defaults = Object.fromEntries(
            Object.entries(project.config).map(([k, v]) => [
                k,
                typeof v.default === "object" ? JSON.stringify(v.default) : String(v.default),
            ]),
        );
        assert.deepEqual(parseStackConfig({ ...defaults, ...REQUIRED }), parseStackConfig(REQUIRED));
    });

    it("Pulumi.prod.yaml sets only declared keys, with valid values, and no secret in plain text", () => {
        const stack = parseYaml(fs.readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8")) as {
            config: Record<string, unknown>;
        };
        const values: Record<string, string> = {};
        for (const [fullKey, value] of Object.entries(stack.config)) {
            if (!fullKey.startsWith("ahoy-ops:")) continue;
            const key = fullKey.slice("ahoy-ops:".length);
            const objectKey = project.config[key]?.type === "object";
            assert.equal(
                typeof value === "object" && (!objectKey || "secure" in (value as object)),
                false,
                `${fullKey} is a secure value; this test only reads plain ones`,
            );
            // Pulumi hands the program an object key as its JSON text.
            values[key] = objectKey ? JSON.stringify(value) : String(value);
        }
        parseStackConfig(values);
    });
});
