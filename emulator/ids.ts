// Identifiers and timestamps in the shapes Render's API uses.
import { randomBytes } from "node:crypto";

// Render IDs are a prefix plus 20 characters of base32hex ([0-9a-v]).
const ID_ALPHABET = "0123456789abcdefghijklmnopqrstuv";

export function newId(prefix: "srv" | "dep" | "tea" | "usr" | "evg"): string {
    const bytes = randomBytes(20);
    let suffix = "";
    for (const byte of bytes) suffix += ID_ALPHABET[byte % 32];
    return `${prefix}-${suffix}`;
}

/** A 40-hex-digit Git commit SHA. */
export function newSha(): string {
    return randomBytes(20).toString("hex");
}

/** RFC 3339 UTC, as Render writes it. */
export function iso(ms: number): string {
    return new Date(ms).toISOString();
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
