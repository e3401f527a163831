// Secret rotation: SECRET_KEY and the sessions after it, the app's database login and the URL it is given.
import { z } from "zod";
import { appHostProblem, DATABASE_NAME_PATTERN, MAX_ROLE_PREFIX_LENGTH, ROLE_PATTERN, SSL_MODES } from "../rotation";
import { checkedText, digits, oneOf, setting, type SettingMeta, text, wholeNumber } from "./kit";

/** A rotation generation: bumping it in a reviewed PR is what rotates the secret. */
function generation(description: string) {
    const meta: SettingMeta = { pulumiType: "integer", default: "1", expected: "a whole number >= 1", description };
    return setting(meta, digits(1, Number.MAX_SAFE_INTEGER, `expected ${meta.expected}`));
}

export const redisUrlMeta: SettingMeta = {
    pulumiType: "string",
    default: "",
    expected:
        "a redis:// or rediss:// URL, with no database or one of /0 to /15, set with `pulumi config set --secret redisUrl ...`",
    description: "Where the app's sessions live (secret); required when sessionStore is redis.",
    secret: true,
};

/** Why `raw` is not a Redis URL the session flush can use, or undefined. The message never quotes the URL. */
export function redisUrlProblem(raw: string): string | undefined {
    let url: URL;
    try {
        url = new URL(raw);
    } catch {
        return `expected ${redisUrlMeta.expected}`;
    }
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") return `expected ${redisUrlMeta.expected}`;
    if (url.hostname === "") return `has no host; expected ${redisUrlMeta.expected}`;
    // Redis numbers its databases 0 to 15 by default; anything else would fail the flush only after the deploy.
    if (url.pathname !== "" && url.pathname !== "/" && !/^\/(?:[0-9]|1[0-5])$/.test(url.pathname)) {
        return `names a database that is not 0 to 15; expected ${redisUrlMeta.expected}`;
    }
    if (url.search || url.hash) return `has a query or fragment; expected ${redisUrlMeta.expected}`;
    return undefined;
}

const SESSION_KEY_PATTERN_EXPECTED =
    "a Redis glob such as session:* (no spaces, not only *), or unset to clear the whole database with FLUSHDB";

export const rotationSettings = {
    secretKeyGeneration: generation("SECRET_KEY rotation: bump it in a reviewed PR to give the app a new SECRET_KEY."),
    sessionStore: oneOf(["none", "redis"], {
        default: "none",
        description: "Where sessions live: redis clears them after a SECRET_KEY rotation; none leaves them.",
    }),
    sessionKeyPattern: setting(
        {
            pulumiType: "string",
            default: "",
            expected: SESSION_KEY_PATTERN_EXPECTED,
            description: "Clear only the Redis keys matching this glob after a rotation; unset: FLUSHDB.",
        },
        z
            .string()
            .regex(/^\S+$/, { error: `expected ${SESSION_KEY_PATTERN_EXPECTED}` })
            .max(255, { error: `expected ${SESSION_KEY_PATTERN_EXPECTED}` })
            // "*" matches every key: that is FLUSHDB done slowly, key by key; say so rather than guess.
            .refine((v) => !/^\*+$/.test(v), {
                error: "matches every key; remove sessionKeyPattern to clear the whole database with FLUSHDB, or give a prefix such as session:*",
            })
            .optional(),
    ),
    redisUrl: checkedText(redisUrlMeta, redisUrlProblem),
    databaseCredentialGeneration: generation(
        "Database credential rotation: bump it in a reviewed PR; the standby login role takes over with a new password.",
    ),
    databaseRolePrefix: text(
        {
            default: "ahoy_app",
            expected: `a lower-case identifier (a-z, 0-9, _) of at most ${MAX_ROLE_PREFIX_LENGTH} characters`,
            description: "The app's login roles are <prefix>_blue and <prefix>_green.",
        },
        ROLE_PATTERN,
        MAX_ROLE_PREFIX_LENGTH,
    ),
    databaseOwnerRole: text(
        {
            default: "ahoy",
            expected: "the existing role that owns the tables, a lower-case identifier (a-z, 0-9, _)",
            description:
                "The existing role that owns the app's tables; both login roles act as it. Never changed; not postgres, a pg_* role or the admin.",
        },
        ROLE_PATTERN,
        63,
    ),
    databaseAppHost: checkedText(
        {
            pulumiType: "string",
            default: "",
            expected: "the host name or IP address the app connects to, or unset to leave DATABASE_URL alone",
            description:
                "The database host as the app reaches it; set, the program manages the login roles and DATABASE_URL.",
        },
        appHostProblem,
    ),
    databasePort: wholeNumber(
        { default: "5432", description: "The database port in the app's DATABASE_URL." },
        1,
        65535,
        "port number",
    ),
    databaseName: text(
        {
            default: "ahoy_prod",
            expected: "a database name of letters, digits, _, - and . (not starting with - or .)",
            description: "The app's database, in DATABASE_URL and for the maintenance row.",
        },
        DATABASE_NAME_PATTERN,
        63,
    ),
    databaseSslMode: oneOf(SSL_MODES, {
        default: "require",
        description: "The sslmode in the app's DATABASE_URL.",
    }),
};
