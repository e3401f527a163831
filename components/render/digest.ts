// The trigger digest of a service's managed variables: it changes exactly when a managed key or value does.
import { createHash } from "node:crypto";

/**
 * Pure: the sha256 hex digest of a set of managed variables, keys sorted so declaration order does not matter.
 * A key whose value is absent (`undefined`) still counts, so removing a variable changes the digest just as setting
 * one does. The entries are JSON-encoded, which keeps keys and values delimited: no two different sets encode alike.
 * The digest shows no value, but a short or guessable value could be found by trying candidates against it: a digest
 * over a guessable secret must stay a secret. Release shows its digest (the preview must say a deploy follows) because
 * its secrets are 256-bit random keys and generated passwords, which no amount of trying recovers.
 */
export function variablesDigest(vars: Record<string, string | undefined>): string {
    const entries = Object.keys(vars)
        .sort()
        .map((key) => [key, vars[key] ?? null]);
    return createHash("sha256").update(JSON.stringify(entries)).digest("hex");
}
