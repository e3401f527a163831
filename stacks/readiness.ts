// Runbook readiness: for each runbook action, whether the stack's config lets `pulumi up` carry it out tonight, and if
// not, what it lacks and the `pulumi config set` commands that supply it. Pure: config, raw values and environment in.
import { PROJECT, settingsMeta, type StackConfig } from "./config";
import { unverifiedTls } from "./settings/credentials";

/**
 * What the program takes from the environment instead of the stack: libpq's admin connection, which the postgresql
 * provider reads when the `postgresql:` settings are absent. (The incident channels are read from the stack only.)
 */
export interface ReadinessEnvironment {
    readonly PGHOST?: string;
    readonly PGUSER?: string;
    readonly PGPASSWORD?: string;
    readonly PGSSLMODE?: string;
    readonly PGSSLROOTCERT?: string;
}

export type ReadinessStatus = "ready" | "not ready";

/** One runbook action: ready, or what it lacks and the commands that supply it. */
export interface ReadinessRow {
    /** A stable id for code (`blockDirectMedia`). */
    readonly id: string;
    /** The action as the runbook names it. */
    readonly action: string;
    readonly status: ReadinessStatus;
    /** What is missing, one entry per missing piece (a setting, the admin connection); empty when ready. */
    readonly lacks: readonly string[];
    /** The commands that supply what is missing (or, on a ready row with a note, make it certain). */
    readonly commands: readonly string[];
    /** The condition a ready row depends on, when the config alone cannot settle it. */
    readonly note?: string;
}

/**
 * Keys that are secrets whether or not the schema declares them yet (the incident channels are being added to it):
 * their commands carry `--secret`.
 */
const SECRET_KEYS = new Set([
    "renderApiKey",
    "redisUrl",
    "postgresql:password",
    "slackWebhookUrl",
    "pagerDutyRoutingKey",
    "smtpUrl",
]);

interface Lack {
    readonly what: string;
    readonly commands: readonly string[];
}

/** What a ready row depends on that the config cannot settle, and what makes it certain. */
interface Condition {
    readonly note: string;
    readonly commands: readonly string[];
}

/**
 * Lists every runbook action with its readiness. `config` is the parsed stack config; `raw` the stack's values as
 * stored (this project's keys bare or as `ahoy-ops:KEY`, other namespaces' keys full, such as `postgresql:host`), which
 * also supplies keys the parsed config does not have yet; any non-empty raw value counts as set, so a secret that cannot
 * be decrypted counts too. `stack` names the stack in the commands.
 */
export function readiness(
    config: StackConfig,
    raw: Readonly<Record<string, string | undefined>>,
    environment: ReadinessEnvironment,
    stack = "<stack>",
): ReadinessRow[] {
    const secretByKey = new Map(settingsMeta().map(([key, meta]) => [key as string, Boolean(meta.secret)]));
    const rawValue = (key: string): string | undefined => raw[key] || raw[`${PROJECT}:${key}`] || undefined;
    /** The parsed value where the schema has the key, else the raw text. */
    const valueOf = (key: string): unknown => {
        const parsed = (config as Record<string, unknown>)[key];
        return parsed === undefined || parsed === "" ? rawValue(key) : parsed;
    };
    const isSet = (key: string): boolean => valueOf(key) !== undefined;
    const set = (key: string, value: string): string => {
        const secret = secretByKey.get(key) || SECRET_KEYS.has(key);
        return `pulumi config set${secret ? " --secret" : ""} ${key} ${value} --stack ${stack}`;
    };
    const row = (id: string, action: string, lacks: readonly Lack[], condition?: Condition): ReadinessRow => {
        if (lacks.length > 0) {
            return {
                id,
                action,
                status: "not ready",
                lacks: lacks.map((lack) => lack.what),
                commands: lacks.flatMap((lack) => lack.commands),
            };
        }
        if (!condition) return { id, action, status: "ready", lacks: [], commands: [] };
        return { id, action, status: "ready", lacks: [], commands: condition.commands, note: condition.note };
    };

    const verifying = config.verify !== false;
    const appHost: Lack[] = isSet("databaseAppHost")
        ? []
        : [
              {
                  what: "databaseAppHost (the database host as the app reaches it)",
                  commands: [set("databaseAppHost", "<its internal host on Render>")],
              },
          ];
    const adminMissing = (
        [
            ["postgresql:host", "PGHOST", "<its external host>"],
            ["postgresql:username", "PGUSER", "<admin role>"],
            ["postgresql:password", "PGPASSWORD", "<admin password>"],
        ] as const
    ).filter(([key, variable]) => !rawValue(key) && !environment[variable]);
    const admin: Lack[] =
        adminMissing.length === 0
            ? []
            : [
                  {
                      what:
                          `the admin connection's ${adminMissing.map(([key]) => key).join(", ")}` +
                          ` (or ${adminMissing.map(([, variable]) => variable).join(", ")} in the environment)`,
                      commands: adminMissing.map(([key, , placeholder]) => set(key, placeholder)),
                  },
              ];
    const database = [...appHost, ...admin];
    // Ready or not, a password sent over TLS that checks no certificate goes to whoever answers at the address.
    const unverified = unverifiedTls(config, raw, environment);
    const tls: Condition | undefined =
        unverified.length === 0
            ? undefined
            : {
                  note:
                      `TLS not verified: ${unverified.map((u) => u.what).join("; ")}, so whoever answers at that ` +
                      "address gets the password; verify the server's certificate",
                  commands: unverified.map((u) => set(u.key, u.value)),
              };

    const verification: Lack[] = !verifying
        ? [
              {
                  what: "verify is false: pulumi up deploys without the runbook's checks",
                  commands: [set("verify", "true")],
              },
          ]
        : isSet("serviceUrl")
          ? []
          : [
                {
                    what: "serviceUrl (the app's public URL the checks ask)",
                    commands: [set("serviceUrl", "<the app's public https URL>")],
                },
            ];

    const mediaProbe: Lack[] =
        verifying && !isSet("mediaProbePath")
            ? [
                  {
                      what: "mediaProbePath (a direct media URL that must answer 403 once it is on)",
                      commands: [set("mediaProbePath", "/media/<a real upload>")],
                  },
              ]
            : [];

    const sessions: Lack[] = [];
    if (valueOf("sessionStore") !== "redis") {
        sessions.push({
            what: `sessionStore redis (it is ${String(valueOf("sessionStore") ?? "none")}: sessions outlive a rotation)`,
            commands: [set("sessionStore", "redis")],
        });
    }
    if (!isSet("redisUrl")) {
        sessions.push({ what: "redisUrl (where the sessions live)", commands: [set("redisUrl", "<rediss://...>")] });
    }

    const alertEmail = isSet("alertEmail");
    const comms: Lack[] =
        isSet("slackWebhookUrl") || isSet("pagerDutyRoutingKey") || (alertEmail && isSet("smtpUrl"))
            ? []
            : [
                  {
                      what:
                          "an incident channel, any one of: slackWebhookUrl, pagerDutyRoutingKey, or alertEmail with smtpUrl" +
                          (alertEmail ? " (alertEmail is set, smtpUrl is not)" : ""),
                      commands: [
                          set("slackWebhookUrl", "<its webhook URL>"),
                          set("pagerDutyRoutingKey", "<routing key>"),
                          ...(alertEmail ? [] : [set("alertEmail", "oncall@ahoy.example")]),
                          set("smtpUrl", "<smtps://user:pass@host>"),
                      ],
                  },
              ];

    return [
        // Render's own page needs nothing in the stack (Render offers it on paid web services).
        row("maintenancePage", "Complete outage (Severity 1): Render's maintenance page", []),
        row("renderRollback", "Render.com Rollback", []),
        row(
            "gitTagRollback",
            "Git Tag Rollback",
            [],
            isSet("repository")
                ? undefined
                : {
                      note: "ready if Render names the service's repository; set repository to be sure",
                      commands: [set("repository", "<the service's git URL>")],
                  },
        ),
        row("verify", "Verify and Monitor (5 minutes)", verification),
        row("disableSignup", "Disable User Signup", []),
        row("maintenanceRow", "Add maintenance mode flag (app_settings)", database, tls),
        row("signedUrls", "Enable Signed URLs", []),
        row("blockDirectMedia", "Restrict Direct Access (BLOCK_DIRECT_MEDIA)", mediaProbe),
        row("rateLimits", "Emergency Rate Limiting", []),
        row("blockedIps", "Block Specific IPs", []),
        row("rotateSecretKey", "Rotate SECRET_KEY", []),
        row("invalidateSessions", "Invalidate Sessions", sessions),
        row("rotateDatabaseCredentials", "Rotate Database Credentials", database, tls),
        row("incidentComms", "Communication Templates (Alert Channels)", comms),
    ];
}

const WIDTH = 99;
const STATUS_WIDTH = "not ready  ".length;

/** `text` broken at spaces into lines of at most `width` characters, each after `indent`. */
function wrap(text: string, indent: string, width = WIDTH): string[] {
    const lines: string[] = [];
    let line = "";
    for (const word of text.split(" ")) {
        if (line && indent.length + line.length + 1 + word.length > width) {
            lines.push(indent + line);
            line = word;
        } else {
            line = line ? `${line} ${word}` : word;
        }
    }
    if (line) lines.push(indent + line);
    return lines;
}

/** The rows for a terminal: one line per action, its lacks and commands indented beneath it; lines under 100 columns. */
export function formatReadiness(rows: readonly ReadinessRow[]): string {
    const indent = " ".repeat(STATUS_WIDTH);
    const lines: string[] = [];
    for (const r of rows) {
        lines.push(`${r.status.padEnd(STATUS_WIDTH)}${r.action}`);
        for (const lack of r.lacks) lines.push(...wrap(`lacks ${lack}`, indent));
        if (r.note) lines.push(...wrap(`${r.note}:`, indent));
        for (const command of r.commands) lines.push(`${indent}$ ${command}`);
    }
    const notReady = rows.filter((r) => r.status === "not ready").length;
    lines.push(
        "",
        notReady === 0
            ? `All ${rows.length} runbook actions are ready.`
            : `${notReady} of ${rows.length} runbook actions not ready.`,
    );
    return `${lines.join("\n")}\n`;
}

/** One line per action that is not ready, with what it lacks and the commands that supply it: for a preview warning. */
export function readinessWarnings(rows: readonly ReadinessRow[]): string[] {
    return rows
        .filter((r) => r.status === "not ready")
        .map((r) => `runbook action "${r.action}" is not ready: lacks ${r.lacks.join("; ")}; ${r.commands.join("; ")}`);
}
