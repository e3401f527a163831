// The HTTP plumbing the emulator's servers share: a server on 127.0.0.1 that always answers, and closing it at once.
import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";

/**
 * A server handing each request to `handle`. Only a bug in the handler lands in the fallback: `label` names the
 * server in the log, and the request still gets an answer, 500 with `errorBody` as JSON.
 */
export function createLocalServer(
    label: string,
    errorBody: Record<string, string>,
    handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Server {
    return createServer((req, res) => {
        handle(req, res).catch((error: unknown) => {
            console.error(`${label}: unexpected error`, error);
            if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/json" });
            res.end(JSON.stringify(errorBody));
        });
    });
}

/** Listens on 127.0.0.1:`port` (0: a free port); returns the port. */
export async function listenLocal(server: Server, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve());
    });
    return (server.address() as AddressInfo).port;
}

/** Stops listening and drops every open connection, keep-alive ones included, then waits for the server to close. */
export async function closeServer(server: Server): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
}

/** The request body as text. */
export function readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        req.on("error", reject);
    });
}
