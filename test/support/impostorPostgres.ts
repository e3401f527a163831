// A listener that poses as a PostgreSQL server on 127.0.0.1: it accepts the client's SSLRequest, completes TLS with the
// certificate it is given when the client lets it, asks for the password in clear text (AuthenticationCleartextPassword,
// which node-postgres and libpq answer) and records everything: the bytes before TLS as they crossed the wire, and after
// the handshake the bytes the client sent through it, decrypted. Where a test proves the admin password never reached
// someone posing as the database, this is who would have received it.
import * as net from "node:net";
import * as fs from "node:fs";
import * as tls from "node:tls";

/** The SSLRequest message: length 8 and the code 80877103. */
export const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** What one client connection sent. */
export interface ImpostorSession {
    /** Every byte received before TLS began (or over the whole connection, without TLS). */
    readonly beforeTls: Buffer;
    /** Whether the client completed the TLS handshake (accepted the certificate). */
    readonly handshake: boolean;
    /** Every byte the client sent through TLS, decrypted. */
    readonly decrypted: Buffer;
}

export interface ImpostorPostgres {
    readonly port: number;
    /** Every connection so far, in order. */
    sessions(): readonly ImpostorSession[];
    close(): Promise<void>;
}

/** Starts the impostor presenting `certificate` over TLS. */
export async function startImpostorPostgres(certificate: {
    certFile: string;
    keyFile: string;
}): Promise<ImpostorPostgres> {
    const key = fs.readFileSync(certificate.keyFile);
    const cert = fs.readFileSync(certificate.certFile);
    const sessions: Array<{ beforeTls: Buffer; handshake: boolean; decrypted: Buffer }> = [];
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        socket.on("error", () => undefined);
        const session = { beforeTls: Buffer.alloc(0), handshake: false, decrypted: Buffer.alloc(0) };
        sessions.push(session);
        const onPlain = (chunk: Buffer) => {
            session.beforeTls = Buffer.concat([session.beforeTls, chunk]);
            if (session.beforeTls.length < SSL_REQUEST.length) return;
            if (!session.beforeTls.subarray(0, SSL_REQUEST.length).equals(SSL_REQUEST)) {
                // A client without TLS: its startup message and anything after stay recorded in beforeTls.
                askPassword(socket, session.beforeTls);
                return;
            }
            socket.removeListener("data", onPlain);
            socket.write("S");
            const secure = new tls.TLSSocket(socket, { isServer: true, key, cert });
            secure.on("error", () => undefined);
            secure.on("secure", () => {
                session.handshake = true;
            });
            secure.on("data", (data: Buffer) => {
                session.decrypted = Buffer.concat([session.decrypted, data]);
                askPassword(secure, session.decrypted);
            });
        };
        socket.on("data", onPlain);
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as net.AddressInfo;
    return {
        port,
        sessions: () => sessions.map((s) => ({ ...s })),
        close: () =>
            new Promise<void>((resolve) => {
                for (const socket of sockets) socket.destroy();
                server.close(() => resolve());
            }),
    };
}

/**
 * Answers a complete startup message (protocol 3.0: its length, then 196608) with AuthenticationCleartextPassword,
 * and a password message after it with an error, so the client gives up having sent what it would send.
 */
function askPassword(socket: net.Socket | tls.TLSSocket, received: Buffer): void {
    const startupLength = received.length >= 8 ? received.readInt32BE(0) : Infinity;
    if (received.length === startupLength && received.readInt32BE(4) === 196608) {
        socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
    } else if (received.length > startupLength && received[startupLength] === 0x70) {
        const message = "impostor: not a real server";
        const body = Buffer.concat([Buffer.from(`SFATAL\0C28000\0M${message}\0\0`)]);
        const header = Buffer.alloc(5);
        header.write("E", 0);
        header.writeInt32BE(body.length + 4, 1);
        socket.end(Buffer.concat([header, body]));
    }
}
