// Identifiers and timestamps in the shapes Render's API uses.
import { randomBytes } from "node:crypto";

// Render IDs are a prefix plus 20 characters of base32hex ([0-9a-v]).
const ID_ALPHABET = "0123456789abcdefghijklmnopqrstuv";

export function newId(prefix: "srv" | "dep" | "tea" | "usr" | "evg" | "evt" | "bld" | "dce"): string {
    const bytes = randomBytes(20);
    let suffix = "";
    for (const byte of bytes) suffix += ID_ALPHABET[byte % 32];
    return `${prefix}-${suffix}`;
}

/** An instance of a service as Render names them: the service id, a dash and 5 characters of [0-9a-z]. */
export function newInstanceId(serviceId: string): string {
    let suffix = "";
    for (const byte of randomBytes(5)) suffix += ID_ALPHABET[byte % 32];
    return `${serviceId}-${suffix}`;
}

/** A 40-hex-digit Git commit SHA. */
export function newSha(): string {
    return randomBytes(20).toString("hex");
}

/** RFC 3339 UTC, as Render writes it. */
export function iso(ms: number): string {
    return new Date(ms).toISOString();
}

/** RFC 3339 UTC with microseconds (`2025-01-13T16:48:10.460451Z`), as Render writes log timestamps. */
export function isoMicros(micros: number): string {
    const ms = Math.floor(micros / 1000);
    const seconds = new Date(ms).toISOString().slice(0, 19);
    const fraction = String(micros - Math.floor(ms / 1000) * 1_000_000).padStart(6, "0");
    return `${seconds}.${fraction}Z`;
}

/**
 * An RFC 3339 date-time (any number of fractional digits, `Z` or an offset) in microseconds since the epoch, or
 * undefined when it is not one. Date.parse keeps only milliseconds, which would lose the order of log lines.
 */
export function parseMicros(text: string): number | undefined {
    const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/i.exec(text);
    if (!match) return undefined;
    const whole = Date.parse(`${match[1]}${match[3].toUpperCase()}`);
    if (Number.isNaN(whole)) return undefined;
    const fraction = Number((match[2] ?? "").padEnd(6, "0").slice(0, 6));
    return whole * 1000 + fraction;
}

/** Opaque page cursors: the kind of list they belong to and the sequence number of the item they follow. */
export function encodeCursor(kind: string, seq: number): string {
    return Buffer.from(`${kind}:${seq}`).toString("base64url");
}

export function decodeCursor(kind: string, cursor: string): number | undefined {
    const match = /^([a-z]+):(\d+)$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
    if (!match || match[1] !== kind) return undefined;
    return Number(match[2]);
}
