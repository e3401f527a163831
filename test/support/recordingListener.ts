// An HTTP listener on 127.0.0.1 that answers everything with 200 and records every request it receives: where a test
// proves that a credential was never sent, this is where it would have arrived.
import * as http from "node:http";
import { closeServer, listenLocal } from "../../emulator/http";

/** One request as it arrived. */
export interface Received {
    readonly method: string;
    readonly url: string;
    readonly headers: http.IncomingHttpHeaders;
    readonly body: string;
}

export interface RecordingListener {
    readonly port: number;
    /** Everything received so far, in order. */
    received(): readonly Received[];
    close(): Promise<void>;
}

export async function startRecordingListener(): Promise<RecordingListener> {
    const received: Received[] = [];
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => {
            received.push({
                method: req.method ?? "",
                url: req.url ?? "",
                headers: req.headers,
                body: Buffer.concat(chunks).toString("utf8"),
            });
            res.writeHead(200, { "Content-Type": "application/json" });
            res.end("[]");
        });
    });
    const port = await listenLocal(server, 0);
    return { port, received: () => [...received], close: () => closeServer(server) };
}
