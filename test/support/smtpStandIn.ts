// An SMTP server on 127.0.0.1 (the smtp-server package) that demands a login and keeps each message it takes, decoded:
// the email channel's counterpart to the Slack and PagerDuty stand-ins.
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

/** A message the server took. */
export interface Mail {
    readonly from: string;
    readonly to: string[];
    /** Header names lower-cased, values unfolded and decoded (RFC 2047). */
    readonly headers: Record<string, string>;
    readonly subject: string;
    /** The body, its transfer encoding undone. */
    readonly text: string;
}

export interface SmtpStandIn {
    /** smtp://<user>:<password>@127.0.0.1:<port>, a secret as a real one is. */
    readonly url: string;
    readonly user: string;
    readonly password: string;
    readonly mails: Mail[];
    /** Logins refused (wrong user or password). */
    readonly refusedLogins: number;
    /** Answer the next `times` messages with a temporary failure (451), as a server in trouble does. */
    failNext(times?: number): void;
    close(): Promise<void>;
}

/** `=?UTF-8?B?...?=` and `=?UTF-8?Q?...?=` words decoded. */
function decodeWords(value: string): string {
    return value
        .replace(/\?=\s+=\?/g, "?==?")
        .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_m, _charset: string, encoding: string, data: string) =>
            encoding.toUpperCase() === "B"
                ? Buffer.from(data, "base64").toString("utf8")
                : Buffer.from(
                      data
                          .replace(/_/g, " ")
                          .replace(/=([0-9A-Fa-f]{2})/g, (_h, hex: string) => String.fromCharCode(parseInt(hex, 16))),
                      "latin1",
                  ).toString("utf8"),
        );
}

function decodeBody(body: string, encoding: string | undefined): string {
    switch ((encoding ?? "7bit").toLowerCase()) {
        case "base64":
            return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
        case "quoted-printable":
            return Buffer.from(
                body
                    .replace(/=\r?\n/g, "")
                    .replace(/=([0-9A-Fa-f]{2})/g, (_h, hex: string) => String.fromCharCode(parseInt(hex, 16))),
                "latin1",
            ).toString("utf8");
        default:
            return body;
    }
}

/** A raw message split into decoded headers and body (a single-part text message, as the email channel sends). */
export function parseMail(raw: string, from: string, to: string[]): Mail {
    const split = raw.indexOf("\r\n\r\n");
    const head = split < 0 ? raw : raw.slice(0, split);
    const body = split < 0 ? "" : raw.slice(split + 4);
    const headers: Record<string, string> = {};
    for (const line of head.replace(/\r\n[ \t]+/g, " ").split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = decodeWords(line.slice(colon + 1).trim());
    }
    const text = decodeBody(body, headers["content-transfer-encoding"]).replace(/\r\n/g, "\n").replace(/\n$/, "");
    return { from, to, headers, subject: headers.subject ?? "", text };
}

/** Starts the server; it takes mail only after a login with its user and password. */
export async function startSmtpStandIn(): Promise<SmtpStandIn> {
    const user = "ahoy-mailer";
    const password = `pw-${randomBytes(9).toString("hex")}`;
    const mails: Mail[] = [];
    let refusedLogins = 0;
    let failures = 0;
    const server = new SMTPServer({
        // Plain SMTP on loopback: the sender requires TLS anywhere but on this machine.
        disabledCommands: ["STARTTLS"],
        allowInsecureAuth: true,
        authMethods: ["PLAIN", "LOGIN"],
        logger: false,
        onAuth(auth, _session, callback) {
            if (auth.username === user && auth.password === password) return callback(null, { user });
            refusedLogins++;
            return callback(Object.assign(new Error("Authentication credentials invalid"), { responseCode: 535 }));
        },
        onData(stream, session, callback) {
            const chunks: Buffer[] = [];
            stream.on("data", (chunk: Buffer) => chunks.push(chunk));
            stream.on("end", () => {
                if (failures > 0) {
                    failures--;
                    return callback(
                        Object.assign(new Error("Requested action aborted: local error in processing"), {
                            responseCode: 451,
                        }),
                    );
                }
                const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
                mails.push(
                    parseMail(
                        Buffer.concat(chunks).toString("utf8"),
                        from,
                        session.envelope.rcptTo.map((r) => r.address),
                    ),
                );
                callback(null, "Message queued as " + randomBytes(4).toString("hex"));
            });
        },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const { port } = server.server.address() as AddressInfo;
    return {
        url: `smtp://${user}:${password}@127.0.0.1:${port}`,
        user,
        password,
        mails,
        get refusedLogins() {
            return refusedLogins;
        },
        failNext(times = 1) {
            failures = times;
        },
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}
