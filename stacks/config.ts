// The stack's settings: one zod schema defines every key's type, bounds, default and normal form.
import { z } from "zod";

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

function flag(description: string) {
    const meta: SettingMeta = { pulumiType: "boolean", default: "false", expected: "true or false", description };
    return setting(meta, z.enum(["true", "false"], { error: `expected ${meta.expected}` }).transform((v) => v === "true"));
}

function wholeNumber(meta: Omit<SettingMeta, "pulumiType" | "expected">, min: number, max: number, unit: string) {
    const expected = `whole ${unit} from ${min} to ${max}`;
    const error = `expected ${expected}`;
    return setting(
        { ...meta, pulumiType: "integer", expected },
        z.string().regex(/^\d+$/, { error }).transform(Number).pipe(z.number().int().min(min, { error }).max(max, { error })),
    );
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
    const entries = raw.split(",").map((entry) => entry.trim().toLowerCase()).filter((entry) => entry !== "");
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
        RATE_LIMIT_DEFAULT: rateLimit("Emergency rate limit for all endpoints, e.g. `10 per minute`; unset removes it."),
        RATE_LIMIT_AUTH: rateLimit("Emergency rate limit for the auth endpoints, e.g. `3 per minute`; unset removes it."),
        BLOCKED_IPS: blockedIps("Comma-separated IPs or CIDR ranges the app refuses; unset removes the variable."),
        service: setting(
            serviceMeta,
            z
                .string()
                .trim()
                .min(1, { error: `expected ${serviceMeta.expected}` })
                .refine((v) => !v.startsWith("srv-") || SERVICE_ID.test(v), { error: `expected ${serviceMeta.expected}` }),
        ),
        renderApiUrl: setting(
            apiUrlMeta,
            z
                .url({ protocol: /^https?$/, error: `expected ${apiUrlMeta.expected}` })
                .transform((v) => v.replace(/\/+$/, "")),
        ),
        renderApiKey: setting(apiKeyMeta, z.string().optional()),
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

/** How an error shows a received value: secrets never, by schema or by how they were stored. */
function describeValue(raw: string | undefined, secret: boolean): string {
    if (secret) return "a secret value";
    return raw === undefined ? "nothing" : JSON.stringify(raw);
}

/**
 * Parses the project's bare config keys (as Pulumi stores them: strings) into typed settings.
 * `secretKeys` names the keys that were stored encrypted; a secret setting stored in plain text is a problem.
 * Throws a StackConfigError listing every problem.
 */
export function parseStackConfig(
    values: Record<string, string | undefined>,
    secretKeys: ReadonlySet<string> = new Set(),
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
            problems.push({ key, message: `got ${describeValue(values[key], Boolean(meta?.secret) || secretKeys.has(key))}: ${[...new Set(messages)].join("; ")}` });
        }
    }
    for (const [key, meta] of metaByKey) {
        if (meta.secret && values[key] && !secretKeys.has(key)) {
            problems.push({ key, message: `is stored in plain text; expected ${meta.expected}` });
        }
    }
    if (problems.length > 0 || !result.success) throw new StackConfigError(problems);
    // Every key present, unset ones as undefined, so two configs compare by value whatever the input's shape.
    return Object.fromEntries(Object.keys(stackConfigSchema.shape).map((key) => [key, result.data[key as StackConfigKey]])) as StackConfig;
}
