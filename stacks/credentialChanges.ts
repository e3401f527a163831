// Where the credentials go, compared between two versions of a stack's config (a pull request's base and head): the
// lines a preview comment starts with, key by key, before the diff. Pure: stored configs in, lines out. A secret is
// compared by its stored ciphertext and never shown; a plain value is shown with any user, password or query masked.

/** One key as a stack stores it: plain text, an encrypted (`secure:`) value, or absent. */
export type StoredValue =
    { readonly kind: "plain"; readonly value: string } | { readonly kind: "secure"; readonly ciphertext: string };

/** A stack's config as stored, by full key (`ahoy-ops:renderApiUrl`, `postgresql:host`), Pulumi.yaml's defaults merged. */
export type StoredStackConfig = Readonly<Record<string, StoredValue | undefined>>;

/** A key that decides where a credential goes (or holds one), what goes there, and whether it is kept as a secret. */
export interface CredentialKey {
    readonly key: string;
    readonly what: string;
    readonly secret?: boolean;
}

export const CREDENTIAL_KEYS: readonly CredentialKey[] = [
    { key: "ahoy-ops:renderApiUrl", what: "the Render API key is sent there" },
    { key: "ahoy-ops:renderApiKey", what: "the Render API key itself", secret: true },
    { key: "postgresql:host", what: "the database admin password is sent there" },
    { key: "postgresql:port", what: "the database admin password is sent there" },
    { key: "postgresql:sslmode", what: "whether the admin password's TLS checks who answers" },
    { key: "postgresql:sslrootcert", what: "the CA the admin connection trusts" },
    { key: "postgresql:password", what: "the database admin password itself", secret: true },
    { key: "ahoy-ops:databaseAppHost", what: "the app's database password (DATABASE_URL) is sent there" },
    { key: "ahoy-ops:databasePort", what: "the app's database password (DATABASE_URL) is sent there" },
    { key: "ahoy-ops:databaseSslMode", what: "whether DATABASE_URL's TLS checks who answers" },
    { key: "ahoy-ops:redisUrl", what: "the Redis password is sent there (the session flush)", secret: true },
    {
        key: "ahoy-ops:slackWebhookUrl",
        what: "the incident messages are posted there (the URL is the credential)",
        secret: true,
    },
    { key: "ahoy-ops:pagerDutyRoutingKey", what: "the on-call pages go with it", secret: true },
    { key: "ahoy-ops:smtpUrl", what: "the SMTP login and the incident email are sent there", secret: true },
    { key: "ahoy-ops:repository", what: "git ls-remote asks it for tags (with any credential git holds for it)" },
];

/** A URL's user and password, and its query and fragment, replaced: they may be credentials. */
function masked(value: string): string {
    return value.replace(/\/\/[^/@\s]+@/g, "//***@").replace(/([a-z][a-z0-9+.-]*:\/\/[^\s?#]*)[?#]\S*/gi, "$1?***");
}

function shown(value: StoredValue | undefined): string {
    if (value === undefined) return "unset";
    return value.kind === "secure" ? "a secret" : `\`${masked(value.value)}\``;
}

/** How one key changed, in words, or undefined when it did not. Never quotes a secret, nor a plain text secret key. */
function change(secretKey: boolean, base: StoredValue | undefined, head: StoredValue | undefined): string | undefined {
    if (base === undefined && head === undefined) return undefined;
    if (base?.kind === "secure" && head?.kind === "secure") {
        return base.ciphertext === head.ciphertext
            ? undefined
            : "a secret, changed (its encrypted value differs; not shown)";
    }
    if (base?.kind === "plain" && head?.kind === "plain" && base.value === head.value) return undefined;
    // A value left in plain text where a secret belongs is shown by neither side (the preview refuses it anyway).
    if (secretKey && head?.kind === "plain") return "now in plain text (not shown; the preview refuses it)";
    if (secretKey && base?.kind === "plain") return `was in plain text, now ${shown(head)}`;
    return `${shown(base)} => ${shown(head)}`;
}

/**
 * The credential lines for a pull request, as markdown: a heading that says how many keys changed where a credential
 * goes, then one line per changed key (key, old => new, and what goes there), or one line saying none did.
 * `baseName` names what the head is compared with (the base branch).
 */
export function credentialLines(base: StoredStackConfig, head: StoredStackConfig, baseName: string): string[] {
    const lines: string[] = [];
    for (const { key, what, secret } of CREDENTIAL_KEYS) {
        const said = change(Boolean(secret), base[key], head[key]);
        if (said) lines.push(`- \`${key.replace(/^ahoy-ops:/, "")}\`: ${said}; ${what}`);
    }
    if (lines.length === 0) {
        return [
            `**Credentials: this pull request changes none of the keys that say where they go** (compared with ${baseName})`,
        ];
    }
    const keys = lines.length === 1 ? "1 key" : `${lines.length} keys`;
    return [
        `**:warning: Credentials: this pull request changes where they go, ${keys}** (compared with ${baseName}; check each before approving the preview)`,
        ...lines,
    ];
}

/** Any YAML value as Pulumi hands it to a program: text as it is, anything else as JSON. */
function text(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * A stack's config as stored, from its parsed files: Pulumi.yaml's `config:` defaults (under `<project>:KEY`, or the
 * key as written when it names a namespace), then the stack file's `config:` values over them, `secure:` ones as their
 * ciphertext. `stackFile` undefined: the stack does not exist on that side.
 */
export function storedStackConfig(projectFile: unknown, stackFile: unknown): StoredStackConfig {
    const section = (doc: unknown): Record<string, unknown> => {
        const config = (doc as { config?: unknown } | undefined)?.config;
        return config !== null && typeof config === "object" ? (config as Record<string, unknown>) : {};
    };
    const project = (projectFile as { name?: unknown } | undefined)?.name;
    const stored: Record<string, StoredValue> = {};
    for (const [name, declared] of Object.entries(section(projectFile))) {
        const key = name.includes(":") ? name : `${String(project)}:${name}`;
        const entry = declared !== null && typeof declared === "object" ? (declared as Record<string, unknown>) : {};
        const value = "value" in entry ? entry.value : "default" in entry ? entry.default : undefined;
        if (value !== undefined && value !== "") stored[key] = { kind: "plain", value: text(value) };
    }
    for (const [name, value] of Object.entries(section(stackFile))) {
        const key = name.includes(":") ? name : `${String(project)}:${name}`;
        if (value !== null && typeof value === "object" && "secure" in value) {
            stored[key] = { kind: "secure", ciphertext: text((value as { secure: unknown }).secure) };
        } else if (value !== null && value !== "") {
            // An empty value leaves the key at its default, as the program reads it.
            stored[key] = { kind: "plain", value: text(value) };
        }
    }
    return stored;
}
