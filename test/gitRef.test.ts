// resolveGitRef against a real bare repository made in a temp dir: tags (light and annotated), branches, SHAs, failures.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gitRefProblem, isCommitSha, repositoryProblem, resolveGitRef } from "../lib/gitRef";
import { commitEmpty, git, initRepositories } from "./support/git";

describe("resolveGitRef", () => {
    let dir: string;
    let remote: string;
    let first: string;
    let second: string;
    let annotatedTagObject: string;

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ahoy-gitref-"));
        const repositories = initRepositories(dir);
        remote = repositories.remote;
        const work = repositories.work;
        first = commitEmpty(work, "v0.1.0: the last good release");
        git(work, "tag", "v0.1.0");
        second = commitEmpty(work, "v0.2.0");
        git(work, "tag", "-a", "-m", "annotated release", "v0.2.0");
        annotatedTagObject = git(work, "rev-parse", "v0.2.0");
        git(work, "branch", "-M", "main");
        // A branch named like a tag, pointing elsewhere: the tag must win.
        git(work, "branch", "v0.1.0-hotfix", first);
        git(work, "branch", "shadow", second);
        git(work, "tag", "shadow", first);
        git(
            work,
            "push",
            "--quiet",
            remote,
            "refs/heads/main",
            "refs/heads/v0.1.0-hotfix",
            "refs/heads/shadow",
            "--tags",
        );
    });

    after(() => {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("resolves a lightweight tag to its commit", async () => {
        assert.deepEqual(await resolveGitRef(remote, "v0.1.0"), { commitId: first, ref: "refs/tags/v0.1.0" });
    });

    it("peels an annotated tag to the commit it tags, not the tag object's id", async () => {
        const resolved = await resolveGitRef(remote, "v0.2.0");
        assert.notEqual(annotatedTagObject, second, "the fixture's tag is annotated");
        assert.deepEqual(resolved, { commitId: second, ref: "refs/tags/v0.2.0" });
    });

    it("accepts the repository as a file:// URL", async () => {
        assert.equal((await resolveGitRef(`file://${remote}`, "v0.1.0")).commitId, first);
    });

    it("resolves a branch to its head", async () => {
        assert.deepEqual(await resolveGitRef(remote, "main"), { commitId: second, ref: "refs/heads/main" });
        assert.deepEqual(await resolveGitRef(remote, "v0.1.0-hotfix"), {
            commitId: first,
            ref: "refs/heads/v0.1.0-hotfix",
        });
    });

    it("prefers a tag over a branch of the same name", async () => {
        assert.deepEqual(await resolveGitRef(remote, "shadow"), { commitId: first, ref: "refs/tags/shadow" });
    });

    it("returns a SHA as given (lower-cased) without asking the repository", async () => {
        assert.deepEqual(await resolveGitRef("/no/such/repository", "ABCDEF1"), {
            commitId: "abcdef1",
            ref: "ABCDEF1",
        });
        assert.deepEqual(await resolveGitRef("/no/such/repository", first), { commitId: first, ref: first });
    });

    it("fails naming a tag the repository does not have, and what to try", async () => {
        await assert.rejects(
            resolveGitRef(remote, "v9.9.9"),
            (err: Error) =>
                err.message.includes(`cannot resolve "v9.9.9": ${remote} has no tag or branch of that name`) &&
                err.message.includes("pin a deploy id (dep-...) or a commit SHA instead"),
        );
    });

    it("fails naming the tag and git's reason when the repository cannot be read", async () => {
        const missing = path.join(dir, "missing.git");
        await assert.rejects(resolveGitRef(missing, "v0.1.0"), (err: Error) => {
            assert.match(
                err.message,
                new RegExp(
                    `^cannot resolve "v0\\.1\\.0": git ls-remote ${missing.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} failed: fatal: .*does not appear to be a git repository`,
                ),
            );
            return true;
        });
    });

    it("never hands git a ref or repository it could read as an option", async () => {
        await assert.rejects(resolveGitRef(remote, "--upload-pack=touch /tmp/x"), /starts with "-"/);
        await assert.rejects(resolveGitRef("--upload-pack=touch /tmp/x", "v0.1.0"), /is not a git repository address/);
    });

    it("refuses credentials in the repository URL without repeating them", async () => {
        await assert.rejects(resolveGitRef("https://ghp_SECRET@github.com/ahoy/app.git", "v0.1.0"), (err: Error) => {
            assert.doesNotMatch(err.message, /ghp_SECRET/);
            assert.match(err.message, /carries credentials in its URL.*git credential helper or SSH key/);
            return true;
        });
        await assert.rejects(
            resolveGitRef("https://user:hunter2@github.com/ahoy/app.git", "v0.1.0"),
            (err: Error) => !err.message.includes("hunter2"),
        );
    });
});

describe("git ref and repository validation", () => {
    it("isCommitSha takes 7 to 40 hex digits only", () => {
        assert.ok(isCommitSha("abcdef1"));
        assert.ok(isCommitSha("a".repeat(40)));
        assert.ok(!isCommitSha("abcdef"));
        assert.ok(!isCommitSha("a".repeat(41)));
        assert.ok(!isCommitSha("v0.1.0"));
    });

    it("gitRefProblem accepts release names and refuses what git's ref rules refuse", () => {
        for (const ok of ["v0.1.0", "release/2025-06", "v1.0.0-rc.1", "hotfix_1"])
            assert.equal(gitRefProblem(ok), undefined, ok);
        for (const bad of [
            "-x",
            "a..b",
            "a b",
            "a~1",
            "a:b",
            "a?",
            "a*",
            "a[",
            "a\\b",
            "a@{1}",
            "@",
            "/a",
            "a/",
            "a//b",
            "a.",
            ".a",
            "a/.b",
            "a.lock",
        ]) {
            assert.ok(gitRefProblem(bad), `expected ${JSON.stringify(bad)} to be refused`);
        }
    });

    it("repositoryProblem accepts the forms Render and git use, and refuses other schemes", () => {
        for (const ok of [
            "https://github.com/ahoy/app",
            "ssh://git@github.com/ahoy/app.git",
            "git@github.com:ahoy/app.git",
            "file:///srv/ahoy.git",
            "/srv/ahoy.git",
        ]) {
            assert.equal(repositoryProblem(ok), undefined, ok);
        }
        assert.match(repositoryProblem("ext::sh -c touch% /tmp/x") ?? "", /not a git repository address/);
        assert.match(repositoryProblem("ext::sh") ?? "", /scheme ext:/);
        assert.match(repositoryProblem("relative/path") ?? "", /not a git repository address/);
    });
});
