// Emails a message to the on-call list (the runbook's oncall@) over SMTP with nodemailer, one connection per send.
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import { ChannelError, DEFAULT_TIMEOUT_MS, redact } from "./delivery";

/** One email. */
export interface EmailMessage {
    readonly to: string;
    readonly from: string;
    readonly subject: string;
    readonly text: string;
    /** `<id@host>`: set so a retry is recognisably the same message and the updates thread under the alert. */
    readonly messageId: string;
    /** The alert's Message-ID, for the updates and the resolution. */
    readonly inReplyTo?: string;
}

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * nodemailer's transport options from an `smtp://` or `smtps://` URL. smtps is TLS from the first byte (port 465 by
 * default); smtp upgrades with STARTTLS (port 587 by default) and, except towards this machine, refuses to go on
 * without it, so the password never crosses the network in clear.
 */
export function smtpOptions(smtpUrl: string, timeoutMs = DEFAULT_TIMEOUT_MS): SMTPTransport.Options {
    const url = new URL(smtpUrl);
    const secure = url.protocol === "smtps:";
    const options: SMTPTransport.Options = {
        host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: url.port ? Number(url.port) : secure ? 465 : 587,
        secure,
        requireTLS: !secure && !LOCAL_HOSTS.has(url.hostname),
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
    };
    if (url.username) {
        options.auth = { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) };
    }
    return options;
}

/** The secrets an SMTP URL carries, in the forms an error might show them. */
function smtpSecrets(smtpUrl: string): string[] {
    const secrets = [smtpUrl];
    if (URL.canParse(smtpUrl)) {
        const url = new URL(smtpUrl);
        secrets.push(url.password, decodeURIComponent(url.password), url.username, decodeURIComponent(url.username));
    }
    return secrets.filter(Boolean);
}

/** nodemailer's error as an answer: "EAUTH 535 5.7.8 Authentication failed", "ECONNECTION: connect ECONNREFUSED". */
function describeSmtpError(err: unknown): { answer: string; transient: boolean } {
    const e = err as { code?: string; responseCode?: number; response?: string; message?: string };
    const said = e.response ?? e.message ?? String(err);
    // "EAUTH 535: Authentication failed", or "EMESSAGE: 451 ..." where the reply already starts with its code.
    const code = e.responseCode && !said.startsWith(String(e.responseCode)) ? e.responseCode : undefined;
    const label = [e.code, code].filter(Boolean).join(" ");
    const answer = label ? `${label}: ${said}` : said;
    // 4xx SMTP replies and connection trouble may pass; 5xx replies (bad address, refused login) will not.
    const transient = e.responseCode === undefined ? true : e.responseCode < 500;
    return { answer: answer.replace(/\s+/g, " ").trim(), transient };
}

/**
 * Sends `message` through the server at `smtpUrl`. Resolves with the server's answer (`250 ...`); throws a
 * ChannelError naming the answer, never the URL, the user or the password.
 */
export async function sendEmail(smtpUrl: string, message: EmailMessage, timeoutMs?: number): Promise<string> {
    const secrets = smtpSecrets(smtpUrl);
    let options: SMTPTransport.Options;
    try {
        options = smtpOptions(smtpUrl, timeoutMs);
    } catch {
        throw new ChannelError("email", "no request: smtpUrl is not an smtp:// or smtps:// URL", false);
    }
    // Required here, not at the top: only the provider host that sends mail loads nodemailer.
    const nodemailer = require("nodemailer") as typeof import("nodemailer");
    const transport = nodemailer.createTransport(options);
    try {
        const info = await transport.sendMail({
            to: message.to,
            from: message.from,
            subject: message.subject,
            text: message.text,
            messageId: message.messageId,
            inReplyTo: message.inReplyTo,
            references: message.inReplyTo,
        });
        if (info.rejected.length > 0) {
            throw new ChannelError(
                "email",
                redact(`rejected ${info.rejected.join(", ")}: ${info.response}`, secrets),
                false,
            );
        }
        return redact(info.response, secrets);
    } catch (err) {
        if (err instanceof ChannelError) throw err;
        const { answer, transient } = describeSmtpError(err);
        throw new ChannelError("email", redact(answer, secrets), transient);
    } finally {
        transport.close();
    }
}
