// Clears the app's sessions in Redis after a SECRET_KEY rotation (the runbook's FLUSHDB), run by the SessionFlush command.
//
// Environment (set by components/sessions.ts; never on the command line):
//   REDIS_URL            redis[s]://[user:password@]host:port[/db]  (a secret: never printed)
//   SESSION_KEY_PATTERN  optional glob (e.g. `session:*`): only matching keys are removed, SCAN + UNLINK in
//                        batches, so nothing else in the database is lost; unset: FLUSHDB, as the runbook says.
// With `--check` it only connects and pings: a changed URL or pattern is verified without logging anyone out.
// Exits 0 on success; on failure prints one line naming what failed (never the URL) and exits 1 (2 for bad usage).
"use strict";

const { createClient, RESP_TYPES } = require("redis");

// Keys per SCAN step and per UNLINK: large enough to be quick, small enough to keep Redis responsive.
const BATCH = 500;
const CONNECT_TIMEOUT_MS = 10000;

/**
 * The error's message with the URL and its password cut out, whatever the client put into it, in any encoding: the
 * program's one redaction (lib/redact.ts), loaded through tsx only when there is something to redact.
 */
function redact(message, url) {
    const secrets = [url];
    try {
        const password = new URL(url).password;
        if (password) secrets.push(password);
    } catch {
        // An unparsable URL is redacted whole, above.
    }
    const { redactSecrets } = require("tsx/cjs/api").require("../lib/redact.ts", __filename);
    return redactSecrets(String(message), secrets);
}

async function unlinkMatching(client, pattern) {
    let unlinked = 0;
    for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: BATCH })) {
        if (keys.length === 0) continue;
        // SCAN may return a key twice; UNLINK counts only the keys it actually removed.
        unlinked += await client.unlink(keys);
    }
    return unlinked;
}

async function main(argv, env) {
    const check = argv.includes("--check");
    const unknown = argv.filter((arg) => arg !== "--check");
    if (unknown.length > 0) {
        console.error(`clear-sessions: unknown argument ${JSON.stringify(unknown[0])}; the only option is --check`);
        return 2;
    }
    const url = env.REDIS_URL;
    if (!url) {
        console.error(
            "clear-sessions: REDIS_URL is not set; SessionFlush passes it from the secret config value redisUrl",
        );
        return 2;
    }
    const pattern = env.SESSION_KEY_PATTERN || undefined;

    let client;
    let lastError;
    try {
        // Bytes in and out: session keys need not be UTF-8, and a key mangled by decoding would never be unlinked.
        client = createClient({
            url,
            socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: false },
        }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
        client.on("error", (err) => {
            lastError = err;
        });
        await client.connect();
        if (check) {
            await client.ping();
            console.log(`clear-sessions: Redis reachable; nothing cleared (--check)`);
        } else if (pattern === undefined) {
            await client.flushDb();
            console.log("clear-sessions: FLUSHDB done; every session in the database is gone");
        } else {
            const count = await unlinkMatching(client, pattern);
            console.log(
                `clear-sessions: unlinked ${count} key${count === 1 ? "" : "s"} matching ${JSON.stringify(pattern)}`,
            );
        }
        return 0;
    } catch (err) {
        const reason =
            err && err.message ? err.message : lastError && lastError.message ? lastError.message : String(err);
        const what = check ? "could not reach Redis" : "could not clear sessions";
        console.error(`clear-sessions: ${what}: ${redact(reason, url)}`);
        return 1;
    } finally {
        if (client && client.isOpen) await client.close().catch(() => undefined);
    }
}

main(process.argv.slice(2), process.env).then(
    (code) => {
        process.exitCode = code;
    },
    (err) => {
        console.error(
            `clear-sessions: unexpected failure: ${redact(err && err.message ? err.message : err, process.env.REDIS_URL || "")}`,
        );
        process.exitCode = 1;
    },
);
