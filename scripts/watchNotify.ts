// Posts the watch's first crossed threshold to the open incident's channels: the runbook's Status Update through the
// same senders `pulumi up` uses (Slack's webhook, PagerDuty's Events API in the incident's alert, email threaded under
// the alert); each channel's answer said, never a secret.
import { CHANNEL_NAMES, CHANNELS, ChannelError, type Channel, unconfigured } from "../lib/comms/delivery";
import type { WatchTarget } from "../components/verification/plan";
import {
    watchNotice,
    watchNoticeDetails,
    watchNoticeHeadline,
    type WatchNotice,
} from "../components/verification/watchNotice";
import type { WatchFigure } from "../components/verification/watchVerdict";

/** Where PagerDuty events go: the real Events API unless a rehearsal points this (the Incident provider's) variable elsewhere. */
const PAGERDUTY_URL_ENV = "AHOY_PAGERDUTY_EVENTS_URL";

export interface NotifyOptions {
    readonly stack: string;
    /** A stack config value (a secret decrypted), or undefined when not set. */
    readonly secret: (key: string) => Promise<string | undefined>;
    /** Secrets the watch holds besides the channels' (the Render key), masked in the update too. */
    readonly knownSecrets: readonly string[];
    readonly log: (line: string) => void;
}

/** Sends the update to every configured channel side by side; resolves when each has answered, whatever it said. */
export async function notifyIncident(
    target: WatchTarget,
    figure: WatchFigure,
    atSeconds: number,
    options: NotifyOptions,
): Promise<void> {
    const incident = target.incident;
    if (!incident) return;
    const [slackWebhookUrl, pagerDutyRoutingKey, smtpUrl, alertEmail] = await Promise.all(
        ["slackWebhookUrl", "pagerDutyRoutingKey", "smtpUrl", "alertEmail"].map(options.secret),
    );
    const settings = { slackWebhookUrl, pagerDutyRoutingKey, smtpUrl, alertEmail };
    const secrets = [
        ...options.knownSecrets,
        slackWebhookUrl,
        pagerDutyRoutingKey,
        smtpUrl,
        ...urlParts(slackWebhookUrl),
        ...urlParts(smtpUrl),
    ];
    const notice = watchNotice(incident, target, figure, atSeconds, options.stack, new Date(), secrets);
    const why = unconfigured(settings);
    await Promise.all(
        CHANNELS.map(async (channel) => {
            const name = CHANNEL_NAMES[channel];
            if (why[channel]) {
                options.log(`${name}: the watch's update not sent: ${why[channel]}`);
                return;
            }
            try {
                const answer = await send(channel, notice, target, settings);
                options.log(`${name}: the watch's update delivered: ${answer}`);
            } catch (err) {
                const answer =
                    err instanceof ChannelError ? err.answer : "an error (its text withheld: it may hold a secret)";
                options.log(`${name}: the watch's update not delivered: answered ${answer}`);
            }
        }),
    );
}

async function send(
    channel: Channel,
    notice: WatchNotice,
    target: WatchTarget,
    settings: { slackWebhookUrl?: string; pagerDutyRoutingKey?: string; smtpUrl?: string; alertEmail?: string },
): Promise<string> {
    const incident = target.incident!;
    if (channel === "slack") {
        const { postToSlack } = require("../lib/comms/slack") as typeof import("../lib/comms/slack");
        return postToSlack(settings.slackWebhookUrl!, { text: notice.text });
    }
    if (channel === "pagerDuty") {
        const { sendPagerDutyEvent, PAGERDUTY_EVENTS_URL } =
            require("../lib/comms/pagerDuty") as typeof import("../lib/comms/pagerDuty");
        return sendPagerDutyEvent(
            settings.pagerDutyRoutingKey!,
            {
                action: "trigger",
                dedupKey: notice.dedupKey,
                summary: watchNoticeHeadline(notice),
                source: target.service,
                severity: notice.severity,
                timestamp: new Date().toISOString(),
                customDetails: watchNoticeDetails(notice, incident),
            },
            process.env[PAGERDUTY_URL_ENV] || PAGERDUTY_EVENTS_URL,
        );
    }
    // Required here: only a watch that sends mail loads nodemailer.
    const { sendEmail } = require("../lib/comms/email") as typeof import("../lib/comms/email");
    return sendEmail(settings.smtpUrl!, {
        to: settings.alertEmail!,
        from: `ahoy-ops <${settings.alertEmail}>`,
        subject: watchNoticeHeadline(notice),
        text: notice.text,
        messageId: notice.messageId,
        inReplyTo: notice.inReplyTo,
    });
}

/** The parts of a URL that are secret on their own: its path (Slack's token) and its password. */
function urlParts(url: string | undefined): string[] {
    if (!url || !URL.canParse(url)) return [];
    const parsed = new URL(url);
    return [parsed.pathname.length > 8 ? parsed.pathname : "", parsed.password].filter(Boolean);
}
