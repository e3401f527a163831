// The runbook's feature-flag controls: kill switches, media lockdown, rate limits and blocked IPs.
import { z } from "zod";
import { addressBits, formatNetwork, type IpFamily, type IpNetwork, networkOf, readNetwork } from "../../lib/ip";
import { checkedText, flag, setting, type SettingMeta, wholeNumber } from "./kit";

const RATE_LIMIT = /^(\d+)\s*(?:per\s+|\/\s*)(second|minute|hour|day)s?$/i;

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

/** The most entries BLOCKED_IPS takes: the app matches every request against each one. */
export const MAX_BLOCKED_IPS = 1_000;
/** The broadest range each family may block: wider is everyone, or nearly. */
const BROADEST_PREFIX: Record<IpFamily, number> = { 4: 8, 6: 32 };
/** How many entry problems a message lists before it says how many more there are. */
const LISTED_PROBLEMS = 10;

/** Why one entry cannot be blocked, or its canonical network. */
function blockedEntry(entry: string): { network?: IpNetwork; problem?: string } {
    const written = readNetwork(entry);
    if (written.problem !== undefined) return { problem: written.problem };
    const { address, prefix } = written;
    const network = networkOf(address, prefix);
    if (network.value !== address.value) {
        const single = formatNetwork(networkOf(address, addressBits(address.family)));
        return {
            problem:
                `${JSON.stringify(entry)} has host bits set: the range is ${formatNetwork(network)} ` +
                `(or write ${single} to block that one address)`,
        };
    }
    if (prefix < BROADEST_PREFIX[address.family]) {
        const hostBits = addressBits(address.family) - prefix;
        const blocked =
            prefix === 0
                ? `every IPv${address.family} client`
                : address.family === 4
                  ? `${(2 ** hostBits).toLocaleString("en-US")} addresses`
                  : `2^${hostBits} addresses`;
        return {
            problem:
                `${JSON.stringify(entry)} blocks ${blocked}; the broadest range allowed is ` +
                `/${BROADEST_PREFIX[4]} for IPv4 and /${BROADEST_PREFIX[6]} for IPv6`,
        };
    }
    return { network };
}

/**
 * Comma-separated addresses and CIDR ranges, each written back canonically (IPv6 as RFC 5952, a single address without
 * /32 or /128, an IPv4-mapped address as IPv4) and de-duplicated across notations, in first-seen order; or every
 * problem, each naming its entry. The value stays far below Linux's 128 KiB limit on one environment variable
 * (MAX_ARG_STRLEN, which the app's start would hit first): 1,000 entries of at most 43 characters.
 */
export function parseBlockedIps(raw: string): { value?: string; problems: string[] } {
    const entries = raw
        .split(",")
        .map((entry) => entry.trim())
        .filter((entry) => entry !== "");
    if (entries.length === 0)
        return { problems: ["expected at least one address or range; unset the key to block none"] };
    const problems: string[] = [];
    const canonical = new Set<string>();
    for (const entry of entries) {
        const { network, problem } = blockedEntry(entry);
        if (problem !== undefined) problems.push(problem);
        else if (network) canonical.add(formatNetwork(network));
    }
    if (canonical.size > MAX_BLOCKED_IPS) {
        problems.unshift(`has ${canonical.size} distinct entries; expected at most ${MAX_BLOCKED_IPS}`);
    }
    if (problems.length > 0) return { problems };
    return { value: [...canonical].join(","), problems: [] };
}

function blockedIps(description: string) {
    const meta: SettingMeta = {
        pulumiType: "string",
        default: "",
        expected: `comma-separated IPv4/IPv6 addresses or CIDR ranges (at most ${MAX_BLOCKED_IPS}, none broader than /8 or /32), or unset`,
        description,
    };
    return setting(
        meta,
        z
            .string()
            .transform((raw, ctx) => {
                const { value, problems } = parseBlockedIps(raw);
                const listed = problems.slice(0, LISTED_PROBLEMS);
                if (problems.length > LISTED_PROBLEMS) listed.push(`and ${problems.length - LISTED_PROBLEMS} more`);
                for (const message of listed) ctx.addIssue({ code: "custom", message });
                return value ?? z.NEVER;
            })
            .optional(),
    );
}

const maintenancePageUriMeta: SettingMeta = {
    pulumiType: "string",
    default: "",
    expected: "an https:// URL of a page outside the service (a static site, say), or unset for Render's default page",
    description:
        "The page Render serves while MAINTENANCE_PAGE is true; unset: Render's default maintenance page. Not a URL of the service itself.",
};

/** Why `raw` cannot be the maintenance page's address, or undefined when it can (the service check is cross-key). */
function maintenancePageUriProblem(raw: string): string | undefined {
    try {
        const url = new URL(raw);
        if (
            url.protocol === "https:" ||
            (url.protocol === "http:" && ["127.0.0.1", "localhost"].includes(url.hostname))
        ) {
            return url.username || url.password
                ? "carries credentials; expected a public page without them"
                : undefined;
        }
    } catch {
        // not a URL: the message below
    }
    return `expected ${maintenancePageUriMeta.expected}`;
}

/** The switches: each a Render variable named as the app reads it, but MAINTENANCE_PAGE, which is Render's own. */
export const switchSettings = {
    MAINTENANCE_PAGE: flag(
        "Complete outage: Render's own maintenance page (503 and the page for every request, at once, no deploy).",
    ),
    maintenancePageUri: checkedText(maintenancePageUriMeta, maintenancePageUriProblem),
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
};
