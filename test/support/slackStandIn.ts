// A local stand-in for a Slack incoming webhook: it checks each payload against what Slack's documentation requires and
// answers as Slack does (200 "ok"; 400 invalid_payload, no_text or invalid_blocks; 404 no_service for an unknown
// webhook; 429 rate_limited with Retry-After; 5xx while down).
import { randomBytes } from "node:crypto";
import { type Answer, type Exchange, type Fault, type HttpStandIn, jsonObject, startHttpStandIn } from "./faults";

/** A message Slack posted to the channel. */
export interface SlackPost {
    readonly text: string;
    readonly blocks: Array<Record<string, unknown>>;
}

export interface SlackStandIn {
    /** The webhook's URL, a secret as Slack's are: http://127.0.0.1:<port>/services/T.../B.../<token>. */
    readonly webhookUrl: string;
    /** The token part of the URL alone, for checks that it never shows. */
    readonly token: string;
    /** The messages posted to the channel, in order. */
    readonly posts: SlackPost[];
    /** Every request with its answer (refused and failed ones included). */
    readonly exchanges: Exchange[];
    fail(fault: Fault): void;
    heal(): void;
    close(): Promise<void>;
}

const TEXT_TYPES = ["plain_text", "mrkdwn"];

/** Why a `blocks` array breaks Slack's Block Kit limits, or undefined (the block types these messages use). */
function blocksProblem(blocks: unknown): string | undefined {
    if (!Array.isArray(blocks)) return "blocks is not an array";
    if (blocks.length > 50) return "more than 50 blocks";
    for (const block of blocks as Array<Record<string, unknown>>) {
        if (typeof block !== "object" || block === null) return "a block is not an object";
        if (block.block_id !== undefined && (typeof block.block_id !== "string" || block.block_id.length > 255)) {
            return "block_id longer than 255";
        }
        const text = block.text as { type?: unknown; text?: unknown } | undefined;
        const textOk = (t: typeof text, max: number, types = TEXT_TYPES) =>
            !!t &&
            types.includes(String(t.type)) &&
            typeof t.text === "string" &&
            t.text.length > 0 &&
            t.text.length <= max;
        switch (block.type) {
            case "section":
                if (!textOk(text, 3000)) return "a section's text must be a text object of 1 to 3000 characters";
                break;
            case "header":
                if (!textOk(text, 150, ["plain_text"]))
                    return "a header's text must be plain_text of 1 to 150 characters";
                break;
            case "context": {
                const elements = block.elements;
                if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10) {
                    return "a context block needs 1 to 10 elements";
                }
                if (!elements.every((e) => textOk(e as typeof text, 2000)))
                    return "a context element's text is invalid";
                break;
            }
            case "divider":
                break;
            default:
                return `unknown block type ${JSON.stringify(block.type)}`;
        }
    }
    return undefined;
}

/** Starts a webhook for one channel on 127.0.0.1. */
export async function startSlackStandIn(): Promise<SlackStandIn> {
    const token = randomBytes(12).toString("hex");
    const path = `/services/T0AHOY0001/B0INCIDENTS/${token}`;
    const posts: SlackPost[] = [];
    const handle = (exchange: Exchange): Answer => {
        if (exchange.method !== "POST") return { status: 405, body: "invalid_method" };
        if (exchange.path !== path) return { status: 404, body: "no_service" };
        const body = jsonObject(exchange);
        if (!body) return { status: 400, body: "invalid_payload" };
        const { text, blocks } = body;
        if (text !== undefined && typeof text !== "string") return { status: 400, body: "invalid_payload" };
        if (!text && (blocks === undefined || (Array.isArray(blocks) && blocks.length === 0))) {
            return { status: 400, body: "no_text" };
        }
        if (blocks !== undefined && blocksProblem(blocks)) return { status: 400, body: "invalid_blocks" };
        posts.push({ text: String(text ?? ""), blocks: (blocks as Array<Record<string, unknown>>) ?? [] });
        return { status: 200, body: "ok", headers: { "content-type": "text/html" } };
    };
    const server: HttpStandIn = await startHttpStandIn(
        handle,
        { status: 503, body: "service_unavailable" },
        (seconds) => ({ status: 429, body: "rate_limited", headers: { "retry-after": String(seconds) } }),
    );
    return {
        webhookUrl: `${server.origin}${path}`,
        token,
        posts,
        exchanges: server.exchanges,
        fail: (fault) => server.fail(fault),
        heal: () => server.heal(),
        close: () => server.close(),
    };
}

/** Exported for the stand-in's own tests: what Slack would say of a `blocks` array. */
export { blocksProblem };
