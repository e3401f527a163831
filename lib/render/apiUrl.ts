// Where the Render API key may be sent: Render's API, or an emulator on this machine's loopback, and nowhere else.
//
// The stack config refuses any other renderApiUrl before anything is declared, the dynamic providers' `check` refuses
// one handed over by a state or an older program, and the client refuses to be built for one, so no request carrying
// the key (`Authorization: Bearer ...`) can leave for another host.
import { isLoopbackHost } from "../ip";

/** Render's public API, the only remote address the key goes to. */
export const RENDER_API_URL = "https://api.render.com/v1";

/** The form a renderApiUrl must take, as messages state it. */
export const RENDER_API_URL_EXPECTED =
    `${RENDER_API_URL}, or an http(s) URL on a loopback address (127.0.0.0/8, [::1] or localhost) for the emulator, ` +
    "without a user, password, query or fragment";

/** The command that puts the setting back to Render's API. */
const FIX = "`pulumi config rm renderApiUrl` (Render's API is the default)";

/**
 * Why the Render API key must not be sent to `raw`, or undefined when it may. Never quotes a user, password, query or
 * fragment the URL carries (they may be credentials).
 */
export function renderApiUrlProblem(raw: string): string | undefined {
    let url: URL;
    try {
        url = new URL(raw);
    } catch {
        return `is not a URL; expected ${RENDER_API_URL_EXPECTED}: ${FIX}`;
    }
    if (url.username || url.password) {
        return `carries a user or password, which would sit in the state and the preview; expected ${RENDER_API_URL_EXPECTED}: ${FIX}`;
    }
    // A lone "?" or "#" leaves search and hash empty, so the text is checked too.
    if (url.search || url.hash || /[?#]/.test(raw)) {
        return `has a query or fragment; expected ${RENDER_API_URL_EXPECTED}: ${FIX}`;
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
        return `is not an http(s) URL; expected ${RENDER_API_URL_EXPECTED}: ${FIX}`;
    }
    if (isLoopbackHost(url.hostname)) return undefined;
    if (url.hostname === "api.render.com") {
        if (url.protocol === "https:" && url.port === "" && /^\/v1\/*$/.test(url.pathname)) return undefined;
        return `is not Render's API as Render serves it (${RENDER_API_URL}, over https); ${FIX}`;
    }
    return (
        `would send the Render API key to ${url.hostname}, which is neither Render's API nor a loopback address; ` +
        `expected ${RENDER_API_URL_EXPECTED}: ${FIX}`
    );
}

/** The URL as the client uses it: without trailing slashes. */
export function normalRenderApiUrl(raw: string): string {
    return raw.replace(/\/+$/, "");
}
