// Posts a message to Slack's #incidents channel through an incoming webhook: `{text, blocks}`, answered `200 ok`.
import { ChannelError, describeAnswer, postJson, type SendOptions } from "./delivery";

/** What goes to Slack: the template's text, and a line beside it (the response deadline) where there is one. */
export interface SlackMessage {
    readonly text: string;
    readonly note?: string;
}

/** Slack's limits: a section's text takes 3000 characters, a context element's 2000 (the block reference). */
const SECTION_MAX = 3000;
const CONTEXT_MAX = 2000;

/** Slack reads `&`, `<` and `>` as markup in `text` and mrkdwn: escaped, a title such as "<script>" shows as written. */
export function escapeSlack(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function clip(text: string, max: number): string {
    return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The payload: `text` for the notification (and clients without blocks), a plain-text section with the template. */
export function slackPayload(message: SlackMessage): { text: string; blocks: object[] } {
    // plain_text shows the template exactly as written: no *bold* or _italics_ read into a title or an impact.
    const blocks: object[] = [
        { type: "section", text: { type: "plain_text", text: clip(message.text, SECTION_MAX), emoji: true } },
    ];
    if (message.note) {
        blocks.push({ type: "context", elements: [{ type: "plain_text", text: clip(message.note, CONTEXT_MAX) }] });
    }
    return { text: escapeSlack(message.text), blocks };
}

/**
 * Posts `message` to the webhook. Resolves with Slack's answer (`200 ok`); throws a ChannelError naming the answer
 * (`400 invalid_payload`, `404 no_service`, `410 channel_is_archived`, `503 ...`), never the webhook URL.
 */
export async function postToSlack(webhookUrl: string, message: SlackMessage, options?: SendOptions): Promise<string> {
    // The token in the path is the secret part (/services/T.../B.../token): redaction hides it wherever it is echoed.
    const secrets = [webhookUrl];
    const answer = await postJson("slack", webhookUrl, slackPayload(message), secrets, options);
    const said = describeAnswer(answer, secrets);
    if (answer.status !== 200) throw new ChannelError("slack", said, answer.status === 429 || answer.status >= 500);
    return said;
}
