// The runbook's feature-flag controls: kill switches, media lockdown, rate limits and blocked IPs.
import { z } from "zod";
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
