// The directory where the CLI's loader keeps compiled code between runs (swc's output, V8's code cache): code that
// `pulumi up` runs next time while it holds production secrets, so nobody but the current user may write it.
//
// It lives in the project's own node_modules/.cache/ahoy-ops, never in a shared, predictable path under /tmp where
// another user could create it first. Each directory from node_modules/.cache down is created 0700 if missing, then
// checked as found (lstat, so a symbolic link is not followed): owned by the current user, and writable by nobody else
// (.cache, which other tools share, may be readable by others; ours must be 0700). Whoever can write node_modules
// itself can already replace the code that runs, so the checks start below it. A directory that fails is not used.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

/**
 * Why the directory `stat` describes (from fs.lstatSync) may not hold the cache for user `uid`, or undefined when it
 * may. `private`: nobody else may even read it (0700), else nobody else may write it.
 */
function directoryProblem(stat, uid, privateToOwner) {
    if (stat.isSymbolicLink()) return "is a symbolic link";
    if (!stat.isDirectory()) return "is not a directory";
    if (stat.uid !== uid) return `is owned by uid ${stat.uid}, not by uid ${uid} (the user running this)`;
    const mode = stat.mode & 0o777;
    if (privateToOwner ? mode & 0o077 : mode & 0o022) {
        const expected = privateToOwner ? "0700" : "writable by its owner only";
        return `has mode ${mode.toString(8).padStart(4, "0")}; expected ${expected}`;
    }
    return undefined;
}

/**
 * `<root>/node_modules/.cache/ahoy-ops/<parts...>`, each directory made (0700) and checked; returns the path, or the
 * first problem found as `{ problem }` naming the directory.
 */
function privateCacheDir(root, parts, uid = process.getuid?.()) {
    const cache = path.join(root, "node_modules", ".cache");
    const chain = [cache, ...["ahoy-ops", ...parts].map((_, i, all) => path.join(cache, ...all.slice(0, i + 1)))];
    for (const [i, dir] of chain.entries()) {
        try {
            fs.mkdirSync(dir, { mode: 0o700 });
        } catch (err) {
            if (err.code !== "EEXIST") return { problem: `${dir} cannot be created (${err.code})` };
        }
        // Without user ids (Windows) there is nothing to compare: the directory's ACLs are the user profile's.
        if (uid === undefined) continue;
        const problem = directoryProblem(fs.lstatSync(dir), uid, i > 0);
        if (problem) return { problem: `${dir} ${problem}` };
    }
    return { dir: chain[chain.length - 1] };
}

module.exports = { directoryProblem, privateCacheDir };
