// What `pulumi up` checks after each deploy: where the app answers, the media probe, how long to watch.
import { checkedText, type ConfigProblem, flag, optionalText, type SettingMeta, wholeNumber } from "./kit";

const serviceUrlMeta: SettingMeta = {
    pulumiType: "string",
    default: "",
    expected:
        "the service's public https:// URL such as https://ahoy-indie-media.onrender.com (http:// only for localhost or 127.0.0.1)",
    description:
        "The app's public URL, checked after every deploy (/healthz, each switch's effect, a short settle) and watched by npm run watch; required unless verify is false.",
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

/** The verification settings. */
export const verificationSettings = {
    serviceUrl: checkedText(serviceUrlMeta, serviceUrlProblem),
    verify: flag(
        "Run the runbook's checks after every deploy: /healthz, each switch's effect, a 3 s settle (then npm run watch watches the window); false skips them.",
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
    databaseId: optionalText(
        {
            expected:
                "a Render Postgres id: dpg- and 20 characters of 0-9 and a-v, as Render shows it (often ending -a), such as dpg-cr9q1q3v2p9s73b0ug4g-a",
            description:
                "The app's Render Postgres (dpg-...): the watch fails above 80% of max_connections (read from the database when databaseAppHost is set); unset: not applicable.",
        },
        /^dpg-[0-9a-v]{20}(?:-[a-z])?$/,
    ),
    stabilityWindowSeconds: wholeNumber(
        {
            default: "300",
            description:
                "How long npm run watch watches after a deploy goes live: /healthz (errors at most 5%, within 2 s), Render's service events and logs, then its metrics for that window at the runbook's thresholds; 10 to 3600 s.",
        },
        10,
        // The window is the watch's (the up only checks and settles): up.yml's watch job is sized for two of the longest.
        3600,
        "seconds",
    ),
};

/**
 * The settings verification needs, judged on the raw values so a missing one is listed with every other problem:
 * serviceUrl unless `verify` is explicitly false, and a media probe path when direct media is blocked.
 */
export function verificationProblems(values: Record<string, string | undefined>): ConfigProblem[] {
    if (values.verify === "false") return [];
    const problems: ConfigProblem[] = [];
    if (!values.serviceUrl) {
        problems.push({
            key: "serviceUrl",
            message:
                `got nothing, but verify is on; expected ${serviceUrlMeta.expected}: ` +
                "`pulumi config set serviceUrl https://ahoy-indie-media.onrender.com`, or " +
                "`pulumi config set verify false` to deploy without the runbook's checks",
        });
    }
    if (values.BLOCK_DIRECT_MEDIA === "true" && !values.mediaProbePath) {
        problems.push({
            key: "mediaProbePath",
            message:
                "got nothing, but BLOCK_DIRECT_MEDIA is true and verify is on; expected a direct media path that must answer 403: " +
                "`pulumi config set mediaProbePath /media/<an existing upload>` (e.g. /media/uploads/probe.jpg)",
        });
    }
    return problems;
}
