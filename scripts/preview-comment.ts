// `npm run --silent preview-comment -- <stack> <credential lines file> [<preview output file>]`: the pull request's one
// preview comment, created or edited in place: the credential lines first (scripts/credential-lines.ts), then the
// output of `pulumi preview --diff`, or a line saying the preview waits for a reviewer's approval.
// From GitHub Actions: GITHUB_TOKEN (pull-requests: write), GITHUB_REPOSITORY, GITHUB_EVENT_PATH (the pull_request
// event), GITHUB_API_URL, and PREVIEW_OUTCOME (the preview step's outcome) beside its output file.
import * as fs from "node:fs";
import { isLoopbackHost } from "../lib/ip";

/** GitHub refuses a comment over 65,536 characters; the preview's output is cut to leave room for the rest. */
const MAX_OUTPUT = 60_000;

/** What marks the comment of this workflow for `stack`, so each push edits it instead of adding another. */
export function marker(stack: string): string {
    return `<!-- ahoy-ops preview: ${stack} -->`;
}

function escapeHtml(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The output as a comment can hold it: no colour codes, its middle cut when too long (the plan first, the summary last). */
function fitted(output: string): string {
    // eslint-disable-next-line no-control-regex
    const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
    if (plain.length <= MAX_OUTPUT) return plain;
    const head = plain.slice(0, (MAX_OUTPUT * 3) / 4);
    const tail = plain.slice(plain.length - MAX_OUTPUT / 4);
    return `${head}\n... (${plain.length - head.length - tail.length} characters cut) ...\n${tail}`;
}

/** The comment's body: the marker, the credential lines, then the preview (or why there is none yet). */
export function commentBody(
    stack: string,
    credentialLines: string,
    preview?: { readonly output: string; readonly outcome: string },
): string {
    const title = `#### \`pulumi preview --diff\` of ${stack}`;
    const previewPart = preview
        ? [
              `${title}: ${preview.outcome === "success" ? "succeeded" : `did not succeed (${preview.outcome})`}`,
              "",
              "<details><summary>the preview's output</summary>",
              "",
              `<pre>\n${escapeHtml(fitted(preview.output))}\n</pre>`,
              "</details>",
          ]
        : [`${title}: waits for a reviewer to approve this run in the \`preview\` environment`];
    return [marker(stack), credentialLines.trim(), "", ...previewPart, ""].join("\n");
}

/** Where the GitHub token may be sent: an https API, or a stand-in on this machine's loopback. */
function apiBase(raw: string | undefined): string {
    const url = new URL(raw || "https://api.github.com");
    if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) {
        throw new Error(`GITHUB_API_URL must be an https URL (or a loopback stand-in), got ${url.origin}`);
    }
    return url.href.replace(/\/+$/, "");
}

interface Comment {
    readonly id: number;
    readonly body?: string;
}

/**
 * Creates the pull request's comment for `stack`, or edits the one carrying its marker. Messages name the request and
 * GitHub's status, never the token. Returns what was done.
 */
export async function upsertComment(options: {
    readonly api?: string;
    readonly token: string;
    readonly repository: string;
    readonly pullRequest: number;
    readonly stack: string;
    readonly body: string;
}): Promise<"created" | "edited"> {
    const base = apiBase(options.api);
    const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
        const res = await fetch(`${base}${path}`, {
            method,
            headers: {
                Authorization: `Bearer ${options.token}`,
                Accept: "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "ahoy-ops-preview-comment",
                ...(body !== undefined && { "Content-Type": "application/json" }),
            },
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(30_000),
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`GitHub answered ${res.status} to ${method} ${path}`);
        return text === "" ? undefined : JSON.parse(text);
    };
    const issue = `/repos/${options.repository}/issues`;
    for (let page = 1; ; page++) {
        const comments = (await call("GET", `${issue}/${options.pullRequest}/comments?per_page=100&page=${page}`)) as
            Comment[] | undefined;
        const ours = comments?.find((comment) => comment.body?.startsWith(marker(options.stack)));
        if (ours) {
            await call("PATCH", `${issue}/comments/${ours.id}`, { body: options.body });
            return "edited";
        }
        if (!comments || comments.length < 100) break;
    }
    await call("POST", `${issue}/${options.pullRequest}/comments`, { body: options.body });
    return "created";
}

const USAGE = `usage: npm run --silent preview-comment -- <stack> <credential lines file> [<preview output file>]
Creates or edits the pull request's preview comment: the credential lines, then the preview's
output (its outcome in PREVIEW_OUTCOME), or a line saying the preview waits for approval.
Needs GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_EVENT_PATH, as GitHub Actions sets them.
`;

/** Runs the command; resolves with the exit code. */
export async function main(argv: readonly string[], environment: NodeJS.ProcessEnv): Promise<number> {
    if (argv.length < 2 || argv.length > 3 || argv.some((arg) => arg.startsWith("-"))) {
        process.stderr.write(`preview-comment: expected 2 or 3 arguments, got ${JSON.stringify(argv)}\n${USAGE}`);
        return 2;
    }
    const [stack, linesFile, previewFile] = argv;
    const { GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_EVENT_PATH, GITHUB_API_URL, PREVIEW_OUTCOME } = environment;
    try {
        if (!GITHUB_TOKEN || !GITHUB_REPOSITORY || !GITHUB_EVENT_PATH) {
            throw new Error("GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_EVENT_PATH must be set (as in GitHub Actions)");
        }
        const event = JSON.parse(fs.readFileSync(GITHUB_EVENT_PATH, "utf8")) as { pull_request?: { number?: number } };
        const pullRequest = event.pull_request?.number;
        if (!pullRequest) throw new Error(`${GITHUB_EVENT_PATH} is not a pull_request event`);
        const preview =
            previewFile === undefined
                ? undefined
                : { output: fs.readFileSync(previewFile, "utf8"), outcome: PREVIEW_OUTCOME || "unknown" };
        const body = commentBody(stack, fs.readFileSync(linesFile, "utf8"), preview);
        const done = await upsertComment({
            api: GITHUB_API_URL,
            token: GITHUB_TOKEN,
            repository: GITHUB_REPOSITORY,
            pullRequest,
            stack,
            body,
        });
        process.stdout.write(`preview-comment: ${done} the comment on pull request #${pullRequest}\n`);
        return 0;
    } catch (error) {
        process.stderr.write(`preview-comment: ${error instanceof Error ? error.message : String(error)}\n`);
        return 1;
    }
}

if (require.main === module) {
    void main(process.argv.slice(2), process.env).then((code) => {
        process.exitCode = code;
    });
}
