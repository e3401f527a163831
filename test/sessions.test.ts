// Session invalidation: the exact command SessionFlush declares, run against a real redis-server.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { createClient, RESP_TYPES } from "redis";
import { CHECK_SESSIONS_COMMAND, CLEAR_SESSIONS_COMMAND, SessionFlush } from "../components/sessions";
import {
    isSecretValue,
    observeRegistrations,
    revealAll,
    setProjectMocks,
    StandInDeploy,
    valueOf,
} from "./support/mocks";
import { startRedis, type RedisServer } from "./support/redis";

const REPO_ROOT = path.resolve(__dirname, "..");
const COMMAND_TYPE = "command:local:Command";
/** The Redis password holds URL-reserved characters, so the URL's encoding has to survive to the client. */
const REDIS_PASSWORD = "s3ss:/?#[]@!$&'()*+,;=%ions";

/** The Command as registered with the engine: inputs (secrets still wrapped) and the URNs it depends on. */
interface DeclaredCommand {
    readonly raw: Record<string, unknown>;
    readonly create: string;
    readonly update: string;
    readonly environment: Record<string, string>;
    readonly dependencies: readonly string[];
    readonly deployUrn: string;
}

/** Declares SessionFlush under Pulumi's mocks after a stand-in deploy and records the command it registers. */
async function declareFlush(redisUrl: string, generation: number, keyPattern?: string): Promise<DeclaredCommand> {
    const registered = new Map<string, { raw: Record<string, unknown>; dependencies: string[] }>();
    await setProjectMocks();
    observeRegistrations((req) =>
        registered.set(req.getType(), { raw: req.getObject().toJavaScript(), dependencies: req.getDependenciesList() }),
    );
    const deploy = new StandInDeploy("deploy");
    const flush = new SessionFlush("sessions", { generation, redisUrl, keyPattern, afterDeploy: deploy });
    const [deployUrn] = await Promise.all([valueOf(deploy.urn), valueOf(flush.command.urn)]);
    const command = registered.get(COMMAND_TYPE);
    assert.ok(command, "SessionFlush registers a command:local:Command");
    return {
        raw: command.raw,
        create: command.raw.create as string,
        update: command.raw.update as string,
        environment: revealAll(command.raw.environment) as Record<string, string>,
        dependencies: command.dependencies,
        deployUrn,
    };
}

/** Runs a declared command text as the command provider does: through a shell, in the project root, with its environment. */
function run(
    commandText: string,
    environment: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(commandText, {
            shell: true,
            cwd: REPO_ROOT,
            env: { PATH: process.env.PATH, ...environment },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk) => (stdout += chunk));
        child.stderr.on("data", (chunk) => (stderr += chunk));
        child.once("error", reject);
        child.once("close", (code) => resolve({ code, stdout, stderr }));
    });
}

describe("SessionFlush: clearing sessions after a SECRET_KEY rotation", function () {
    this.timeout(60000);
    let server: RedisServer;
    let redis: ReturnType<typeof createClient>;

    const seed = async (keys: Array<string | Buffer>) => {
        await redis.flushDb();
        for (const key of keys) await redis.set(key, "v");
    };
    const remaining = async () =>
        (await redis.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).keys("*"))
            .map((key) => key.toString("latin1"))
            .sort();

    before(async () => {
        server = await startRedis(REDIS_PASSWORD);
        redis = createClient({ url: server.url });
        await redis.connect();
    });

    after(async () => {
        if (redis?.isOpen) await redis.close();
        await server?.stop();
    });

    describe("what is declared", () => {
        it("checks Redis when first declared, clears on an update after the deploy, with the Redis URL only in its secret environment", async () => {
            const declared = await declareFlush(server.url, 4);
            assert.equal(declared.create, CHECK_SESSIONS_COMMAND);
            assert.equal(declared.update, CLEAR_SESSIONS_COMMAND);
            for (const text of [declared.create, declared.update]) {
                assert.ok(
                    !text.includes(REDIS_PASSWORD) &&
                        !text.includes(server.url) &&
                        !text.includes(encodeURIComponent(REDIS_PASSWORD)),
                    "no secret in the command text",
                );
            }
            assert.ok(
                isSecretValue((declared.raw.environment as Record<string, unknown>).REDIS_URL),
                "REDIS_URL is a secret",
            );
            assert.equal(declared.environment.REDIS_URL, server.url);
            assert.equal(declared.environment.SECRET_KEY_GENERATION, "4");
            assert.ok(!("SESSION_KEY_PATTERN" in declared.environment), "no pattern: FLUSHDB");
            assert.equal(declared.raw.logging, "none");
            assert.ok(!("triggers" in declared.raw), "no trigger: nothing ever replaces it, which would run create");
            assert.ok(
                declared.dependencies.includes(declared.deployUrn),
                "it waits for the deploy carrying the new key",
            );
        });

        it("a new generation changes only SECRET_KEY_GENERATION: an update, which clears once", async () => {
            const [four, five] = [
                await declareFlush(server.url, 4, "session:*"),
                await declareFlush(server.url, 5, "session:*"),
            ];
            const rest = (d: DeclaredCommand) => ({ ...d.raw, environment: undefined });
            assert.deepEqual(rest(four), rest(five));
            assert.deepEqual({ ...five.environment, SECRET_KEY_GENERATION: "4" }, four.environment);
            assert.equal(five.environment.SESSION_KEY_PATTERN, "session:*");
        });

        it("refuses an empty pattern instead of flushing everything", async () => {
            await assert.rejects(declareFlush(server.url, 1, ""), /sessionKeyPattern: got an empty pattern/);
        });
    });

    describe("the declared command against redis-server", () => {
        /** Runs the update as the command provider does: with what the previous run printed. */
        const update = (declared: DeclaredCommand, previous: string) =>
            run(declared.update, { ...declared.environment, PULUMI_COMMAND_STDOUT: previous });

        it("turning it on (sessionStore redis, the create) clears nothing and records the generation", async () => {
            await seed(["session:a", "session:b", "other-app:cache"]);
            const declared = await declareFlush(server.url, 2);
            const result = await run(declared.create, declared.environment);
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(await remaining(), ["other-app:cache", "session:a", "session:b"]);
            assert.match(result.stdout, /nothing cleared \(a first run clears nothing\); generation 2\n$/);
        });

        it("a bump, once its deploy is live, clears every key (FLUSHDB, as the runbook says)", async () => {
            await seed(["session:a", "session:b", "rate:1.2.3.4"]);
            const declared = await declareFlush(server.url, 3);
            const result = await update(declared, "clear-sessions: Redis reachable; nothing cleared; generation 2");
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(await remaining(), []);
            assert.match(result.stdout, /FLUSHDB done \(SECRET_KEY went from generation 2 to 3\).*; generation 3/);
            assert.ok(!(result.stdout + result.stderr).includes(REDIS_PASSWORD), "prints no secret");
        });

        it("with a pattern unlinks only the matching keys, in batches, and every other key survives", async () => {
            const sessions = Array.from({ length: 1234 }, (_, i) => `session:${i}`);
            const binary = Buffer.from([...Buffer.from("session:"), 0xff, 0xfe]);
            await seed([...sessions, binary, "sessions-config", "rate:1.2.3.4", "cache:session:1"]);
            const declared = await declareFlush(server.url, 3, "session:*");
            const result = await update(declared, "generation 2");
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(await remaining(), ["cache:session:1", "rate:1.2.3.4", "sessions-config"]);
            assert.match(result.stdout, /unlinked 1235 keys matching "session:\*"/);
        });

        it("a changed URL or pattern (an update at the same generation) reaches Redis and clears nothing", async () => {
            await seed(["session:a", "other"]);
            const declared = await declareFlush(server.url, 3, "session:*");
            const result = await update(declared, "clear-sessions: ...; generation 3");
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(await remaining(), ["other", "session:a"]);
            assert.match(result.stdout, /nothing cleared \(SECRET_KEY is still generation 3\); generation 3/);
        });

        it("clears nothing when the previous run named no generation (a state from before this was recorded)", async () => {
            await seed(["session:a"]);
            const declared = await declareFlush(server.url, 3);
            const result = await update(
                declared,
                "clear-sessions: FLUSHDB done; every session in the database is gone",
            );
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(await remaining(), ["session:a"]);
        });

        it("fails with a clear message, and without the URL or password, when Redis refuses the credentials", async () => {
            await seed(["session:a"]);
            const wrongPassword = "wr0ng:/?#pass";
            const url = server.url.replace(encodeURIComponent(REDIS_PASSWORD), encodeURIComponent(wrongPassword));
            const declared = await declareFlush(url, 3);
            const result = await update(declared, "generation 2");
            assert.equal(result.code, 1);
            assert.match(result.stderr, /^clear-sessions: could not clear sessions: /);
            for (const secret of [wrongPassword, encodeURIComponent(wrongPassword), url]) {
                assert.ok(!(result.stdout + result.stderr).includes(secret), `printed ${secret}`);
            }
            assert.deepEqual(await remaining(), ["session:a"]);
        });

        it("fails with a clear message when Redis is unreachable", async () => {
            const declared = await declareFlush("redis://:secret-pw@127.0.0.1:1/0", 3);
            const result = await update(declared, "generation 2");
            assert.equal(result.code, 1);
            assert.match(result.stderr, /could not clear sessions: .*ECONNREFUSED/);
            assert.ok(!result.stderr.includes("secret-pw"), "the error shows the Redis password");
        });
    });
});
