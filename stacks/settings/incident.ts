// Incident comms: the incident the on-call engineer opens with `pulumi config set`, the people who can be on call, and
// the channels the runbook's messages go to (Slack's #incidents, PagerDuty, the on-call email list).
import { z } from "zod";
import { unconfigured } from "../../lib/comms/delivery";
import { INCIDENT_STATUSES, type Severity } from "../../lib/comms/templates";
import { checkedText, type ConfigProblem, oneOf, setting, type SettingMeta } from "./kit";

/** One person who can be on call, as the runbook's Emergency Contacts list them. */
export interface Contact {
    /** How the alert names them: "Primary On-Call"; the contact's key when unset. */
    readonly name?: string;
    readonly email: string;
    readonly phone: string;
}

const CONTACT_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const EMAIL =
    /^[^\s@<>()",;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const PHONE = /^\+?[0-9][0-9 ().-]{5,30}$/;
/** One line of printable text: no newline or control character that would break a template's layout. */
const ONE_LINE = /^[^\p{Cc}\u2028\u2029]+$/u;

function oneLine(meta: Omit<SettingMeta, "pulumiType" | "default">, maxLength: number) {
    const error = `expected ${meta.expected}`;
    return setting(
        { ...meta, pulumiType: "string", default: "" },
        z
            .string()
            .transform((raw) => raw.trim())
            .pipe(z.string().min(1, { error }).max(maxLength, { error }).regex(ONE_LINE, { error }))
            .optional(),
    );
}

// Every key in Pulumi.yaml needs a default (the CLI refuses a stack that lacks one declared without), and an integer's
// must be a number: 0 stands for "no incident", the same as removing the key.
const severityMeta: SettingMeta = {
    pulumiType: "integer",
    default: "0",
    expected:
        "1, 2 or 3 (the runbook's Severity 1 Critical, 2 High, 3 Medium), or 0 or unset when there is no incident",
    description:
        "Open an incident: 1 (Critical, 5 min response), 2 (High, 30 min) or 3 (Medium, 4 hours); `pulumi up` posts the alert. 0 or unset: no incident.",
};

const contactsMeta: SettingMeta = {
    pulumiType: "object",
    // What the CLI hands the program for an object key left at its default ({}): its JSON text.
    default: "{}",
    expected:
        'an object of contacts by name (a-z, 0-9, _ and -), each {"email": "...", "phone": "+1-555-0100"} and an optional "name"',
    description:
        "Who can be on call, by name (primary, secondary, manager, cto), each with email, phone and an optional display name.",
};

/** The contacts from their JSON text (Pulumi hands the program an object key as JSON), every problem named. */
function parseContacts(raw: string, ctx: z.RefinementCtx): Record<string, Contact> | typeof z.NEVER {
    let value: unknown;
    try {
        value = JSON.parse(raw);
    } catch {
        ctx.addIssue({ code: "custom", message: `is not JSON; expected ${contactsMeta.expected}` });
        return z.NEVER;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        ctx.addIssue({ code: "custom", message: `expected ${contactsMeta.expected}` });
        return z.NEVER;
    }
    const contacts: Record<string, Contact> = {};
    const problems: string[] = [];
    for (const [key, entry] of Object.entries(value)) {
        if (!CONTACT_NAME.test(key)) problems.push(`${JSON.stringify(key)} is not a contact name (a-z, 0-9, _ and -)`);
        if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
            problems.push(`${key} is not an object with email and phone`);
            continue;
        }
        const { name, email, phone, ...rest } = entry as Record<string, unknown>;
        for (const extra of Object.keys(rest))
            problems.push(`${key}.${extra} is not a contact field (name, email, phone)`);
        if (typeof email !== "string" || !EMAIL.test(email)) {
            problems.push(`${key}.email ${JSON.stringify(email ?? null)} is not an email address`);
        }
        if (typeof phone !== "string" || !PHONE.test(phone)) {
            problems.push(`${key}.phone ${JSON.stringify(phone ?? null)} is not a phone number such as +1-555-0100`);
        }
        if (name !== undefined && (typeof name !== "string" || name.length > 80 || !ONE_LINE.test(name))) {
            problems.push(`${key}.name is not one line of at most 80 characters`);
        }
        contacts[key] = { ...(typeof name === "string" && { name }), email: String(email), phone: String(phone) };
    }
    if (problems.length > 0) {
        ctx.addIssue({ code: "custom", message: problems.join("; ") });
        return z.NEVER;
    }
    return contacts;
}

const LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"];

/** A secret URL's problem, never quoting it. */
function secretUrlProblem(raw: string, protocols: readonly string[], expected: string): string | undefined {
    if (!URL.canParse(raw)) return `expected ${expected}`;
    const url = new URL(raw);
    const local = LOCAL_HOSTS.includes(url.hostname);
    const allowed =
        protocols.includes(url.protocol) || (protocols.includes("https:") && local && url.protocol === "http:");
    if (!allowed || url.hostname === "") return `expected ${expected}`;
    return undefined;
}

const slackWebhookMeta: SettingMeta = {
    pulumiType: "string",
    default: "",
    expected:
        "a Slack incoming-webhook URL (https://hooks.slack.com/services/...) set with `pulumi config set --secret slackWebhookUrl ...`",
    description: "Slack incoming webhook of the #incidents channel (secret); unset: no Slack messages.",
    secret: true,
};

const routingKeyMeta: SettingMeta = {
    pulumiType: "string",
    default: "",
    expected:
        "the 32-character integration key of a PagerDuty Events API v2 integration, set with `pulumi config set --secret pagerDutyRoutingKey ...`",
    description:
        "PagerDuty Events API v2 integration key (secret), which pages the on-call engineer; unset: no paging.",
    secret: true,
};

const alertEmailMeta: SettingMeta = {
    pulumiType: "string",
    default: "",
    expected: "an email address such as oncall@ahoy.example",
    description: "Where incident messages are emailed (the runbook's oncall@), through smtpUrl; unset: no email.",
};

const smtpUrlMeta: SettingMeta = {
    pulumiType: "string",
    default: "",
    expected:
        "an smtps:// or smtp:// URL (smtp://user:password@host:587 upgrades with STARTTLS), set with `pulumi config set --secret smtpUrl ...`",
    description: "The SMTP server that sends the incident email, with its login (secret); needs alertEmail.",
    secret: true,
};

/** The incident and its channels. */
export const incidentSettings = {
    incidentSeverity: setting(
        severityMeta,
        z
            .enum(["0", "1", "2", "3"], { error: `expected ${severityMeta.expected}` })
            .transform((v) => (v === "0" ? undefined : (Number(v) as Severity))),
    ),
    incidentTitle: oneLine(
        {
            expected: "one line of at most 120 characters naming the incident, such as Signup abuse",
            description: "The incident's title in every message (one line, at most 120 characters).",
        },
        120,
    ),
    incidentStatus: oneOf(INCIDENT_STATUSES, {
        default: "investigating",
        description:
            "The incident's status: investigating, mitigating or resolved; a change posts an update, resolved posts the resolution.",
    }),
    incidentImpact: oneLine(
        {
            expected: "one line of at most 500 characters saying what users see, such as bots are creating accounts",
            description: "What users see (the alert's Impact); a change posts an update.",
        },
        500,
    ),
    incidentOnCall: setting(
        {
            pulumiType: "string",
            default: "",
            expected: "the name of one of the contacts, such as primary",
            description: "Who is on call for the incident: the name of one of the contacts (primary, secondary, ...).",
        },
        z
            .string()
            .trim()
            .regex(CONTACT_NAME, { error: "expected the name of one of the contacts, such as primary" })
            .optional(),
    ),
    contacts: setting(contactsMeta, z.string().transform(parseContacts)),
    slackWebhookUrl: checkedText(slackWebhookMeta, (raw) =>
        secretUrlProblem(raw, ["https:"], slackWebhookMeta.expected),
    ),
    pagerDutyRoutingKey: checkedText(routingKeyMeta, (raw) =>
        /^[A-Za-z0-9]{32}$/.test(raw) ? undefined : `expected ${routingKeyMeta.expected}`,
    ),
    alertEmail: setting(
        alertEmailMeta,
        z
            .string()
            .trim()
            .regex(EMAIL, { error: `expected ${alertEmailMeta.expected}` })
            .optional(),
    ),
    smtpUrl: checkedText(smtpUrlMeta, (raw) => secretUrlProblem(raw, ["smtp:", "smtps:"], smtpUrlMeta.expected)),
};

/** The incident settings, parsed. */
export type IncidentSettings = z.output<z.ZodObject<typeof incidentSettings>>;

const INCIDENT_DETAIL_KEYS = ["incidentTitle", "incidentImpact", "incidentOnCall"] as const;

/**
 * The rules between the incident keys, checked with the rest of the config so every problem is listed at once: an
 * incident needs a title, an impact and an on-call contact, and at least one channel that can reach someone; those
 * keys without a severity are an incident half opened; smtpUrl without alertEmail sends to no one. A channel that is
 * only half set (alertEmail without smtpUrl) is not a problem: it is skipped, and the outputs say so, for an incident
 * must not wait on the email settings while Slack or PagerDuty can carry it.
 */
export function incidentProblems(config: IncidentSettings): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const severity = config.incidentSeverity;
    const contactNames = Object.keys(config.contacts ?? {});
    const contactList = contactNames.length > 0 ? contactNames.join(", ") : "none: set contacts first";
    if (severity === undefined) {
        const stray = INCIDENT_DETAIL_KEYS.filter((key) => config[key] !== undefined);
        if (stray.length > 0) {
            problems.push({
                key: "incidentSeverity",
                message:
                    `got nothing, but ${stray.join(", ")} ${stray.length === 1 ? "is" : "are"} set; expected ${severityMeta.expected}: ` +
                    `open the incident with \`pulumi config set incidentSeverity 1\`, or remove ${stray.join(", ")}`,
            });
        }
    } else {
        if (!config.incidentTitle) {
            problems.push({
                key: "incidentTitle",
                message: `got nothing, but incidentSeverity is ${severity}; expected a one-line title such as \`pulumi config set incidentTitle "Signup abuse"\``,
            });
        }
        if (!config.incidentImpact) {
            problems.push({
                key: "incidentImpact",
                message: `got nothing, but incidentSeverity is ${severity}; expected what users see, such as \`pulumi config set incidentImpact "bots are creating accounts"\``,
            });
        }
        if (!config.incidentOnCall) {
            problems.push({
                key: "incidentOnCall",
                message: `got nothing, but incidentSeverity is ${severity}; expected one of the contacts (${contactList}), such as \`pulumi config set incidentOnCall primary\``,
            });
        }
        const gaps = unconfigured(config);
        if (gaps.slack && gaps.pagerDuty && gaps.email) {
            problems.push({
                key: "incidentSeverity",
                message:
                    `got ${severity}, but no channel can carry the incident (${gaps.slack}; ${gaps.pagerDuty}; ${gaps.email}); ` +
                    "expected at least one of slackWebhookUrl, pagerDutyRoutingKey, or alertEmail with smtpUrl (each set with `pulumi config set --secret ...`)",
            });
        }
    }
    if (config.incidentOnCall && !contactNames.includes(config.incidentOnCall)) {
        problems.push({
            key: "incidentOnCall",
            message: `got ${JSON.stringify(config.incidentOnCall)}, which is not one of the contacts; expected one of ${contactList}`,
        });
    }
    if (config.smtpUrl && !config.alertEmail) {
        problems.push({
            key: "alertEmail",
            message: `got nothing, but smtpUrl is set; expected ${alertEmailMeta.expected}, or remove smtpUrl`,
        });
    }
    return problems;
}
