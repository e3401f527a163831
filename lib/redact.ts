// The one redaction the program uses: a secret hidden from text bound for an error, a log line, an output or the state,
// in every encoding the program can know it was written in, and wherever only a part of it is quoted. Pure.

/** Overlaps shorter than this are not taken for a quoted secret: 4 characters of a random secret are not English. */
export const MIN_SECRET_OVERLAP = 4;

/** What a hidden run of text becomes. */
export const REDACTED = "[redacted]";

/** `text` percent-encoded as RFC 3986's strictest form: every character but A-Z a-z 0-9 - . _ ~ (DATABASE_URL's). */
function encodeStrict(text: string): string {
    return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `text` decoded once as a URL component (`+` left as it is), or undefined when it is not valid percent-encoding. */
function decodeOnce(text: string): string | undefined {
    try {
        return decodeURIComponent(text);
    } catch {
        return undefined;
    }
}

/**
 * The base64 characters that depend on the text's bytes alone: encoded on its own (padding included), and wherever in a
 * longer base64 text the bytes sit: inside `user:secret` encoded as a whole they start at any of three byte offsets of
 * a 3-byte group, and the characters they share with their neighbours' bits are left out (not theirs to hide).
 */
function base64Forms(bytes: Buffer): string[] {
    const forms: string[] = [bytes.toString("base64"), bytes.toString("base64url")];
    for (let offset = 0; offset < 3; offset++) {
        const encoded = Buffer.concat([Buffer.alloc(offset), bytes])
            .toString("base64")
            .replace(/=+$/, "");
        const form = encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6));
        forms.push(form, form.replace(/\+/g, "-").replace(/\//g, "_"));
    }
    return forms;
}

/** `text` in every encoding a message may carry it in (see secretForms). */
function encodedForms(text: string): string[] {
    const encoded = encodeURIComponent(text);
    const strict = encodeStrict(text);
    const lowerHex = (form: string) => form.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
    return [
        text,
        encoded,
        strict,
        lowerHex(encoded),
        lowerHex(strict),
        new URLSearchParams({ v: text }).toString().slice(2),
        JSON.stringify(text).slice(1, -1),
        ...base64Forms(Buffer.from(text, "utf8")),
    ];
}

/** The texts a secret stands for: itself, URL-decoded (once, and with `+` as a space), and a base64 one's other alphabet. */
function decodings(secret: string): Set<string> {
    const texts = new Set([secret]);
    for (const decoded of [decodeOnce(secret), decodeOnce(secret.replace(/\+/g, " "))]) {
        if (decoded !== undefined) texts.add(decoded);
    }
    // A base64 secret (SECRET_KEY is base64url, from random bytes the state holds as standard base64).
    if (/^[A-Za-z0-9+/_-]+=*$/.test(secret)) {
        texts.add(secret.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""));
        const standard = secret.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
        texts.add(standard.padEnd(Math.ceil(standard.length / 4) * 4, "="));
    }
    return texts;
}

/** A URL part that is a credential rather than a name: 12 or more characters of at least two of a-z, A-Z and 0-9. */
function looksLikeToken(part: string): boolean {
    const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((c) => c.test(part)).length;
    return part.length >= 12 && classes >= 2;
}

/**
 * The random parts of a secret, hidden wherever 4 or more of their characters are quoted: a URL's password and any
 * token in its path or query (a Slack webhook's); any other secret whole. A URL's scheme, host, user, database and
 * `application_name` are names the messages need ("ahoy-indie-media"): they go only as part of the whole URL.
 */
export function secretCores(secret: string): string[] {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(secret) || !URL.canParse(secret)) return [secret];
    const url = new URL(secret);
    const parts = [url.password, ...url.pathname.split("/"), ...[...url.searchParams.values()]]
        .map((part) => decodeOnce(part) ?? part)
        .filter((part, i) => (i === 0 ? part !== "" : looksLikeToken(part)));
    return [...new Set(parts)];
}

/**
 * Every form in which `secret` may be written by the program or by what it talks to: as is; URL-encoded (JavaScript's
 * encodeURIComponent, RFC 3986's strict form, form encoding, lower-case hex digits); URL-decoded (a URL whose password
 * is percent-encoded quotes it decoded); a base64 secret in the other base64 alphabet; JSON-escaped; base64 and
 * base64url of each, on its own and inside a longer text.
 */
export function secretForms(secret: string): string[] {
    return [...new Set([...decodings(secret)].flatMap(encodedForms))].filter((form) => form !== "");
}

/** What hides one secret: its whole forms, and the runs of MIN_SECRET_OVERLAP characters of its cores' forms. */
interface Hider {
    readonly whole: string[];
    readonly overlaps: Array<{ width: number; windows: Set<string> }>;
}

function hiderOf(secret: string): Hider {
    const cached = hiderCache.get(secret);
    if (cached) return cached;
    const overlaps: Hider["overlaps"] = [];
    for (const core of secretCores(secret)) {
        for (const form of secretForms(core)) {
            // A base64 form of a short secret can be a character or two: hiding those would hide unrelated text.
            if (form !== core && form.length < MIN_SECRET_OVERLAP) continue;
            const width = Math.min(MIN_SECRET_OVERLAP, form.length);
            const windows = new Set<string>();
            for (let i = 0; i + width <= form.length; i++) windows.add(form.slice(i, i + width));
            overlaps.push({ width, windows });
        }
    }
    const hider = { whole: secretForms(secret).filter((form) => form.length >= MIN_SECRET_OVERLAP), overlaps };
    // The same few secrets are redacted from every line of a run: worked out once each, within a small bound.
    if (hiderCache.size >= 64) hiderCache.clear();
    hiderCache.set(secret, hider);
    return hider;
}
const hiderCache = new Map<string, Hider>();

/**
 * `text` with each secret hidden ("[redacted]"): any of its forms (secretForms) quoted whole, and any run of 4 or more
 * characters (or a whole one shorter than that) shared with a form of its random parts (secretCores): a message may
 * quote part of a value (`invalid value: pw4w…`), or quote it decoded where the program sent it encoded. It errs
 * towards hiding too much.
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
    const hidden = new Array<boolean>(text.length).fill(false);
    for (const secret of secrets) {
        if (!secret) continue;
        const { whole, overlaps } = hiderOf(secret);
        for (const form of whole) {
            for (let at = text.indexOf(form); at >= 0; at = text.indexOf(form, at + 1)) {
                hidden.fill(true, at, at + form.length);
            }
        }
        for (const { width, windows } of overlaps) {
            // A common run of length L >= width is made of windows of that width that all occur in the form.
            for (let i = 0; i + width <= text.length; i++) {
                if (windows.has(text.slice(i, i + width))) hidden.fill(true, i, i + width);
            }
        }
    }
    let out = "";
    for (let i = 0; i < text.length; i++) {
        if (!hidden[i]) out += text[i];
        else if (i === 0 || !hidden[i - 1]) out += REDACTED;
    }
    return out;
}
