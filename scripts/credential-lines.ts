// `npm run --silent credential-lines -- <stack> --base <git ref>`: the lines a pull request's preview comment starts
// with, saying key by key where the PR changes where a credential goes (stacks/credentialChanges.ts), comparing the
// stack's config at the base commit with the working tree's. Needs no secret: encrypted values are compared as stored.
// Prints markdown; in GitHub Actions the lines go on the job's summary page too. Exit 2 on a usage or read error.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { credentialLines, storedStackConfig } from "../stacks/credentialChanges";

const USAGE = `usage: npm run --silent credential-lines -- <stack> --base <git ref>
Prints, key by key, where this working tree's Pulumi.<stack>.yaml and Pulumi.yaml change where a
credential goes, compared with the same files at <git ref> (a pull request's base: HEAD^1 of its
merge commit). Secrets are compared as stored, never shown.
`;

/** A file's text at `ref` in the repository at `dir`, or undefined when that commit has no such file. */
function fileAt(dir: string, ref: string, file: string): string | undefined {
    try {
        return execFileSync("git", ["show", `${ref}:./${file}`], {
            cwd: dir,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        });
    } catch (err) {
        const stderr = String((err as { stderr?: string }).stderr ?? "");
        if (/does not exist|exists on disk, but not in/.test(stderr)) return undefined;
        throw new Error(`git show ${ref}:${file}: ${stderr.trim() || (err as Error).message}`, { cause: err });
    }
}

/** Runs the command; returns the exit code. */
export function main(argv: readonly string[], environment: NodeJS.ProcessEnv, cwd = process.cwd()): number {
    const baseAt = argv.indexOf("--base");
    const base = baseAt >= 0 ? argv[baseAt + 1] : undefined;
    const rest = argv.filter((_, i) => i !== baseAt && i !== baseAt + 1);
    if (argv.includes("--help") || argv.includes("-h")) {
        process.stdout.write(USAGE);
        return 0;
    }
    if (rest.length !== 1 || rest[0].startsWith("-") || !base || base.startsWith("-")) {
        process.stderr.write(
            `credential-lines: expected a stack and --base <git ref>, got ${JSON.stringify(argv)}\n${USAGE}`,
        );
        return 2;
    }
    const stackFile = `Pulumi.${rest[0].split("/").pop()}.yaml`;
    let lines: string[];
    try {
        const read = (file: string) =>
            fs.existsSync(path.join(cwd, file)) ? fs.readFileSync(path.join(cwd, file), "utf8") : undefined;
        const parse = (text: string | undefined) => (text === undefined ? undefined : (parseYaml(text) as unknown));
        const before = storedStackConfig(parse(fileAt(cwd, base, "Pulumi.yaml")), parse(fileAt(cwd, base, stackFile)));
        const after = storedStackConfig(parse(read("Pulumi.yaml")), parse(read(stackFile)));
        lines = credentialLines(before, after, `${stackFile} at ${base}`);
    } catch (error) {
        process.stderr.write(`credential-lines: ${error instanceof Error ? error.message : String(error)}\n`);
        return 2;
    }
    const text = `${lines.join("\n")}\n`;
    process.stdout.write(text);
    if (environment.GITHUB_STEP_SUMMARY) fs.appendFileSync(environment.GITHUB_STEP_SUMMARY, `${text}\n`);
    return 0;
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2), process.env);
}
