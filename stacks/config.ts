// The stack's settings: one zod schema, composed of one fragment per capability (stacks/settings/), defines every key's
// type, bounds, default and normal form; the rules between keys of different fragments are kept here.
import { z } from "zod";
import { ownerRoleProblem } from "./rotation";
import type { ConfigProblem, SettingMeta } from "./settings/kit";
import {
    type AdminTlsEnvironment,
    adminTlsProblems,
    appTlsProblems,
    plainTextSecretProblems,
} from "./settings/credentials";
import { incidentProblems, incidentSettings } from "./settings/incident";
import { ownershipSettings } from "./settings/ownership";
import { releaseSettings } from "./settings/release";
import { redisUrlMeta, rotationSettings } from "./settings/rotation";
import { switchSettings } from "./settings/switches";
import { verificationProblems, verificationSettings } from "./settings/verification";

export type { ConfigProblem, SettingMeta } from "./settings/kit";
export { parseBlockedIps, parseRateLimit } from "./settings/switches";

/** The Pulumi project name: stack config keys live under `ahoy-ops:`. */
export const PROJECT = "ahoy-ops";

/** Every project key, and nothing else: an unknown key is a mistake, not something to ignore. */
export const stackConfigSchema = z
    .object({
        ...switchSettings,
        ...releaseSettings,
        ...ownershipSettings,
        ...verificationSettings,
        ...rotationSettings,
        ...incidentSettings,
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

/**
 * A URL's user-info may be a token (https://TOKEN@host/...), and so may its query or fragment (?key=...): wherever a
 * received value is shown, they are masked.
 */
function maskUserInfo(text: string): string {
    return text
        .replace(/\/\/[^/@\s]+@/g, "//***@")
        .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s?#,]*)[?#][^\s,]*/gi, "$1?***");
}

/** The longest value an error quotes whole; a longer one (a list of thousands of addresses) is cut, its length said. */
const QUOTED_LENGTH = 200;

/** How an error shows a received value: secrets never, by schema or by how they were stored; a long one cut short. */
function describeValue(raw: string | undefined, secret: boolean): string {
    if (secret) return "a secret value";
    if (raw === undefined) return "nothing";
    const masked = maskUserInfo(raw);
    if (masked.length <= QUOTED_LENGTH) return JSON.stringify(masked);
    return `${JSON.stringify(masked.slice(0, QUOTED_LENGTH))}... (${raw.length} characters)`;
}

/** What the admin database connection may take from the environment when the stack does not say (libpq's PG*). */
export interface AdminEnvironment extends AdminTlsEnvironment {
    readonly PGUSER?: string;
}

/** The admin role as the postgresql provider picks it: its username setting, else PGUSER, else "postgres". */
export function adminRoleOf(providerConfig: Record<string, string | undefined>, environment: AdminEnvironment): string {
    return providerConfig["postgresql:username"] || environment.PGUSER || "postgres";
}

/** Rules between keys, checked once each key is valid on its own. */
function crossCheck(
    config: StackConfig,
    providerConfig: Record<string, string | undefined>,
    environment: AdminEnvironment,
): ConfigProblem[] {
    const adminRole = adminRoleOf(providerConfig, environment);
    const problems: ConfigProblem[] = [...incidentProblems(config), ...appTlsProblems(config)];
    if (config.sessionStore === "redis" && !config.redisUrl) {
        problems.push({
            key: "redisUrl",
            message:
                `got nothing, but sessionStore is redis; expected ${redisUrlMeta.expected}: ` +
                "`pulumi config set --secret redisUrl rediss://<user>:<password>@<host>:<port>`",
        });
    }
    // Render: "This must not be a URL of the service in maintenance mode" (its edge would answer it with itself).
    if (config.maintenancePageUri && config.serviceUrl) {
        if (new URL(config.maintenancePageUri).host === new URL(config.serviceUrl).host) {
            problems.push({
                key: "maintenancePageUri",
                message: `got ${JSON.stringify(config.maintenancePageUri)}, a page of the service itself (serviceUrl), which maintenance mode takes offline; expected a page elsewhere, such as a static site`,
            });
        }
    }
    if (config.sessionKeyPattern && config.sessionStore !== "redis") {
        problems.push({
            key: "sessionKeyPattern",
            message: `is set but sessionStore is ${config.sessionStore}; set sessionStore to redis, or remove it`,
        });
    }
    // The login roles alternate, lose LOGIN in turn and act as the owner: checked before the program declares anything.
    const ownerProblem = ownerRoleProblem(config.databaseRolePrefix, config.databaseOwnerRole, adminRole);
    if (ownerProblem) problems.push({ key: "databaseOwnerRole", message: ownerProblem });
    if (!config.databaseAppHost) {
        if (config.databaseCredentialGeneration !== 1) {
            problems.push({
                key: "databaseCredentialGeneration",
                message:
                    `got ${config.databaseCredentialGeneration}, but the database is not managed; set databaseAppHost ` +
                    "(`pulumi config set databaseAppHost <the host the app connects to>`) and the postgresql: admin connection first; " +
                    "or, letting go of the database, `pulumi config rm databaseCredentialGeneration` too (the service keeps " +
                    "DATABASE_URL and the login roles stay; the generations started stay recorded on the service)",
            });
        }
        return problems;
    }
    return problems;
}

/**
 * Parses the project's bare config keys (as Pulumi stores them: strings) into typed settings.
 * `secretKeys` names the keys that were stored encrypted; a secret setting stored in plain text is a problem.
 * `providerConfig` holds other namespaces' keys, full (`postgresql:host`), for the settings that need them;
 * `environment` the libpq variable the admin connection falls back on.
 * Throws a StackConfigError listing every problem.
 */
export function parseStackConfig(
    values: Record<string, string | undefined>,
    secretKeys: ReadonlySet<string> = new Set(),
    providerConfig: Record<string, string | undefined> = {},
    environment: AdminEnvironment = {},
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
    // Other namespaces' secrets (the admin password) too, wherever they appear, used yet or not; and where it goes.
    problems.push(...plainTextSecretProblems(providerConfig, secretKeys));
    problems.push(...adminTlsProblems(providerConfig, environment, Boolean(values.databaseAppHost)));
    problems.push(...verificationProblems(values));
    if (result.success) problems.push(...crossCheck(result.data, providerConfig, environment));
    if (problems.length > 0 || !result.success) throw new StackConfigError(problems);
    // Every key present, unset ones as undefined, so two configs compare by value whatever the input's shape.
    return Object.fromEntries(
        Object.keys(stackConfigSchema.shape).map((key) => [key, result.data[key as StackConfigKey]]),
    ) as StackConfig;
}
