// Resolves a git tag or branch to the commit it names, with `git ls-remote` against the service's repository.
//
// The Deploy provider's `check` resolves a release pin with it; the stack config validates the repository address with
// `repositoryProblem`, and the release-pin rules (deployDecision.ts) tell a SHA from a ref name with the checks here.
import { execFile } from "node:child_process";

/** How long `git ls-remote` may take before the resolution fails; a preview must not hang on an unreachable host. */
const LS_REMOTE_TIMEOUT_MS = 30_000;

/** A commit given by its SHA (7 to 40 hex digits), which needs no lookup. A tag named like one reads as a SHA. */
export function isCommitSha(value: string): boolean {
    return /^[0-9a-f]{7,40}$/i.test(value);
}

/**
 * Why `ref` is not a name git accepts for a tag or branch (git check-ref-format's rules), or undefined when it is.
 * A leading "-" is refused as well, so the name can never be read by git as an option.
 */
export function gitRefProblem(ref: string): string | undefined {
    const why = (reason: string) => `${JSON.stringify(ref)} is not a git tag or branch name: ${reason}`;
    if (ref === "") return why("it is empty");
    if (ref.startsWith("-")) return why('it starts with "-"');
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x20\x7f~^:?*[\\]/.test(ref))
        return why("it contains a space, a control character or one of ~ ^ : ? * [ \\");
    if (ref.includes("..")) return why('it contains ".."');
    if (ref.includes("@{") || ref === "@") return why('it contains "@{" or is "@"');
    if (ref.includes("//") || ref.startsWith("/") || ref.endsWith("/"))
        return why('it has an empty path component ("/" at an end or "//")');
    if (ref.endsWith(".") || ref.split("/").some((part) => part.startsWith(".") || part.endsWith(".lock"))) {
        return why('a component starts with "." or ends with ".lock", or the name ends with "."');
    }
    return undefined;
}

/**
 * Why `repository` cannot be handed to `git ls-remote`, or undefined when it can: an https/http/ssh/git/file URL,
 * an scp-like `git@host:owner/repo`, or an absolute local path. Credentials inside the URL are refused, because
 * they would sit on a command line where any process on the machine can read them.
 */
export function repositoryProblem(repository: string): string | undefined {
    const expected = "expected an https://, ssh://, git:// or file:// URL, git@host:owner/repo, or an absolute path";
    if (repository === "" || repository.startsWith("-") || /\s/.test(repository)) {
        return `repository ${JSON.stringify(repository)} is not a git repository address; ${expected}`;
    }
    if (repository.startsWith("/")) return undefined;
    if (/^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/]/.test(repository)) return undefined;
    let url: URL;
    try {
        url = new URL(repository);
    } catch {
        return `repository ${JSON.stringify(repository)} is not a git repository address; ${expected}`;
    }
    if (!["https:", "http:", "ssh:", "git:", "file:"].includes(url.protocol)) {
        // Not echoed: an unknown scheme may still carry credentials.
        return `repository uses the scheme ${url.protocol}, which is not allowed; ${expected}`;
    }
    // Over http(s) a user name alone can be a token (GitHub takes one there); over ssh it is the login, e.g. git@.
    if (url.password !== "" || ((url.protocol === "https:" || url.protocol === "http:") && url.username !== "")) {
        return (
            `repository ${url.protocol}//${url.host}${url.pathname} carries credentials in its URL, which would be ` +
            `visible on git's command line; give the URL without them and let a git credential helper or SSH key authenticate`
        );
    }
    return undefined;
}

/** A ref resolved to the commit it points at. */
export interface ResolvedRef {
    /** The full 40-hex commit SHA (or the SHA as given, when a SHA was given). */
    readonly commitId: string;
    /** Where the commit came from: `refs/tags/v0.1.0`, `refs/heads/main`, or the SHA itself. */
    readonly ref: string;
}

/**
 * The commit `ref` names in `repository`. A SHA (7-40 hex) is returned as is, without running git. Otherwise the
 * tag of that name wins over a branch of that name; an annotated tag is peeled to the commit it tags (a tag object's
 * own id is not a commit Render can deploy). Fails naming the ref when the repository has neither.
 *
 * git runs through execFile, not a shell, with "--" before the repository, no terminal prompt, and a timeout.
 */
export async function resolveGitRef(
    repository: string,
    ref: string,
    timeoutMs = LS_REMOTE_TIMEOUT_MS,
): Promise<ResolvedRef> {
    if (isCommitSha(ref)) return { commitId: ref.toLowerCase(), ref };
    const refProblem = gitRefProblem(ref);
    if (refProblem) throw new Error(refProblem);
    const repoProblem = repositoryProblem(repository);
    if (repoProblem) throw new Error(repoProblem);

    const tag = `refs/tags/${ref}`;
    const branch = `refs/heads/${ref}`;
    const args = ["ls-remote", "--", repository, tag, `${tag}^{}`, branch];
    const stdout = await new Promise<string>((resolve, reject) => {
        execFile(
            "git",
            args,
            {
                timeout: timeoutMs,
                maxBuffer: 1024 * 1024,
                // No prompt for credentials: a preview has no one to answer it, and would hang instead of failing.
                env: { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: "", SSH_ASKPASS: "" },
            },
            (err, out, errOut) => {
                if (err) {
                    const reason =
                        (err as NodeJS.ErrnoException).code === "ENOENT"
                            ? "git is not installed (or not on PATH)"
                            : err.killed
                              ? `no answer within ${Math.round(timeoutMs / 1000)} s`
                              : (gitReason(String(errOut)) ?? err.message);
                    reject(
                        new Error(
                            `cannot resolve ${JSON.stringify(ref)}: git ls-remote ${repository} failed: ${reason}`,
                        ),
                    );
                } else {
                    resolve(String(out));
                }
            },
        );
    });

    const found = new Map<string, string>();
    for (const line of stdout.split("\n")) {
        const [sha, name] = line.trim().split(/\s+/);
        if (sha && name) found.set(name, sha.toLowerCase());
    }
    const peeled = found.get(`${tag}^{}`);
    if (peeled) return { commitId: peeled, ref: tag };
    const lightweight = found.get(tag);
    if (lightweight) return { commitId: lightweight, ref: tag };
    const head = found.get(branch);
    if (head) return { commitId: head, ref: branch };
    throw new Error(
        `cannot resolve ${JSON.stringify(ref)}: ${repository} has no tag or branch of that name; ` +
            `check the name (git ls-remote --tags ${repository}), or pin a deploy id (dep-...) or a commit SHA instead`,
    );
}

/** git's own reason from its stderr: the first "fatal:" line (later lines are generic advice), else the last line. */
function gitReason(stderr: string): string | undefined {
    const lines = stderr
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean);
    return lines.find((line) => line.startsWith("fatal:")) ?? lines.pop();
}
