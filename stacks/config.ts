// The stack's settings: one zod schema defines every key's type, bounds, default and normal form.
import { z } from "zod";
import {
    DATABASE_NAME_PATTERN,
    HOST_PATTERN,
    MAX_ROLE_PREFIX_LENGTH,
    ownerRoleProblem,
    ROLE_PATTERN,
    SSL_MODES,
} from "./rotation";
import { RELEASE_PIN_EXPECTED, releasePinProblem } from "../components/render/deployDecision";
import { repositoryProblem } from "../components/render/gitRef";

/** The Pulumi project name: stack config keys live under `ahoy-ops:`. */
export const PROJECT = "ahoy-ops";

/** What `Pulumi.yaml` must say about a key; kept beside the schema so the two cannot drift apart. */
export interface SettingMeta {
    /** The `type` the key has in `Pulumi.yaml`'s `config:` schema. */
    readonly pulumiType: "boolean" | "integer" | "string";
    /** The default `Pulumi.yaml` declares, as the CLI hands it to the program ("" means unset). */
    readonly default: string;
    /** The form a value must take, as error messages state it. */
    readonly expected: string;
    /** One line for `Pulumi.yaml` and `pulumi config`. */
    readonly description: string;
    /** The value must be stored with `pulumi config set --secret` and is never printed. */
    readonly secret?: boolean;
}

const SERVICE_ID = /^srv-[0-9a-v]{20}$/;
const RATE_LIMIT = /^(\d+)\s*(?:per\s+|\/\s*)(second|minute|hour|day)s?$/i;

/** A key's schema: raw text in (undefined or "" when unset), its typed value out, its metadata registered with zod. */
function setting<T extends z.ZodType>(meta: SettingMeta, schema: T) {
    return z
        .preprocess((raw) => (raw === undefined || raw === "" ? meta.default || undefined : raw), schema)
        .meta({ ...meta });
}

function flag(description: string, defaultValue: "true" | "false" = "false") {
    const meta: SettingMeta = { pulumiType: "boolean", default: defaultValue, expected: "true or false", description };
    return setting(
        meta,
        z.enum(["true", "false"], { error: `expected ${meta.expected}` }).transform((v) => v === "true"),
    );
}

/** Digits only (no sign, exponent or spaces), read as a whole number from `min` to `max`. */
function digits(min: number, max: number, error: string) {
    return z
        .string()
        .regex(/^\d+$/, { error })
        .transform(Number)
        .pipe(z.number().int().min(min, { error }).max(max, { error }));
}

function wholeNumber(meta: Omit<SettingMeta, "pulumiType" | "expected">, min: number, max: number, unit: string) {
    const expected = `whole ${unit} from ${min} to ${max}`;
    return setting({ ...meta, pulumiType: "integer", expected }, digits(min, max, `expected ${expected}`));
}

/** `10 per minute`, `10/minute`, `10 per minutes`: normalised to `10 per minute`. */
export function parseRateLimit(raw: string): string | undefined {
    const match = RATE_LIMIT.exec(raw.trim());
    if (!match) return undefined;
    const count = Number(match[1]);
    if (!Number.isSafeInteger(count) || count < 1) return undefined;
    return `${count} per ${match[2].toLowerCase()}`;
}

function rateLimit(description: string) {
    const meta: SettingMeta = {
        pulumiType: "string",
        default: "",
        expected: "`N per second|minute|hour|day` (or `N/minute`) with N >= 1, or unset",
        description,
    };
    return setting(
        meta,
        z
            .string()
            .transform((raw, ctx) => {
                const normal = parseRateLimit(raw);
                if (normal === undefined) ctx.addIssue({ code: "custom", message: `expected ${meta.expected}` });
                return normal ?? z.NEVER;
            })
            .optional(),
    );
}

const address = z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()]);

/** Comma-separated addresses and CIDR ranges, trimmed and de-duplicated; the bad entries named. */
export function parseBlockedIps(raw: string): { value?: string; bad: string[] } {
    const entries = raw
        .split(",")
        .map((entry) => entry.trim().toLowerCase())
        .filter((entry) => entry !== "");
    const bad = entries.filter((entry) => !address.safeParse(entry).success);
    if (bad.length > 0 || entries.length === 0) return { bad: entries.length === 0 ? [raw] : bad };
    return { value: [...new Set(entries)].join(","), bad: [] };
}

function blockedIps(description: string) {
    const meta: SettingMeta = {
        pulumiType: "string",
        default: "",
        expected: "comma-separated IPv4/IPv6 addresses or CIDR ranges, or unset",
        description,
    };
    return setting(
        meta,
        z
            .string()
            .transform((raw, ctx) => {
                const { value, bad } = parseBlockedIps(raw);
                for (const entry of bad) {
                    ctx.addIssue({ code: "custom", message: `"${entry}" is not an IPv4/IPv6 address or CIDR range` });
                }
                return value ?? z.NEVER;
            })
            .optional(),
    );
}

/** A rotation generation: bumping it in a reviewed PR is what rotates the secret. */
function generation(description: string) {
    const meta: SettingMeta = { pulumiType: "integer", default: "1", expected: "a whole number >= 1", description };
    return setting(meta, digits(1, Number.MAX_SAFE_INTEGER, `expected ${meta.expected}`));
}

function oneOf<const T extends readonly [string, ...string[]]>(
    values: T,
    meta: Omit<SettingMeta, "pulumiType" | "expected">,
) {
    const expected = `one of ${values.join(", ")}`;
    return setting({ ...meta, pulumiType: "string", expected }, z.enum(values, { error: `expected ${expected}` }));
}

/** Text matching `pattern`, at most `maxLength` characters. */
function matching(expected: string, pattern: RegExp, maxLength: number) {
    const error = `expected ${expected}`;
    return z.string().regex(pattern, { error }).max(maxLength, { error });
}

/** A plain text setting checked against a pattern (an identifier, a host name), with a default. */
function text(meta: Omit<SettingMeta, "pulumiType">, pattern: RegExp, maxLength = 255) {
    return setting({ ...meta, pulumiType: "string" }, matching(meta.expected, pattern, maxLength));
}

/** A plain text setting that may be left unset. */
function optionalText(meta: Omit<SettingMeta, "pulumiType" | "default">, pattern: RegExp, maxLength = 255) {
    return setting(
        { ...meta, pulumiType: "string", default: "" },
        matching(meta.expected, pattern, maxLength).optional(),
    );
}

const redisUrlMeta: SettingMeta = {
    pulumiType: "string",
    default: "",
    expected: "a redis:// or rediss:// URL set with `pulumi config set --secret redisUrl ...`",
    description: "Where the app's sessions live (secret); required when sessionStore is redis.",
    secret: true,
};

const serviceMeta: SettingMeta = {
    pulumiType: "string",
    default: "ahoy-indie-media",
    expected: "a Render service name or a service id (srv- and 20 characters of 0-9a-v)",
    description: "The Render service to manage: its name (resolved through the API at run time) or its srv- id.",
};

const apiUrlMeta: SettingMeta = {
    pulumiType: "string",
    default: "https://api.render.com/v1",
    expected: "an http(s) URL such as https://api.render.com/v1",
    description: "Render's API base URL; point it at the emulator for a rehearsal.",
};

const apiKeyMeta: SettingMeta = {
    pulumiType: "string",
    default: "",
    expected: "a Render API key set with `pulumi config set --secret renderApiKey`, or unset to use RENDER_API_KEY",
    description: "Render API key (secret). Unset: the RENDER_API_KEY environment variable is used.",
    secret: true,
};

/** A text setting judged by a function that names what is wrong (one shared with the provider that uses it). */
function checkedText(meta: SettingMeta, problem: (value: string) => string | undefined) {
    return setting(
        meta,
        z
            .string()
            .transform((raw, ctx) => {
                const value = raw.trim();
                const found = problem(value);
                if (found) ctx.addIssue({ code: "custom", message: found });
                return found ? z.NEVER : value;
            })
            .optional(),
    );
}

const releasePinMeta: SettingMeta = {
    pulumiType: "string",
    default: "",
    expected: `${RELEASE_PIN_EXPECTED}, or unset`,
    description:
        "Roll back: pin the service to a deploy id (dep-...), a commit SHA or a git tag; autodeploy is off while set. Unset: normal deploys resume.",
};

const repositoryMeta: SettingMeta = {
    pulumiType: "string",
    default: "",
    expected: "the service's git repository URL (https://, ssh://, git@host:owner/repo) without credentials, or unset",
    description:
        "The git repository a releasePin tag is looked up in (git ls-remote); unset: the repository Render builds the service from.",
};

const serviceUrlMeta: SettingMeta = {
    pulumiType: "string",
    default: "",
    expected:
        "the service's public https:// URL such as https://ahoy-indie-media.onrender.com (http:// only for localhost or 127.0.0.1)",
    description:
        "The app's public URL, checked after every deploy (/healthz, each switch's effect, the stability watch); required unless verify is false.",
};

/** Why `raw` cannot be the app's public URL, or undefined when it can. */
function serviceUrlProblem(raw: string): string | undefined {
    let url: URL;
    try {
        url = new URL(raw);
    } catch {
        return `expected ${serviceUrlMeta.expected}`;
    }
    const local = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
    if (url.protocol !== "https:" && !(url.protocol === "http:" && local)) return `expected ${serviceUrlMeta.expected}`;
    if (url.username || url.password) return "carries credentials; expected the public URL without them";
    if (url.search || url.hash) return `has a query or fragment; expected ${serviceUrlMeta.expected}`;
    return undefined;
}

/**
 * The settings verification needs, judged on the raw values so a missing one is listed with every other problem:
 * serviceUrl unless `verify` is explicitly false, and a media probe path when direct media is blocked.
 */
function verificationProblems(values: Record<string, string | undefined>): ConfigProblem[] {
    if (values.verify === "false") return [];
    const problems: ConfigProblem[] = [];
    if (!values.serviceUrl) {
        problems.push({
            key: "serviceUrl",
            message: `got nothing, but verify is on; expected ${serviceUrlMeta.expected}, or \`pulumi config set verify false\` to deploy without the runbook's checks`,
        });
    }
    if (values.BLOCK_DIRECT_MEDIA === "true" && !values.mediaProbePath) {
        problems.push({
            key: "mediaProbePath",
            message:
                "got nothing, but BLOCK_DIRECT_MEDIA is true and verify is on; expected a direct media path that must answer 403, such as /media/uploads/probe.jpg",
        });
    }
    return problems;
}

/** Every project key, and nothing else: an unknown key is a mistake, not something to ignore. */
export const stackConfigSchema = z
    .object({
        DISABLE_SIGNUP: flag("Kill switch: refuse new user signups (the app answers /api/auth/register with 503)."),
        MAINTENANCE_MODE: flag("Maintenance mode: the MAINTENANCE_MODE variable on the Render service."),
        ENABLE_SIGNED_URLS: flag("Media lockdown: serve media only through signed URLs."),
        BLOCK_DIRECT_MEDIA: flag("Media lockdown: refuse direct media URLs (the app answers them with 403)."),
        SIGNED_URL_EXPIRY: wholeNumber(
            { default: "3600", description: "Lifetime of a signed media URL, in seconds (60 to 604800)." },
            60,
            604800,
            "seconds",
        ),
        RATE_LIMIT_DEFAULT: rateLimit(
            "Emergency rate limit for all endpoints, e.g. `10 per minute`; unset removes it.",
        ),
        RATE_LIMIT_AUTH: rateLimit(
            "Emergency rate limit for the auth endpoints, e.g. `3 per minute`; unset removes it.",
        ),
        BLOCKED_IPS: blockedIps("Comma-separated IPs or CIDR ranges the app refuses; unset removes the variable."),
        service: setting(
            serviceMeta,
            z
                .string()
                .trim()
                .min(1, { error: `expected ${serviceMeta.expected}` })
                .refine((v) => !v.startsWith("srv-") || SERVICE_ID.test(v), {
                    error: `expected ${serviceMeta.expected}`,
                }),
        ),
        renderApiUrl: setting(
            apiUrlMeta,
            z
                .url({ protocol: /^https?$/, error: `expected ${apiUrlMeta.expected}` })
                .transform((v) => v.replace(/\/+$/, "")),
        ),
        renderApiKey: setting(apiKeyMeta, z.string().optional()),
        releasePin: checkedText(releasePinMeta, releasePinProblem),
        repository: checkedText(repositoryMeta, repositoryProblem),
        serviceUrl: checkedText(serviceUrlMeta, serviceUrlProblem),
        verify: flag(
            "Run the runbook's checks after every deploy: /healthz, each switch's effect, then the stability watch; false skips them.",
            "true",
        ),
        mediaProbePath: optionalText(
            {
                expected: "a path on serviceUrl starting with / (no spaces), such as /media/uploads/probe.jpg",
                description:
                    "A direct media path that must answer 403 while BLOCK_DIRECT_MEDIA is true (checked after the deploy).",
            },
            /^\/\S*$/,
        ),
        stabilityWindowSeconds: wholeNumber(
            {
                default: "300",
                description:
                    "How long to watch /healthz after a deploy (error rate at most 5%, responses within 2 s), 10 to 3600 s.",
            },
            10,
            3600,
            "seconds",
        ),
        secretKeyGeneration: generation(
            "SECRET_KEY rotation: bump it in a reviewed PR to give the app a new SECRET_KEY.",
        ),
        sessionStore: oneOf(["none", "redis"], {
            default: "none",
            description: "Where sessions live: redis clears them after a SECRET_KEY rotation; none leaves them.",
        }),
        sessionKeyPattern: optionalText(
            {
                expected:
                    "a Redis glob such as session:* (no spaces), or unset to clear the whole database with FLUSHDB",
                description: "Clear only the Redis keys matching this glob after a rotation; unset: FLUSHDB.",
            },
            /^\S+$/,
        ),
        redisUrl: setting(
            redisUrlMeta,
            z.url({ protocol: /^rediss?$/, error: `expected ${redisUrlMeta.expected}` }).optional(),
        ),
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
                description: "The existing role that owns the app's tables; both login roles act as it. Never changed.",
            },
            ROLE_PATTERN,
            63,
        ),
        databaseAppHost: optionalText(
            {
                expected: "the host name or IP address the app connects to, or unset to leave DATABASE_URL alone",
                description:
                    "The database host as the app reaches it; set, the program manages the login roles and DATABASE_URL.",
            },
            HOST_PATTERN,
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
    })
    .strict();

export type StackConfig = z.output<typeof stackConfigSchema>;
export type StackConfigKey = keyof StackConfig;

/** The metadata of every key, in schema order. */
export function settingsMeta(): Array<[StackConfigKey, SettingMeta]> {
    return Object.entries(stackConfigSchema.shape).map(([key, schema]) => [
        key as StackConfigKey,
        z.globalRegistry.get(schema) as unknown as SettingMeta,
    ]);
}

/** One problem with one key: what was received and what was expected. */
export interface ConfigProblem {
    readonly key: string;
    readonly message: string;
}

/** Thrown before anything is declared: lists every problem in the stack's config at once. */
export class StackConfigError extends Error {
    constructor(readonly problems: readonly ConfigProblem[]) {
        super(
            `The stack's configuration has ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was changed:\n` +
                problems.map((p) => `  - ${p.key}: ${p.message}`).join("\n"),
        );
        this.name = "StackConfigError";
    }
}

function closestKey(unknown: string): string | undefined {
    const distance = (a: string, b: string): number => {
        const row = Array.from({ length: b.length + 1 }, (_, i) => i);
        for (let i = 1; i <= a.length; i++) {
            let diagonal = row[0];
            row[0] = i;
            for (let j = 1; j <= b.length; j++) {
                const above = row[j];
                row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.length];
    };
    const candidates = Object.keys(stackConfigSchema.shape)
        .map((key) => ({ key, d: distance(unknown.toLowerCase(), key.toLowerCase()) }))
        .sort((a, b) => a.d - b.d);
    return candidates[0] && candidates[0].d <= 3 ? candidates[0].key : undefined;
}

/** A URL's user-info may be a token (https://TOKEN@host/...): wherever a received value is shown, it is masked. */
function maskUserInfo(text: string): string {
    return text.replace(/\/\/[^/@\s]+@/g, "//***@");
}

/** How an error shows a received value: secrets never, by schema or by how they were stored. */
function describeValue(raw: string | undefined, secret: boolean): string {
    if (secret) return "a secret value";
    return raw === undefined ? "nothing" : JSON.stringify(maskUserInfo(raw));
}

/** Rules between keys, checked once each key is valid on its own. */
function crossCheck(
    config: StackConfig,
    secretKeys: ReadonlySet<string>,
    providerConfig: Record<string, string | undefined>,
): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    if (config.sessionStore === "redis" && !config.redisUrl) {
        problems.push({
            key: "redisUrl",
            message: `got nothing, but sessionStore is redis; expected ${redisUrlMeta.expected}`,
        });
    }
    if (config.sessionKeyPattern && config.sessionStore !== "redis") {
        problems.push({
            key: "sessionKeyPattern",
            message: `is set but sessionStore is ${config.sessionStore}; set sessionStore to redis, or remove it`,
        });
    }
    if (!config.databaseAppHost) {
        if (config.databaseCredentialGeneration !== 1) {
            problems.push({
                key: "databaseCredentialGeneration",
                message: `got ${config.databaseCredentialGeneration}, but the database is not managed; set databaseAppHost (and the postgresql: admin connection) first`,
            });
        }
        return problems;
    }
    // The login roles alternate and lose LOGIN in turn: checked here, before the program declares anything.
    const ownerProblem = ownerRoleProblem(config.databaseRolePrefix, config.databaseOwnerRole);
    if (ownerProblem) problems.push({ key: "databaseOwnerRole", message: ownerProblem });
    // The admin connection itself may come from the stack (postgresql:host ...) or from libpq's PG* variables;
    // only a password kept in the stack in plain text is a problem.
    if (providerConfig["postgresql:password"] && !secretKeys.has("postgresql:password")) {
        problems.push({
            key: "postgresql:password",
            message: "is stored in plain text; expected `pulumi config set --secret postgresql:password ...`",
        });
    }
    return problems;
}

/**
 * Parses the project's bare config keys (as Pulumi stores them: strings) into typed settings.
 * `secretKeys` names the keys that were stored encrypted; a secret setting stored in plain text is a problem.
 * `providerConfig` holds other namespaces' keys, full (`postgresql:host`), for the settings that need them.
 * Throws a StackConfigError listing every problem.
 */
export function parseStackConfig(
    values: Record<string, string | undefined>,
    secretKeys: ReadonlySet<string> = new Set(),
    providerConfig: Record<string, string | undefined> = {},
): StackConfig {
    const metaByKey = new Map(settingsMeta());
    const problems: ConfigProblem[] = [];
    const result = stackConfigSchema.safeParse(values);
    if (!result.success) {
        const messagesByKey = new Map<string, string[]>();
        for (const issue of result.error.issues) {
            if (issue.code === "unrecognized_keys") {
                for (const key of issue.keys) {
                    const hint = closestKey(key);
                    problems.push({
                        key,
                        message:
                            `got ${describeValue(values[key], secretKeys.has(key))}, but ${PROJECT} has no setting ${key}` +
                            (hint ? ` (did you mean ${hint}?)` : "; remove it with `pulumi config rm " + key + "`"),
                    });
                }
                continue;
            }
            const key = String(issue.path[0]);
            messagesByKey.set(key, [...(messagesByKey.get(key) ?? []), issue.message]);
        }
        for (const [key, messages] of messagesByKey) {
            const meta = metaByKey.get(key as StackConfigKey);
            const secret = Boolean(meta?.secret) || secretKeys.has(key);
            // A message may quote the value (a bad BLOCKED_IPS entry, a malformed pin): a secret gets only what was expected.
            const said = secret ? `expected ${meta?.expected}` : maskUserInfo([...new Set(messages)].join("; "));
            problems.push({ key, message: `got ${describeValue(values[key], secret)}: ${said}` });
        }
    }
    for (const [key, meta] of metaByKey) {
        if (meta.secret && values[key] && !secretKeys.has(key)) {
            problems.push({ key, message: `is stored in plain text; expected ${meta.expected}` });
        }
    }
    problems.push(...verificationProblems(values));
    if (result.success) problems.push(...crossCheck(result.data, secretKeys, providerConfig));
    if (problems.length > 0 || !result.success) throw new StackConfigError(problems);
    // Every key present, unset ones as undefined, so two configs compare by value whatever the input's shape.
    return Object.fromEntries(
        Object.keys(stackConfigSchema.shape).map((key) => [key, result.data[key as StackConfigKey]]),
    ) as StackConfig;
}
