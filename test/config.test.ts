// parseStackConfig: good and bad values, the grammars' properties, every problem reported at once.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { parse as parseYaml } from "yaml";
import { StackConfigError, parseBlockedIps, parseRateLimit, parseStackConfig, settingsMeta } from "../stacks/config";
import { MAX_BLOCKED_IPS } from "../stacks/settings/switches";

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
            takeOverFrom: undefined,
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
        // The same address or range in other notations is one entry, written back canonically.
        ["BLOCKED_IPS", "2001:db8::1,2001:0DB8:0:0:0:0:0:1,2001:db8:0::1/128", "2001:db8::1"],
        ["BLOCKED_IPS", "10.0.0.1/32,10.0.0.1,::ffff:10.0.0.1,::FFFF:a00:1", "10.0.0.1"],
        ["BLOCKED_IPS", "::ffff:192.168.0.0/120,192.168.0.0/24", "192.168.0.0/24"],
        ["BLOCKED_IPS", "2001:db8:0:0:1:0:0:1,2001:db8::1:0:0:1", "2001:db8::1:0:0:1"],
        ["BLOCKED_IPS", "10.0.0.0/8,2001:db8::/32", "10.0.0.0/8,2001:db8::/32"],
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

    const renderApiUrls: Array<[string, string | RegExp]> = [
        ["https://api.render.com/v1", "https://api.render.com/v1"],
        ["https://api.render.com/v1/", "https://api.render.com/v1"],
        ["https://API.Render.com:443/v1", "https://API.Render.com:443/v1"],
        ["http://127.0.0.1:4010/v1/", "http://127.0.0.1:4010/v1"],
        ["http://127.8.9.10:4010/v1", "http://127.8.9.10:4010/v1"],
        ["http://[::1]:4010/v1", "http://[::1]:4010/v1"],
        ["https://localhost:4010/v1", "https://localhost:4010/v1"],
        [
            "https://render.example/v1",
            /renderApiUrl: got "https:\/\/render\.example\/v1": would send the Render API key to render\.example, which is neither Render's API nor a loopback address; expected https:\/\/api\.render\.com\/v1, or an http\(s\) URL on a loopback address \(127\.0\.0\.0\/8, \[::1\] or localhost\) for the emulator, without a user, password, query or fragment: `pulumi config rm renderApiUrl` \(Render's API is the default\)/,
        ],
        ["http://10.0.0.1:4010/v1", /would send the Render API key to 10\.0\.0\.1/],
        ["http://0.0.0.0:4010/v1", /would send the Render API key to 0\.0\.0\.0/],
        ["http://127.0.0.1.attacker.test/v1", /would send the Render API key to 127\.0\.0\.1\.attacker\.test/],
        ["http://localhost.attacker.test/v1", /would send the Render API key to localhost\.attacker\.test/],
        [
            "http://api.render.com/v1",
            /is not Render's API as Render serves it \(https:\/\/api\.render\.com\/v1, over https\)/,
        ],
        ["https://api.render.com/v2", /is not Render's API as Render serves it/],
        ["https://api.render.com:8443/v1", /is not Render's API as Render serves it/],
        ["ftp://render.example", /got "ftp:\/\/render\.example": is not an http\(s\) URL/],
        ["render", /got "render": is not a URL; expected https:\/\/api\.render\.com\/v1/],
    ];
    for (const [raw, want] of renderApiUrls) {
        it(`${typeof want === "string" ? "takes" : "refuses"} renderApiUrl ${raw}`, () => {
            if (typeof want === "string")
                assert.equal(parseStackConfig({ ...REQUIRED, renderApiUrl: raw }).renderApiUrl, want);
            else assert.match(problemsOf({ renderApiUrl: raw }), want);
        });
    }

    it("refuses a renderApiUrl carrying a user, password, query or fragment without quoting them", () => {
        for (const raw of [
            "https://tok3n@api.render.com/v1",
            "https://u:s3cret@127.0.0.1:4010/v1",
            "https://api.render.com/v1?key=s3cret",
            "http://127.0.0.1:4010/v1#s3cret",
        ]) {
            const message = problemsOf({ renderApiUrl: raw });
            assert.match(
                message,
                /renderApiUrl: got ".*": (carries a user or password|has a query or fragment)/,
                message,
            );
            assert.doesNotMatch(message, /tok3n|s3cret/, message);
        }
    });

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
        [
            "BLOCKED_IPS",
            "10.0.0.0/33",
            /"10.0.0.0\/33" is not an IPv4\/IPv6 address or CIDR range \(an IPv4 prefix is \/0 to \/32\)/,
        ],
        [
            "BLOCKED_IPS",
            " , ",
            /BLOCKED_IPS: got " , ": expected at least one address or range; unset the key to block none/,
        ],
        [
            "BLOCKED_IPS",
            "10.0.0.1/8",
            /BLOCKED_IPS: got "10.0.0.1\/8": "10.0.0.1\/8" has host bits set: the range is 10.0.0.0\/8 \(or write 10.0.0.1 to block that one address\)/,
        ],
        ["BLOCKED_IPS", "2001:db8::1/32", /"2001:db8::1\/32" has host bits set: the range is 2001:db8::\/32/],
        [
            "BLOCKED_IPS",
            "0.0.0.0/0",
            /"0.0.0.0\/0" blocks every IPv4 client; the broadest range allowed is \/8 for IPv4 and \/32 for IPv6/,
        ],
        ["BLOCKED_IPS", "::/0", /"::\/0" blocks every IPv6 client/],
        ["BLOCKED_IPS", "10.0.0.0/7", /"10.0.0.0\/7" blocks 33,554,432 addresses; the broadest range allowed is \/8/],
        ["BLOCKED_IPS", "2001:db8::/31", /"2001:db8::\/31" blocks 2\^97 addresses/],
        ["BLOCKED_IPS", "010.0.0.1", /"010.0.0.1" is not an IPv4\/IPv6 address/],
        ["BLOCKED_IPS", "fe80::1%eth0", /"fe80::1%eth0" is not an IPv4\/IPv6 address/],
        ["BLOCKED_IPS", "10.0.0.1/-1", /"10.0.0.1\/-1" is not an IPv4\/IPv6 address/],
        ["service", "srv-TOO-SHORT", /service: got "srv-TOO-SHORT": expected a Render service name or a service id/],
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

    it(`refuses more than ${MAX_BLOCKED_IPS} distinct BLOCKED_IPS entries, quoting only the start of the value`, () => {
        // 228 KB of addresses, as a paste of a log could be: 10.0.0.0 to 10.0.0.255, 10.0.1.0, ...
        const addresses = Array.from(
            { length: 15_000 },
            (_, i) => `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`,
        );
        const raw = addresses.join(",");
        const message = problemsOf({ BLOCKED_IPS: raw });
        assert.match(
            message,
            /BLOCKED_IPS: got "10\.0\.0\.0,10\.0\.0\.1,[0-9.,]*"\.\.\. \(\d+ characters\): has 15000 distinct entries; expected at most 1000/,
        );
        assert.ok(message.length < 1_000, `the message is ${message.length} characters`);
        const [exactly] = [addresses.slice(0, MAX_BLOCKED_IPS).join(",")];
        assert.equal(parseStackConfig({ ...REQUIRED, BLOCKED_IPS: exactly }).BLOCKED_IPS, exactly);
    });

    it("lists ten bad BLOCKED_IPS entries and counts the rest", () => {
        const message = problemsOf({ BLOCKED_IPS: Array.from({ length: 25 }, (_, i) => `host-${i}`).join(",") });
        assert.match(message, /"host-9" is not/);
        assert.doesNotMatch(message, /"host-10"/);
        assert.match(message, /; and 15 more/);
    });

    it("takeOverFrom takes a stack's full name, as the refusal names the owner, and nothing else", () => {
        const config = parseStackConfig({ ...REQUIRED, takeOverFrom: "organization/ahoy-ops/prod" });
        assert.equal(config.takeOverFrom, "organization/ahoy-ops/prod");
        assert.match(
            problemsOf({ takeOverFrom: "prod" }),
            /takeOverFrom: got "prod": expected a stack's full name, <organization>\/<project>\/<stack>/,
        );
    });

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

    it("refuses a plain-text postgresql:password wherever it appears, managed database or not, with the --secret command", () => {
        for (const managed of [{}, { databaseAppHost: "db.internal" }]) {
            let message = "";
            try {
                parseStackConfig({ ...REQUIRED, ...managed, SIGNED_URL_EXPIRY: "5" }, new Set(), {
                    "postgresql:password": "hunter2-plain",
                });
            } catch (err) {
                message = (err as Error).message;
            }
            assert.match(message, /2 problems/, "listed with every other problem");
            assert.match(
                message,
                /- postgresql:password: is stored in plain text; expected `pulumi config set --secret postgresql:password <the admin password>`/,
            );
            assert.doesNotMatch(message, /hunter2/);
        }
        const stored = parseStackConfig(REQUIRED, new Set(["postgresql:password"]), { "postgresql:password": "x" });
        assert.equal(stored.databaseAppHost, undefined, "an encrypted one is taken");
    });

    // The admin connection's TLS, from the stack (postgresql:...) or, once the program connects, libpq's variables.
    const adminTls: Array<[string, Record<string, string>, Record<string, string>, Record<string, string>, RegExp?]> = [
        [
            "disable to a remote host",
            {},
            { "postgresql:host": "dpg-x.oregon-postgres.render.com", "postgresql:sslmode": "disable" },
            {},
            /- postgresql:sslmode: got "disable", but the admin connection goes to dpg-x\.oregon-postgres\.render\.com \(postgresql:host\), not this machine: its password would cross the network unencrypted; expected verify-full .*`pulumi config set postgresql:sslmode verify-full`/,
        ],
        [
            "disable to a remote PGHOST (PGSSLMODE), once the database is managed",
            { databaseAppHost: "dpg-app-a" },
            {},
            { PGHOST: "db.example.net", PGSSLMODE: "disable" },
            /- postgresql:sslmode \(PGSSLMODE\): got "disable", but the admin connection goes to db\.example\.net \(PGHOST\)/,
        ],
        [
            "disable with no host: libpq's localhost default",
            { databaseAppHost: "dpg-app-a" },
            { "postgresql:sslmode": "disable" },
            {},
            undefined,
        ],
        [
            "disable to 127.0.0.1",
            {},
            { "postgresql:host": "127.0.0.1", "postgresql:sslmode": "disable" },
            {},
            undefined,
        ],
        ["disable to ::1", {}, { "postgresql:host": "::1", "postgresql:sslmode": "disable" }, {}, undefined],
        [
            "libpq's variables while nothing connects",
            {},
            {},
            { PGHOST: "db.example.net", PGSSLMODE: "disable" },
            undefined,
        ],
        [
            "verify-full to a remote host",
            {},
            { "postgresql:host": "db.example.net", "postgresql:sslmode": "verify-full" },
            {},
            undefined,
        ],
        [
            "verify-ca with no CA of its own",
            {},
            { "postgresql:host": "db.example.net", "postgresql:sslmode": "verify-ca" },
            {},
            /- postgresql:sslmode: got "verify-ca", which checks only who signed the certificate, with no CA of its own \(postgresql:sslrootcert\)/,
        ],
        [
            "verify-ca with the CA's file",
            {},
            {
                "postgresql:host": "db.example.net",
                "postgresql:sslmode": "verify-ca",
                "postgresql:sslrootcert": "/etc/ahoy/ca.pem",
            },
            {},
            undefined,
        ],
        [
            "a mode libpq does not know",
            {},
            { "postgresql:sslmode": "on" },
            {},
            /- postgresql:sslmode: got "on"; expected one of disable, allow, prefer, require, verify-ca, verify-full/,
        ],
    ];
    for (const [what, values, provider, environment, refused] of adminTls) {
        it(`${refused ? "refuses" : "takes"} the admin connection's TLS: ${what}`, () => {
            const parse = () => parseStackConfig({ ...REQUIRED, ...values }, new Set(), provider, environment);
            if (refused) assert.throws(parse, (err: Error) => refused.test(err.message));
            else parse();
        });
    }

    it("refuses databaseSslMode disable for an app host that is not this machine, naming the fix", () => {
        assert.match(
            problemsOf({ databaseAppHost: "dpg-app-a", databaseSslMode: "disable" }),
            /- databaseSslMode: got "disable", but DATABASE_URL's host dpg-app-a \(databaseAppHost\) is not this machine: the app's password would cross the network unencrypted; expected require or, where the host's certificate can be checked, verify-full: `pulumi config set databaseSslMode require`/,
        );
        const local = parseStackConfig({ ...REQUIRED, databaseAppHost: "127.0.0.1", databaseSslMode: "disable" });
        assert.equal(local.databaseSslMode, "disable");
        for (const mode of ["verify-ca", "verify-full"]) {
            assert.equal(
                parseStackConfig({ ...REQUIRED, databaseAppHost: "dpg-app-a", databaseSslMode: mode }).databaseSslMode,
                mode,
            );
        }
    });

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

    it("bounds the stability window to 10-3600 s, 300 (the runbook's five minutes) by default", () => {
        assert.equal(parsed({}).stabilityWindowSeconds, 300);
        assert.equal(parsed({ stabilityWindowSeconds: "10" }).stabilityWindowSeconds, 10);
        assert.equal(parsed({ stabilityWindowSeconds: "3600" }).stabilityWindowSeconds, 3600);
        assert.match(
            problemsOf({ stabilityWindowSeconds: "3601" }),
            /stabilityWindowSeconds: got "3601": expected whole seconds from 10 to 3600/,
        );
        assert.match(
            problemsOf({ stabilityWindowSeconds: "9" }),
            /stabilityWindowSeconds: got "9": expected whole seconds from 10 to 3600/,
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
    // A range as written: its network address (host bits clear) and prefix, at most as broad as /8 (IPv4) or /32 (IPv6).
    const ipv4Network = fc
        .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 8, max: 32 }))
        .map(([value, prefix]) => {
            const network = prefix === 0 ? 0 : (value & (~0 << (32 - prefix))) >>> 0;
            const dotted = [24, 16, 8, 0].map((shift) => (network >>> shift) & 0xff).join(".");
            return prefix === 32 ? dotted : `${dotted}/${prefix}`;
        });
    it("accepts any list of IPv4 addresses and ranges, each written back once, in first-seen order", () => {
        fc.assert(
            fc.property(fc.array(fc.oneof(fc.ipV4(), ipv4Network), { minLength: 1, maxLength: 8 }), (entries) => {
                const raw = entries.map((e) => ` ${e} `).join(",");
                const { value, problems } = parseBlockedIps(raw);
                return problems.length === 0 && value === [...new Set(entries)].join(",");
            }),
        );
    });
    it("writes an IPv6 address back as RFC 5952 text (what WHATWG URL serializes), in any notation it was given", () => {
        fc.assert(
            fc.property(fc.ipV6(), fc.boolean(), (ip, upper) => {
                const { value, problems } = parseBlockedIps(upper ? ip.toUpperCase() : ip);
                const canonical = new URL(`http://[${ip}]`).hostname.slice(1, -1);
                // An IPv4-mapped address is the IPv4 client it maps.
                const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
                const want = mapped
                    ? [mapped[1], mapped[2]]
                          .flatMap((group) => [parseInt(group, 16) >> 8, parseInt(group, 16) & 0xff])
                          .join(".")
                    : canonical;
                return problems.length === 0 && value === want;
            }),
        );
    });
    it("is idempotent: a written-back list parses to itself", () => {
        fc.assert(
            fc.property(
                fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), ipv4Network), { minLength: 1, maxLength: 8 }),
                (entries) => {
                    const once = parseBlockedIps(entries.join(",")).value;
                    return once !== undefined && parseBlockedIps(once).value === once;
                },
            ),
        );
    });
    it("rejects an IPv4 address with an octet over 255, naming it", () => {
        fc.assert(
            fc.property(fc.ipV4(), fc.integer({ min: 256, max: 999 }), (ip, octet) => {
                const badIp = ip.replace(/\d+$/, String(octet));
                const { problems } = parseBlockedIps(`${ip},${badIp}`);
                return problems.length === 1 && problems[0].startsWith(JSON.stringify(badIp));
            }),
        );
    });
    it(`takes ${MAX_BLOCKED_IPS} entries of the longest form, well within one environment variable's 128 KiB`, () => {
        // The longest canonical entry: a full IPv6 address with no zero group, as a /32..127 range or alone.
        const longest = Array.from(
            { length: MAX_BLOCKED_IPS },
            (_, i) => `ffff:ffff:ffff:ffff:ffff:ffff:ffff:${(0xf000 + i).toString(16)}`,
        );
        const { value, problems } = parseBlockedIps(longest.join(","));
        assert.deepEqual(problems, []);
        assert.equal(value?.split(",").length, MAX_BLOCKED_IPS);
        // Linux refuses to start a process with one "KEY=value" longer than MAX_ARG_STRLEN (32 pages: 131072 bytes).
        assert.ok(Buffer.byteLength(`BLOCKED_IPS=${value}`) < 131_072, `${Buffer.byteLength(value ?? "")} bytes`);
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
