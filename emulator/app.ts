// A stand-in for the Ahoy app on its own port: it answers as the LIVE deploy's commit and variables say it would.
import { IncomingMessage, Server, ServerResponse } from "node:http";
import { closeServer, createLocalServer, listenLocal, readBody } from "./http";
import { RenderState } from "./state";

/** Where direct media lives in the stand-in app: any path below it is a media file. */
export const MEDIA_PREFIX = "/media/";

/**
 * The endpoints the runbook's checks ask, and nothing else:
 * - GET /healthz: 200, or 500 when the live commit was pushed as bad (503 before anything is live);
 * - POST /api/auth/register: 503 while DISABLE_SIGNUP is "true"; otherwise 400 without an email, 201 with one;
 * - GET /media/...: 403 while BLOCK_DIRECT_MEDIA is "true", otherwise 200.
 * A variable only counts once a deploy carrying it is live, as on Render.
 */
export class AhoyApp {
    private readonly server: Server;

    constructor(
        private readonly state: RenderState,
        private readonly serviceId: string,
    ) {
        this.server = createLocalServer("ahoy stand-in app", { error: "stand-in app error" }, (req, res) =>
            this.handle(req, res),
        );
    }

    listen(port: number): Promise<number> {
        return listenLocal(this.server, port);
    }

    close(): Promise<void> {
        return closeServer(this.server);
    }

    private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
        const method = (req.method ?? "GET").toUpperCase();
        const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
        const body = await readBody(req);
        const live = this.state.liveDeploy(this.serviceId);
        const env = this.state.liveEnv(this.serviceId);
        const send = (status: number, payload: Record<string, unknown>): void => {
            const text = JSON.stringify(payload);
            res.writeHead(status, {
                "Content-Type": "application/json; charset=utf-8",
                "Content-Length": String(Buffer.byteLength(text)),
            });
            res.end(text);
        };

        if (!live) return send(503, { error: "no deploy is live" });
        if (method === "GET" && path === "/healthz") {
            return this.state.isBad(live.commit.id)
                ? send(500, { status: "error", commit: live.commit.id })
                : send(200, { status: "ok", commit: live.commit.id });
        }
        if (method === "POST" && path === "/api/auth/register") {
            if (env.DISABLE_SIGNUP === "true") return send(503, { error: "signups are disabled" });
            let email: unknown;
            try {
                email = (JSON.parse(body) as { email?: unknown }).email;
            } catch {
                email = undefined;
            }
            return typeof email === "string" && email !== ""
                ? send(201, { created: email })
                : send(400, { error: "email is required" });
        }
        if (method === "GET" && path.startsWith(MEDIA_PREFIX)) {
            return env.BLOCK_DIRECT_MEDIA === "true"
                ? send(403, { error: "direct media access is blocked" })
                : send(200, { media: path });
        }
        return send(404, { error: `no route ${method} ${path}` });
    }
}
