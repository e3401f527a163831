// Clears the app's sessions in Redis after a SECRET_KEY rotation (the runbook's FLUSHDB), run by the SessionFlush command.
//
// Environment (set by components/sessions.ts; never on the command line):
//   REDIS_URL              redis[s]://[user:password@]host:port[/db]  (a secret: never printed)
//   SESSION_KEY_PATTERN    optional glob (e.g. `session:*`): only matching keys are removed, SCAN + UNLINK in
//                          batches, so nothing else in the database is lost; unset: FLUSHDB, as the runbook says.
//   SECRET_KEY_GENERATION  the secretKeyGeneration the live SECRET_KEY belongs to; printed last, as
//                          `generation N`, so the next run knows which generation the sessions were last cleared for.
//   PULUMI_COMMAND_STDOUT  what the previous run printed (the command provider passes it to an update).
// With `--check` it only connects and pings: the sessions are kept (a first run: enabling the flush clears nothing).
// With `--if-rotated` it clears them only when SECRET_KEY_GENERATION is higher than the generation the previous run
// printed (a bump, once its deploy is live), and otherwise only checks (a changed URL or pattern logs nobody out).
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

/** The generation a previous run's output ends with (`generation N`), or undefined when it names none. */
function previousGeneration(stdout) {
    const all = [...String(stdout ?? "").matchAll(/\bgeneration (\d+)\b/g)];
    return all.length === 0 ? undefined : Number(all[all.length - 1][1]);
}

/** Whether this run clears the sessions, and why, from the option and the generations. */
function decide(argv, env) {
    if (argv.includes("--check")) return { clear: false, why: "a first run clears nothing" };
    if (!argv.includes("--if-rotated")) return { clear: true, why: "asked to" };
    const now = Number(env.SECRET_KEY_GENERATION);
    const before = previousGeneration(env.PULUMI_COMMAND_STDOUT);
    if (before === undefined) return { clear: false, why: "the previous run named no generation" };
    if (now > before) return { clear: true, why: `SECRET_KEY went from generation ${before} to ${now}` };
    return { clear: false, why: `SECRET_KEY is still generation ${before}` };
}

async function main(argv, env) {
    const unknown = argv.filter((arg) => arg !== "--check" && arg !== "--if-rotated");
    if (unknown.length > 0 || argv.length > 1) {
        console.error(
            `clear-sessions: unknown argument ${JSON.stringify(unknown[0] ?? argv[1])}; use --check or --if-rotated, or nothing`,
        );
        return 2;
    }
    const generation = env.SECRET_KEY_GENERATION;
    if (generation !== undefined && !/^\d+$/.test(generation)) {
        console.error(
            `clear-sessions: SECRET_KEY_GENERATION is ${JSON.stringify(generation)}; expected a whole number`,
        );
        return 2;
    }
    const decision = decide(argv, env);
    const check = !decision.clear;
    const suffix = generation === undefined ? "" : `; generation ${generation}`;
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
            console.log(`clear-sessions: Redis reachable; nothing cleared (${decision.why})${suffix}`);
        } else if (pattern === undefined) {
            await client.flushDb();
            console.log(
                `clear-sessions: FLUSHDB done (${decision.why}); every session in the database is gone${suffix}`,
            );
        } else {
            const count = await unlinkMatching(client, pattern);
            console.log(
                `clear-sessions: unlinked ${count} key${count === 1 ? "" : "s"} matching ${JSON.stringify(pattern)} ` +
                    `(${decision.why})${suffix}`,
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
