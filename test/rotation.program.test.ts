// Secret rotation as the program declares it from Pulumi.prod.yaml: what a bumped generation changes, and what stays secret.
import { strict as assert } from "node:assert";
import { isSecretValue, reveal } from "./support/mocks";
import { runProgram, type ProgramRun, type Registration } from "./support/program";

const RANDOM_BYTES = "random:index/randomBytes:RandomBytes";
const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";
const ROLE = "postgresql:index/role:Role";
const COMMAND = "command:local:Command";
const ENV_VAR = "pulumi-nodejs:dynamic/render:EnvVar";

const REDIS_URL = "rediss://:s3cr3t-redis-pw@redis.internal:6380/0";
const ADMIN_PASSWORD = "admin-pw-Zq9!";
const database = {
    databaseAppHost: "db.internal",
    sessionStore: "redis",
    sessionKeyPattern: "session:*",
    "postgresql:host": "db.example.com",
    "postgresql:username": "ahoy_admin",
};
const secrets = { redisUrl: REDIS_URL, "postgresql:password": ADMIN_PASSWORD };

function at(generations: { secretKeyGeneration?: number; databaseCredentialGeneration?: number }): Promise<ProgramRun> {
    const overrides: Record<string, string> = { ...database };
    for (const [key, value] of Object.entries(generations)) overrides[key] = String(value);
    return runProgram(overrides, secrets);
}

/** The keepers of every random value, by resource name. */
function keepers(run: ProgramRun): Record<string, string> {
    return Object.fromEntries(
        [...run.ofType(RANDOM_BYTES), ...run.ofType(RANDOM_PASSWORD)].map((r) => [
            r.name,
            JSON.stringify(r.inputs.keepers),
        ]),
    );
}

function changedKeepers(before: ProgramRun, after: ProgramRun): string[] {
    const a = keepers(before);
    const b = keepers(after);
    assert.deepEqual(
        Object.keys(b).sort(),
        Object.keys(a).sort(),
        "the same random resources are declared in both generations",
    );
    return Object.keys(a)
        .filter((name) => a[name] !== b[name])
        .sort();
}

const dependsOn = (r: Registration, name: string) => r.dependencies.some((urn) => urn.endsWith(`::${name}`));

describe("secret rotation, declared from Pulumi.prod.yaml", () => {
    it("bumping secretKeyGeneration 3 -> 4 asks SECRET_KEY's source for generation 4 and renews no other secret", async () => {
        const [three, four] = [await at({ secretKeyGeneration: 3 }), await at({ secretKeyGeneration: 4 })];
        assert.deepEqual(changedKeepers(three, four), []);
        assert.equal(three.named("ahoy-secret-key-value").inputs.generation, 3);
        assert.equal(four.named("ahoy-secret-key-value").inputs.generation, 4);
        assert.notEqual(
            reveal(four.named("ahoy-SECRET_KEY").inputs.value),
            reveal(three.named("ahoy-SECRET_KEY").inputs.value),
        );
    });

    it("SECRET_KEY reaches Render as a 43-character URL-safe secret", async () => {
        const run = await at({});
        const variable = run.named("ahoy-SECRET_KEY");
        assert.ok(isSecretValue(variable.raw.value), "SECRET_KEY's value must be a secret input");
        assert.match(String(reveal(variable.inputs.value)), /^[A-Za-z0-9_-]{43}$/);
    });

    it("bumping databaseCredentialGeneration 3 -> 4 gives green a password of generation 4's own and makes it active", async () => {
        const three = await at({ databaseCredentialGeneration: 3 });
        const four = await at({ databaseCredentialGeneration: 4 });
        assert.deepEqual(keepers(three), { "ahoy-db-blue-password": JSON.stringify({ generation: "3" }) });
        assert.deepEqual(keepers(four), { "ahoy-db-green-password": JSON.stringify({ generation: "4" }) });
        assert.equal(four.named("ahoy-db-green").inputs.login, true);
        assert.equal(four.named("ahoy-db-blue").inputs.login, false);
        assert.ok(!("password" in four.named("ahoy-db-blue").inputs), "retired, blue keeps no password");
        assert.match(String(reveal(four.named("ahoy-DATABASE_URL").inputs.value)), /^postgresql:\/\/ahoy_app_green:/);
        assert.match(String(reveal(three.named("ahoy-DATABASE_URL").inputs.value)), /^postgresql:\/\/ahoy_app_blue:/);
    });

    it("every generation's password is new: 3 -> 4 -> 5 returns to blue with a password never seen; role names never change", async () => {
        const runs = [
            await at({ databaseCredentialGeneration: 3 }),
            await at({ databaseCredentialGeneration: 4 }),
            await at({ databaseCredentialGeneration: 5 }),
        ];
        const urls = runs.map((run) => String(reveal(run.named("ahoy-DATABASE_URL").inputs.value)));
        assert.match(urls[2], /^postgresql:\/\/ahoy_app_blue:/);
        assert.equal(new Set(urls.map((url) => new URL(url).password)).size, 3, "three generations, three passwords");
        for (const run of runs) {
            assert.deepEqual(
                run
                    .ofType(ROLE)
                    .map((r) => r.inputs.name)
                    .sort(),
                ["ahoy_app_blue", "ahoy_app_green"],
            );
        }
    });

    it("the login roles are never dropped by the program: both are retained when the stack lets them go", async () => {
        const run = await at({});
        assert.deepEqual(
            run
                .ofType(ROLE)
                .filter((r) => r.retainOnDelete)
                .map((r) => r.name)
                .sort(),
            ["ahoy-db-blue", "ahoy-db-green"],
        );
    });

    it("the URL is composed for the app's host, port, database and sslmode, its password percent-encoded", async () => {
        const url = new URL(String(reveal((await at({})).named("ahoy-DATABASE_URL").inputs.value)));
        assert.equal(url.hostname, "db.internal");
        assert.equal(url.port, "5432");
        assert.equal(url.pathname, "/ahoy_prod");
        assert.equal(url.searchParams.get("sslmode"), "require");
        assert.ok(
            decodeURIComponent(url.password).endsWith(":/?#[]@!$&'()*+,;=%"),
            "the reserved characters survive the round trip",
        );
    });

    it("retirement waits for the deploy and its verification: RetireLogin after them, the standby Role after it", async () => {
        const run = await at({ databaseCredentialGeneration: 4 });
        const retire = run.named("ahoy-db-retire");
        assert.ok(dependsOn(retire, "ahoy-deploy"), "the retirement must wait for the deploy");
        assert.ok(dependsOn(retire, "ahoy-verify"), "the retirement must wait for the verification");
        assert.ok(dependsOn(retire, "ahoy-db-login-proof"), "the retirement must wait for the login proof");
        assert.ok(dependsOn(run.named("ahoy-db-blue"), "ahoy-db-retire"), "the standby role loses LOGIN after it");
        assert.ok(
            !dependsOn(run.named("ahoy-db-green"), "ahoy-deploy"),
            "the active role must be ready before the deploy",
        );
        const deploy = run.named("ahoy-deploy");
        assert.ok(dependsOn(deploy, "ahoy-DATABASE_URL") && dependsOn(deploy, "ahoy-SECRET_KEY"));
        assert.ok(
            dependsOn(run.named("ahoy-DATABASE_URL"), "ahoy-db-login-proof"),
            "the URL is written after the proof",
        );
    });

    it("roles never own objects: both are members of the owner role and assume it", async () => {
        for (const role of (await at({})).ofType(ROLE)) {
            assert.deepEqual(role.inputs.roles, ["ahoy"]);
            assert.equal(role.inputs.assumeRole, "ahoy");
        }
    });

    it("sessions are cleared after the deploy, by a command whose text holds no secret", async () => {
        const run = await at({ secretKeyGeneration: 2 });
        const [flush] = run.ofType(COMMAND);
        assert.ok(flush, "a session flush is declared when sessionStore is redis");
        assert.ok(dependsOn(flush, "ahoy-deploy"));
        assert.equal((reveal(flush.inputs.environment) as Record<string, string>).SECRET_KEY_GENERATION, "2");
        assert.ok(!("triggers" in flush.inputs), "nothing replaces it: turning the flush on must not run a clear");
        assert.equal(flush.inputs.logging, "none");
        const env = flush.raw.environment as Record<string, unknown>;
        assert.ok(
            isSecretValue(env.REDIS_URL) || isSecretValue(flush.raw.environment),
            "REDIS_URL must reach the command as a secret",
        );
        assert.equal((reveal(flush.inputs.environment) as Record<string, string>).SESSION_KEY_PATTERN, "session:*");
        for (const field of ["create", "update", "delete"]) {
            const text = String(flush.inputs[field] ?? "");
            assert.ok(
                !text.includes("s3cr3t") && !text.includes("redis.internal"),
                `the ${field} command text carries the Redis URL`,
            );
        }
    });

    it("every secret input is a secret, and no serialized provider or plain input carries a secret", async () => {
        const run = await at({ secretKeyGeneration: 2, databaseCredentialGeneration: 2 });
        assert.ok(isSecretValue(run.named("ahoy-DATABASE_URL").raw.value));
        for (const role of run.ofType(ROLE).filter((r) => "password" in r.raw))
            assert.ok(isSecretValue(role.raw.password), `${role.name}'s password must be a secret`);
        const secretValues = [
            REDIS_URL,
            ADMIN_PASSWORD,
            "s3cr3t",
            String(reveal(run.named("ahoy-SECRET_KEY").inputs.value)),
        ];
        for (const role of run.ofType(ROLE).filter((r) => "password" in r.inputs))
            secretValues.push(String(reveal(role.inputs.password)));
        for (const r of run.registrations) {
            const plain = JSON.stringify(r.raw, (_key, value) => (isSecretValue(value) ? "[secret]" : value));
            const leaked = secretValues.filter((secret) => plain.includes(secret));
            assert.deepEqual(
                leaked.length,
                0,
                `${r.type} ${r.name} carries ${leaked.length} secret(s) outside a secret wrapper`,
            );
        }
        assert.equal(run.ofType(ENV_VAR).length, 10, "eight switches, SECRET_KEY and DATABASE_URL were checked");
    });

    it("without databaseAppHost the database is left alone: no roles, no DATABASE_URL", async () => {
        const run = await runProgram();
        assert.equal(run.ofType(ROLE).length, 0);
        assert.ok(!run.ofType(ENV_VAR).some((r) => r.inputs.key === "DATABASE_URL"));
        assert.equal(run.ofType(COMMAND).length, 0, "no session store configured: no flush");
    });

    it("MAINTENANCE_MODE also writes the runbook's app_settings row when the database is managed", async () => {
        const run = await runProgram({ ...database, MAINTENANCE_MODE: "true" }, secrets);
        const [row] = run.ofType("pulumi-nodejs:dynamic/postgres:AppSetting");
        assert.deepEqual(
            { database: row.inputs.database, key: row.inputs.key, value: row.inputs.value },
            {
                database: "ahoy_prod",
                key: "maintenance_mode",
                value: "true",
            },
        );
    });
});
