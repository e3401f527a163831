// Real git repositories for tests: git run with a fixed identity, and a bare remote beside a working repository.
import { execFileSync } from "node:child_process";
import * as path from "node:path";

/** Runs git with a fixed identity and no user or system config, so the machine's settings cannot change the result. */
export function git(cwd: string, ...args: string[]): string {
    return execFileSync("git", args, {
        cwd,
        encoding: "utf8",
        env: {
            ...process.env,
            GIT_CONFIG_NOSYSTEM: "1",
            GIT_CONFIG_GLOBAL: "/dev/null",
            GIT_AUTHOR_NAME: "Ahoy Test",
            GIT_AUTHOR_EMAIL: "test@ahoy.example",
            GIT_COMMITTER_NAME: "Ahoy Test",
            GIT_COMMITTER_EMAIL: "test@ahoy.example",
        },
    }).trim();
}

/** Creates, in `dir`, a bare repository `ahoy.git` (the remote a pin resolves against) and an empty working one `work` to commit in and push from. */
export function initRepositories(dir: string): { remote: string; work: string } {
    const remote = path.join(dir, "ahoy.git");
    const work = path.join(dir, "work");
    git(dir, "init", "--bare", "--quiet", remote);
    git(dir, "init", "--quiet", work);
    return { remote, work };
}

/** Makes an empty commit in `work` with `message`; returns its SHA. */
export function commitEmpty(work: string, message: string): string {
    git(work, "commit", "--allow-empty", "--quiet", "-m", message);
    return git(work, "rev-parse", "HEAD");
}
