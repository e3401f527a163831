// The release pin's grammar: a deploy id, a commit SHA or a git tag. Pure, and below both the stack config (which refuses
// a malformed pin before anything is declared) and the Deploy provider (which resolves and acts on it).
import { gitRefProblem, isCommitSha } from "./gitRef";

/** A release pin as configured: a deploy id, a commit SHA, or a git tag (or branch) still to be resolved. */
export type ReleasePin =
    | { readonly kind: "deploy"; readonly deployId: string }
    | { readonly kind: "commit"; readonly commitId: string }
    | { readonly kind: "ref"; readonly ref: string };

/** What a release pin must look like, as error messages state it. */
export const RELEASE_PIN_EXPECTED =
    "a deploy id (dep- and 20 characters of 0-9a-v), a commit SHA (7 to 40 hex digits) or a git tag such as v0.1.0";

/** Why `raw` is not a release pin, or undefined when it is one. */
export function releasePinProblem(raw: string): string | undefined {
    if (raw.startsWith("dep-")) {
        return /^dep-[0-9a-v]{20}$/.test(raw)
            ? undefined
            : `${JSON.stringify(raw)} starts like a deploy id but is not one; expected ${RELEASE_PIN_EXPECTED}`;
    }
    if (isCommitSha(raw)) return undefined;
    const refProblem = gitRefProblem(raw);
    return refProblem ? `${refProblem}; expected ${RELEASE_PIN_EXPECTED}` : undefined;
}

/** The kind of pin `raw` is; throws naming the problem when it is none. */
export function parseReleasePin(raw: string): ReleasePin {
    const problem = releasePinProblem(raw);
    if (problem) throw new Error(`releasePin: ${problem}`);
    if (raw.startsWith("dep-")) return { kind: "deploy", deployId: raw };
    if (isCommitSha(raw)) return { kind: "commit", commitId: raw.toLowerCase() };
    return { kind: "ref", ref: raw };
}
