// The runbook's actions as an on-call engineer types them, each followed by what the emulator, the stand-in app, the
// database and Redis show: one implementation for `npm run rehearse` and the e2e tests.
import * as fs from "node:fs";
import * as path from "node:path";
import { Client } from "pg";
import { createClient } from "redis";
import { OWNER_MARKER_KEY, parseMarker } from "../../components/render/ownership";
import { HAND_SET_BLOCKED_IPS } from "../../emulator/seed";
import { canConnect } from "../../test/support/postgres";
import { waitFor } from "../../test/support/wait";
import { PulumiCli, resourcesSummary } from "./cli";
import { previewSteps, type Action, type PreviewStep } from "./rehearsal";
import { incidentMitigating, openIncident, postIncidentReport, resolveIncident } from "./reportDrills";
import { repoRoot } from "./toolchain";
import { watchToEnd } from "./watch";

export interface Drill {
    readonly name: string;
    run(a: Action): Promise<void>;
}

/** Every variable the program manages (the switches and the two secrets). */
const SWITCHES = [
    "DISABLE_SIGNUP",
    "MAINTENANCE_MODE",
    "ENABLE_SIGNED_URLS",
    "BLOCK_DIRECT_MEDIA",
    "SIGNED_URL_EXPIRY",
    "RATE_LIMIT_DEFAULT",
    "RATE_LIMIT_AUTH",
    "BLOCKED_IPS",
];
const ROLES = ["ahoy_app_blue", "ahoy_app_green"];

// --- what the app, the database and Redis show ----------------------------------------------------------------------

async function appAnswer(a: Action, method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${a.rehearsal.emulator.appUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
}

async function checkStatus(a: Action, name: string, method: string, path: string, expected: number): Promise<void> {
    const res = await appAnswer(a, method, path, method === "POST" ? { email: "drill@ahoy.example" } : undefined);
    await res.arrayBuffer();
    a.check(name, res.status === expected, `${method} ${path} answered ${res.status}, expected ${expected}`);
}

/** The limits the live deploy applies to /api/auth/*, as the stand-in app names them in RateLimit-Policy. */
async function authPolicy(a: Action): Promise<string> {
    const res = await appAnswer(a, "GET", "/api/auth/session");
    await res.arrayBuffer();
    return res.headers.get("ratelimit-policy") ?? "";
}

/** Exactly these Render writes, by kind. */
function checkWrites(a: Action, expected: Record<string, number>): void {
    const seen = a.writes();
    const same = JSON.stringify(Object.entries(seen).sort()) === JSON.stringify(Object.entries(expected).sort());
    a.check(
        `Render writes: ${Object.entries(expected)
            .map(([k, n]) => `${k} x${n}`)
            .join(", ")}`,
        same,
        `saw ${JSON.stringify(seen)}`,
    );
}

/** The owner marker on the service records `generation` as the highest started of `which`. */
function checkMarkerGeneration(a: Action, which: "secretKey" | "databaseCredential", generation: number): void {
    const reading = parseMarker(a.rehearsal.emulator.envVars()[OWNER_MARKER_KEY]);
    const recorded = reading.state === "present" ? reading.marker.generations[which] : undefined;
    a.check(
        `the service's owner marker records ${which} generation ${generation}`,
        recorded === generation,
        String(recorded),
    );
}

/** What the live deploy runs and whether the app is healthy, after an up. */
function liveDeploy(a: Action) {
    const live = a.rehearsal.emulator.liveDeploy();
    if (!live) throw new Error("the emulator has no live deploy");
    return live;
}

async function withAdmin<T>(a: Action, body: (c: Client) => Promise<T>, database = "ahoy_prod"): Promise<T> {
    const pg = a.rehearsal.services.postgres!;
    const client = await pg.connect(database);
    try {
        return await body(client);
    } finally {
        await client.end();
    }
}

async function roleLogins(a: Action): Promise<Record<string, boolean>> {
    return withAdmin(a, async (c) => {
        const rows = (await c.query("SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1)", [ROLES])).rows;
        return Object.fromEntries(
            rows.map((r: { rolname: string; rolcanlogin: boolean }) => [r.rolname, r.rolcanlogin]),
        );
    });
}

/** Connects with the live deploy's DATABASE_URL every `everyMs` until stopped: the app's view of its login. */
function watchAppLogin(a: Action, everyMs = 200) {
    let stopped = false;
    let attempts = 0;
    const failures: string[] = [];
    const loop = (async () => {
        while (!stopped) {
            const url = a.rehearsal.emulator.liveEnv().DATABASE_URL;
            attempts += 1;
            const ok = await canConnect(url);
            if (ok !== true) failures.push(ok);
            await new Promise((r) => setTimeout(r, everyMs));
        }
    })();
    return async () => {
        stopped = true;
        await loop;
        return { attempts, failures };
    };
}

function describeSteps(steps: PreviewStep[]): string {
    return steps.map((s) => `${s.op} ${s.type} ${s.name}`).join("; ") || "nothing";
}

function isType(step: PreviewStep, type: string): boolean {
    return step.type === `pulumi-nodejs:dynamic/${type}`;
}

/** The resources a failed command's Diagnostics name with an error (not the stack itself). */
export function failedResources(output: string): Array<{ type: string; name: string; error: string }> {
    const found: Array<{ type: string; name: string; error: string }> = [];
    const lines = output.split("\n");
    for (let i = 0; i < lines.length - 1; i++) {
        const head = /^ {2}(\S+) \((\S+)\):$/.exec(lines[i]);
        const error = /^\s+error: (.*)$/.exec(lines[i + 1]);
        if (head && error && head[1] !== "pulumi:pulumi:Stack")
            found.push({ type: head[1], name: head[2], error: error[1] });
    }
    return found;
}

/** The URNs of the named resources, from `pulumi stack export`. */
async function urnsOf(a: Action, resources: Array<{ type: string; name: string }>): Promise<string[]> {
    const exported = JSON.parse((await a.pulumi(["stack", "export"])).stdout) as {
        deployment: { resources: Array<{ urn: string; type: string }> };
    };
    return exported.deployment.resources
        .filter((r) => resources.some((f) => r.type === f.type && r.urn.endsWith(`::${f.name}`)))
        .map((r) => r.urn);
}

function resourcesOf(output: string): string {
    return resourcesSummary(output);
}

/** The rehearsal stack's full name, as the owner marker records it (the file backend's organization). */
function stackName(a: Action): string {
    return `organization/ahoy-ops/${a.rehearsal.options.stack}`;
}

/** What the owner marker on the service says, or why it says nothing. */
function ownerOf(a: Action): string {
    const reading = parseMarker(a.rehearsal.emulator.envVars()[OWNER_MARKER_KEY]);
    return reading.state === "present" ? reading.marker.stack : reading.state;
}

/** Sessions the app holds in Redis before the program manages anything (the flush must leave them). */
const SEEDED_SESSIONS = ["session:alice", "session:bob", "other-app:cache"];

function redisClient(url: string) {
    return createClient({ url });
}

async function withRedis<T>(a: Action, body: (redis: ReturnType<typeof redisClient>) => Promise<T>): Promise<T> {
    const redis = redisClient(a.rehearsal.services.redis!.url);
    redis.on("error", () => undefined);
    await redis.connect();
    try {
        return await body(redis);
    } finally {
        if (redis.isOpen) await redis.close();
    }
}

// --- the drills ---------------------------------------------------------------------------------------------------

/** `pulumi stack init` and the settings an on-call engineer gives a rehearsal stack. */
export const configure: Drill = {
    name: "configure: pulumi stack init + config set",
    async run(a) {
        const r = a.rehearsal;
        const { emulator, postgres, admin, redis } = r.services;
        await a.pulumi(["stack", "init", r.options.stack]);
        await a.configSet("renderApiUrl", emulator.baseUrl);
        await a.configSet("renderApiKey", emulator.apiKey, { secret: true });
        if (r.options.verify) {
            await a.configSet("serviceUrl", emulator.appUrl);
            // Long enough for `npm run watch` to begin inside the window after an up, even on a busy machine.
            await a.configSet("stabilityWindowSeconds", "30");
        } else {
            await a.configSet("verify", "false");
        }
        if (postgres && admin) {
            await a.configSet("databaseAppHost", postgres.host);
            await a.configSet("databasePort", String(postgres.port));
            await a.configSet("databaseSslMode", "disable");
            await a.configSet("postgresql:host", postgres.host);
            await a.configSet("postgresql:port", String(postgres.port));
            await a.configSet("postgresql:username", admin.user);
            await a.configSet("postgresql:password", admin.password, { secret: true });
            await a.configSet("postgresql:sslmode", "disable");
            await a.configSet("postgresql:superuser", "false");
        }
        if (redis) {
            await a.configSet("sessionStore", "redis");
            await a.configSet("redisUrl", redis.url, { secret: true });
        }
        const text = (await a.pulumi(["config"])).output;
        a.check(
            "pulumi config shows every secret as [secret]",
            r.leakedIn(text).length === 0,
            r.leakedIn(text).join(", "),
        );
    },
};

/**
 * The first preview against the live service: every key it will manage read first, what it found shown beside what
 * it wants (`found`), the hand-set BLOCKED_IPS warned about, the app's secrets shown only as present; nothing written.
 */
export const adoptionPreview: Drill = {
    name: "adoption preview: pulumi preview --diff against the live service",
    async run(a) {
        const r = a.rehearsal;
        const seeded = r.emulator.envVars();
        // The app's own values: never printed, in any output.
        for (const key of ["SECRET_KEY", "DATABASE_URL"]) if (seeded[key]) r.secrets.add(seeded[key]);
        const mark = a.mark();
        const preview = await a.pulumi(["preview", "--diff"]);
        a.check("the preview wrote nothing", a.writesSince(mark) === 0, `${a.writesSince(mark)} writes`);
        const out = preview.output;
        /** The value the preview shows for `property` of the EnvVar of `key` (the first such line of its block). */
        const shown = (key: string, property: string): string | undefined => {
            const lines = out.split("\n");
            const start = lines.findIndex((l) => l.includes(`EnvVar::ahoy-${key}]`));
            for (const line of start < 0 ? [] : lines.slice(start + 1, start + 12)) {
                const match = new RegExp(`^\\s+${property}\\s+: (.*)$`).exec(line);
                if (match) return match[1];
            }
            return undefined;
        };
        const found = (key: string, text: string) => shown(key, "found") === JSON.stringify(text);
        a.check(
            `preview: BLOCKED_IPS found "${HAND_SET_BLOCKED_IPS}" (set by hand) => absent`,
            found("BLOCKED_IPS", `"${HAND_SET_BLOCKED_IPS}" (set by hand) => absent`),
            `found: ${shown("BLOCKED_IPS", "found")}`,
        );
        a.check(
            "preview: a warning names the hand-set switch about to change",
            out.includes(`BLOCKED_IPS is "${HAND_SET_BLOCKED_IPS}" (set by hand); this up makes it absent`),
            "no warning",
        );
        a.check(
            "preview: SECRET_KEY found present, its value not shown",
            found("SECRET_KEY", "present (a secret, not shown)"),
            `found: ${shown("SECRET_KEY", "found")}`,
        );
        a.check(
            "preview: SECRET_KEY's source adopts the app's key",
            /origin\s+: "adopted: the SECRET_KEY found on ahoy-indie-media/.test(out),
            "no such line",
        );
        a.check(
            "preview: what destroy would leave (onDestroy): the secrets kept, BLOCKED_IPS put back",
            /SECRET_KEY\s+: "kept as it is \(the app runs on it\)"/.test(out) &&
                out.includes(`: ${JSON.stringify(`put back to "${HAND_SET_BLOCKED_IPS}" (as found)`)}`),
            "no onDestroy lines",
        );
        a.check("no secret in the preview", r.leakedIn(out).length === 0, r.leakedIn(out).join(", "));
    },
};

/**
 * The first `pulumi up`: the stack adopts the service (the app's SECRET_KEY kept byte for byte; DATABASE_URL taken
 * over by the managed login when the database is managed), claims it, and deploys the live commit once.
 */
export const converge: Drill = {
    name: "converge: pulumi up",
    async run(a) {
        const emulator = a.rehearsal.emulator;
        const before = liveDeploy(a);
        const appKey = emulator.envVars().SECRET_KEY;
        a.rehearsal.secrets.add(appKey);
        const redis = a.rehearsal.services.redis;
        if (redis) await withRedis(a, async (c) => void (await Promise.all(SEEDED_SESSIONS.map((k) => c.set(k, "v")))));
        await a.pulumi(["up", "--yes"]);
        const live = liveDeploy(a);
        a.check("one deploy", a.deploysCreated() === 1, `${a.deploysCreated()} deploys`);
        a.check("it runs the commit that was live", live.commit.id === before.commit.id, `${live.commit.id} live`);
        const env = emulator.liveEnv();
        a.check("SECRET_KEY live is the app's own, byte for byte", env.SECRET_KEY === appKey, "it changed");
        a.check(
            "BLOCKED_IPS (set by hand) is what the config says: absent, stored and live",
            env.BLOCKED_IPS === undefined && emulator.envVars().BLOCKED_IPS === undefined,
            `${env.BLOCKED_IPS}`,
        );
        a.check("the service names this stack its owner", ownerOf(a) === stackName(a), ownerOf(a));
        await checkStatus(a, "/healthz answers 200", "GET", "/healthz", 200);
        if (a.rehearsal.services.postgres) {
            const url = env.DATABASE_URL ?? "";
            a.check("DATABASE_URL live, as ahoy_app_blue", url.startsWith("postgresql://ahoy_app_blue:"), "not blue");
            const login = await canConnect(url);
            a.check("the app logs in with it", login === true, String(login));
        }
        if (redis) {
            const left = await withRedis(a, (c) => c.exists(SEEDED_SESSIONS));
            a.check(
                "turning on sessionStore redis cleared nothing: the sessions are all there",
                left === SEEDED_SESSIONS.length,
                `${left} of ${SEEDED_SESSIONS.length} left`,
            );
        }
    },
};

/** The URNs the engine gave every resource are the ones test/urns pins (where the mocks' URN tests hold them). */
export const urnContract: Drill = {
    name: "URNs: the engine's are the pinned ones",
    async run(a) {
        const exported = JSON.parse((await a.pulumi(["stack", "export"])).stdout) as {
            deployment: { resources: Array<{ urn: string; type: string }> };
        };
        const pins = new Set(
            ["prod.txt", "prod-database.txt"].flatMap((file) =>
                fs.readFileSync(path.join(repoRoot, "test", "urns", file), "utf8").split("\n"),
            ),
        );
        const prefix = `urn:pulumi:${a.rehearsal.options.stack}::`;
        const unpinned = exported.deployment.resources
            .filter((r) => !r.type.startsWith("pulumi:providers:"))
            .map((r) => r.urn.replace(prefix, "urn:pulumi:prod::").replace(/::ahoy-ops-[^:]+$/, "::ahoy-ops-prod"))
            .filter((urn) => !pins.has(urn));
        a.check("every URN the engine recorded is pinned in test/urns", unpinned.length === 0, unpinned.join(", "));
    },
};

/** Kill switch: `pulumi config set DISABLE_SIGNUP true`, `pulumi preview --diff`, `pulumi up`. */
export const disableSignup: Drill = {
    name: "disable signup: DISABLE_SIGNUP true",
    async run(a) {
        const liveCommit = liveDeploy(a).commit.id;
        await a.configSet("DISABLE_SIGNUP", "true");
        const mark = a.mark();
        const preview = await a.pulumi(["preview", "--diff"]);
        a.check("the preview wrote nothing", a.writesSince(mark) === 0, `${a.writesSince(mark)} writes`);
        const steps = previewSteps(preview.output);
        const variables = steps.filter((s) => isType(s, "render:EnvVar"));
        const deploys = steps.filter((s) => isType(s, "render:Deploy"));
        const verifications = steps.filter((s) => isType(s, "verify:Verification"));
        // The report's Timeline records each deploy, so it follows one.
        const timelines = steps.filter((s) => isType(s, "report:Timeline"));
        const others = steps.filter(
            (s) =>
                !variables.includes(s) && !deploys.includes(s) && !verifications.includes(s) && !timelines.includes(s),
        );
        a.check(
            "preview: exactly one variable, DISABLE_SIGNUP, updated",
            variables.length === 1 && variables[0].name === "ahoy-DISABLE_SIGNUP" && variables[0].op === "update",
            describeSteps(variables),
        );
        a.check(
            "preview: the deploy updated",
            deploys.length === 1 && deploys[0].op === "update",
            describeSteps(deploys),
        );
        a.check(
            a.rehearsal.options.verify ? "preview: its verification updated, nothing else" : "preview: nothing else",
            others.length === 0 && verifications.length === (a.rehearsal.options.verify ? 1 : 0),
            describeSteps([...verifications, ...others]),
        );
        a.check(
            "preview: value shown false => true",
            /value\s*:\s*"false" => "true"/.test(preview.output),
            "no such line",
        );
        await a.pulumi(["up", "--yes"]);
        checkWrites(a, { "PUT env-vars/{key}": 1, "POST deploys": 1 });
        a.check("the deploy runs the live commit", liveDeploy(a).commit.id === liveCommit, liveDeploy(a).commit.id);
        a.check("DISABLE_SIGNUP live", a.rehearsal.emulator.liveEnv().DISABLE_SIGNUP === "true", "not live");
        await checkStatus(a, "POST /api/auth/register answers 503", "POST", "/api/auth/register", 503);
        // The rest of the action's window, as the README's flow watches it; its sources in the scorecard.
        if (a.rehearsal.options.verify) await watchToEnd(a);
    },
};

/** Emergency rate limit on the auth endpoints. */
export const rateLimitAuth: Drill = {
    name: 'rate limit: RATE_LIMIT_AUTH "3 per minute"',
    async run(a) {
        await a.configSet("RATE_LIMIT_AUTH", "3 per minute");
        await a.pulumi(["up", "--yes"]);
        checkWrites(a, { "PUT env-vars/{key}": 1, "POST deploys": 1 });
        const policy = await authPolicy(a);
        a.check(
            "the app applies RATE_LIMIT_AUTH=3 per minute",
            policy.includes("RATE_LIMIT_AUTH=3 per minute"),
            policy,
        );
    },
};

/** Lifting it: `pulumi config rm RATE_LIMIT_AUTH` and one up, after which the app no longer sees the limit. */
export const liftRateLimit: Drill = {
    name: "lift it: pulumi config rm RATE_LIMIT_AUTH",
    async run(a) {
        await a.pulumi(["config", "rm", "RATE_LIMIT_AUTH"]);
        await a.pulumi(["up", "--yes"]);
        checkWrites(a, { "DELETE env-vars/{key}": 1, "POST deploys": 1 });
        a.check(
            "RATE_LIMIT_AUTH gone from Render",
            !("RATE_LIMIT_AUTH" in a.rehearsal.emulator.envVars()),
            "still there",
        );
        const policy = await authPolicy(a);
        a.check("the app no longer applies it", !policy.includes("RATE_LIMIT_AUTH"), policy);
    },
};

/** A bad commit went live by autodeploy: pin the release to the last good deploy. */
export const pinAfterBadCommit: Drill = {
    name: "roll back: releasePin to the last good deploy",
    async run(a) {
        const emulator = a.rehearsal.emulator;
        const good = liveDeploy(a);
        const bad = emulator.pushCommit({ bad: true, message: "a bad commit" });
        await waitFor("the bad commit's autodeploy to go live", () => emulator.liveDeploy()?.commit.id === bad, {
            timeoutMs: 30_000,
            pollMs: 50,
        });
        await checkStatus(a, "the bad commit is live: /healthz answers 500", "GET", "/healthz", 500);
        a.rehearsal.memo.goodDeploy = good.id;
        await a.configSet("releasePin", good.id);
        const preview = await a.pulumi(["preview", "--diff"]);
        a.check("preview shows the pin", preview.output.includes(good.id), "pin not in the preview");
        await a.pulumi(["up", "--yes"]);
        const live = liveDeploy(a);
        a.check("the good commit is live again", live.commit.id === good.commit.id, `${live.commit.id} live`);
        a.check("a rollback, reusing its build", (a.writes()["POST rollback"] ?? 0) === 1, JSON.stringify(a.writes()));
        a.check("autodeploy off while pinned", emulator.service().autoDeploy === "no", emulator.service().autoDeploy);
        await checkStatus(a, "/healthz answers 200", "GET", "/healthz", 200);
        await checkStatus(a, "signup still refused (503)", "POST", "/api/auth/register", 503);
    },
};

/** The fix is pushed (no deploy while pinned), then `pulumi config rm releasePin`: normal deploys resume with it. */
export const unpin: Drill = {
    name: "resume after the fix: pulumi config rm releasePin",
    async run(a) {
        const emulator = a.rehearsal.emulator;
        const deploys = emulator.deploys().length;
        const fix = emulator.pushCommit({ message: "revert the bad commit" });
        await new Promise((r) => setTimeout(r, 500));
        a.check("the fix's push deploys nothing while pinned", emulator.deploys().length === deploys, "it deployed");
        await a.pulumi(["config", "rm", "releasePin"]);
        await a.pulumi(["up", "--yes"]);
        a.check("autodeploy back to yes", emulator.service().autoDeploy === "yes", emulator.service().autoDeploy);
        a.check("the fix (branch head) is live", liveDeploy(a).commit.id === fix, liveDeploy(a).commit.id);
        await checkStatus(a, "/healthz answers 200", "GET", "/healthz", 200);
    },
};

/** SECRET_KEY rotation, with the sessions in Redis cleared after the deploy. */
export const rotateSecretKey: Drill = {
    name: "rotate SECRET_KEY: secretKeyGeneration 2",
    async run(a) {
        const redisServer = a.rehearsal.services.redis;
        const before = a.rehearsal.emulator.liveEnv().SECRET_KEY;
        const redis = redisServer ? createClient({ url: redisServer.url }) : undefined;
        redis?.on("error", () => undefined);
        await redis?.connect();
        try {
            for (const id of ["alice", "bob", "carol"]) await redis?.set(`session:${id}`, `signed with the old key`);
            await a.pulumi(["config", "set", "secretKeyGeneration", "2"]);
            await a.pulumi(["up", "--yes"]);
            const after = a.rehearsal.emulator.liveEnv().SECRET_KEY;
            a.check("a new SECRET_KEY is live", after !== undefined && after !== before, "unchanged");
            a.check("in the runbook's token_urlsafe(32) form", /^[A-Za-z0-9_-]{43}$/.test(after ?? ""), "another form");
            // The variable, and the owner marker recording the generation started (a revert is refused by it).
            checkWrites(a, { "PUT env-vars/{key}": 2, "POST deploys": 1 });
            checkMarkerGeneration(a, "secretKey", 2);
            if (redis) {
                const left = await redis.dbSize();
                a.check("the old sessions are gone from Redis", left === 0, `${left} keys left`);
            }
        } finally {
            if (redis?.isOpen) await redis.close();
        }
    },
};

/** Database credential rotation: the standby role takes over, the app never loses its login, the old one retires. */
export const rotateDatabaseLogin: Drill = {
    name: "rotate the database login: databaseCredentialGeneration 2",
    async run(a) {
        const oldUrl = a.rehearsal.emulator.liveEnv().DATABASE_URL;
        const before = await canConnect(oldUrl);
        a.check("before: the live DATABASE_URL logs in", before === true, String(before));
        // The old app's session, opened with the old URL before the rotation.
        const held = new Client({ connectionString: oldUrl });
        let heldError: string | undefined;
        held.on("error", (e) => (heldError = e.message));
        await held.connect();
        const stopWatching = watchAppLogin(a);
        try {
            await a.pulumi(["config", "set", "databaseCredentialGeneration", "2"]);
            await a.pulumi(["up", "--yes"]);
        } finally {
            const watch = await stopWatching();
            a.check(
                `the app never lost its login (${watch.attempts} logins with the live DATABASE_URL during the up)`,
                watch.failures.length === 0,
                watch.failures.slice(0, 3).join("; "),
            );
        }
        const newUrl = a.rehearsal.emulator.liveEnv().DATABASE_URL;
        a.check(
            "DATABASE_URL now logs in as ahoy_app_green",
            newUrl.startsWith("postgresql://ahoy_app_green:"),
            "not green",
        );
        const after = await canConnect(newUrl);
        a.check("after: the new DATABASE_URL logs in", after === true, String(after));
        const old = await canConnect(oldUrl);
        a.check("the old login is refused", old !== true, "it still logs in");
        const ended = await held.query("SELECT 1").then(
            () => false,
            () => true,
        );
        a.check("the old app's session was ended by the retirement", ended || heldError !== undefined, "still open");
        await held.end().catch(() => undefined);
        const logins = await roleLogins(a);
        a.check(
            "ahoy_app_green can log in, ahoy_app_blue cannot",
            logins.ahoy_app_green === true && logins.ahoy_app_blue === false,
            JSON.stringify(logins),
        );
        // The variable, and the owner marker recording the generation started (a revert is refused by it).
        checkWrites(a, { "PUT env-vars/{key}": 2, "POST deploys": 1 });
        checkMarkerGeneration(a, "databaseCredential", 2);
    },
};

/** A reverted rotation PR: both generations back to 1 after they went to 2. The preview refuses; nothing is written. */
export const revertRefused: Drill = {
    name: "revert a rotation: both generations back to 1, refused at preview",
    async run(a) {
        const database = a.rehearsal.services.postgres !== undefined;
        const mark = a.mark();
        // --config sets the values in the stack file too, as `pulumi config set` does.
        const preview = await a.pulumi(
            [
                "preview",
                "--diff",
                "--config",
                "secretKeyGeneration=1",
                ...(database ? ["--config", "databaseCredentialGeneration=1"] : []),
            ],
            { allowFailure: true },
        );
        a.check("the preview fails", preview.code !== 0, "it succeeded");
        a.check(
            "it names the SECRET_KEY generation already started and the way forward",
            preview.output.includes("secretKeyGeneration: got 1, but generation 2 already started") &&
                preview.output.includes("`pulumi config set secretKeyGeneration 3` rotates again"),
            preview.output
                .split("\n")
                .filter((l) => l.includes("error"))
                .join(" | "),
        );
        if (database) {
            a.check(
                "and the database login's",
                preview.output.includes("databaseCredentialGeneration: got 1, but generation 2 already started"),
                preview.output
                    .split("\n")
                    .filter((l) => l.includes("error"))
                    .join(" | "),
            );
        }
        a.check("nothing was written", a.writesSince(mark) === 0, `${a.writesSince(mark)} writes`);
        // Forward again, as the refusal says (2 keeps what is live), for the drills after this one.
        await a.pulumi(["config", "set", "secretKeyGeneration", "2"]);
        if (database) await a.pulumi(["config", "set", "databaseCredentialGeneration", "2"]);
    },
};

/**
 * `pulumi stack init` of a second stack with the defaults and the API key, against the owned service: its preview and
 * its `up` refuse before writing anything, naming the owner and the hand-over; its destroy touches nothing.
 */
export const secondStack: Drill = {
    name: "a second stack: refused, naming the owner; its destroy touches nothing",
    async run(a) {
        const r = a.rehearsal;
        const other = `${r.options.stack}-second`;
        // Someone's scratch stack: the defaults, the API key exported as on the on-call's machine.
        const cli = new PulumiCli({ ...r.cli.options, stack: other, extraEnv: { RENDER_API_KEY: r.emulator.apiKey } });
        const run = async (args: string[], opts: { allowFailure?: boolean } = {}) => {
            const result = await cli.run(args, opts);
            a.record.commands.push(`${result.command} --stack ${other}`);
            return result;
        };
        const stackFile = path.join(repoRoot, `Pulumi.${other}.yaml`);
        try {
            await run(["stack", "init", other]);
            const before = r.emulator.envVars();
            const mark = a.mark();
            const up = await run(
                ["up", "--yes", "--config", `renderApiUrl=${r.emulator.baseUrl}`, "--config", "verify=false"],
                { allowFailure: true },
            );
            const owner = stackName(a);
            a.check("its up fails, at the preview", up.code !== 0, "it succeeded");
            a.check(
                "naming the owner and the reviewed hand-over",
                up.output.includes(`ahoy-indie-media is managed by stack ${owner}`) &&
                    up.output.includes(`\`pulumi config set takeOverFrom ${owner}\``),
                up.output
                    .split("\n")
                    .filter((l) => l.includes("error"))
                    .join(" | "),
            );
            await run(["destroy", "--yes"]);
            a.check("nothing was written to Render", a.writesSince(mark) === 0, `${a.writesSince(mark)} writes`);
            a.check(
                "every variable is as it was",
                JSON.stringify(r.emulator.envVars()) === JSON.stringify(before),
                "changed",
            );
            a.check("the service still names its owner", ownerOf(a) === owner, ownerOf(a));
            await run(["stack", "rm", other, "--yes"]);
        } finally {
            fs.rmSync(stackFile, { force: true });
        }
    },
};

/**
 * `pulumi config rm databaseAppHost` (and the generation with it): the program stops managing the database. The
 * service keeps DATABASE_URL, the login roles stay, and the app's login works; Render sees no write and no deploy.
 */
export const letGoOfDatabase: Drill = {
    name: "let go of the database: pulumi config rm databaseAppHost",
    async run(a) {
        const emulator = a.rehearsal.emulator;
        const url = emulator.envVars().DATABASE_URL;
        await a.pulumi(["config", "rm", "databaseAppHost"]);
        await a.pulumi(["config", "rm", "databaseCredentialGeneration"]);
        const up = await a.pulumi(["up", "--yes"]);
        a.check(
            "its preview says DATABASE_URL stays",
            up.output.includes("DATABASE_URL is no longer managed by this stack; it stays as it is"),
            "no such line",
        );
        a.check("DATABASE_URL stays on the service, unchanged", emulator.envVars().DATABASE_URL === url, "changed");
        a.check("and live", emulator.liveEnv().DATABASE_URL === url, "changed");
        const login = await canConnect(url);
        a.check("the app logs in with it", login === true, String(login));
        const logins = await roleLogins(a);
        a.check(
            "both login roles stay, the live one with LOGIN",
            Object.keys(logins).length === 2 && Object.values(logins).includes(true),
            JSON.stringify(logins),
        );
        a.check("SECRET_KEY stays", emulator.envVars().SECRET_KEY !== undefined, "gone");
        checkWrites(a, {});
        a.check("no deploy: nothing was written", a.deploysCreated() === 0, `${a.deploysCreated()} deploys`);
    },
};

/** Nothing changed: `pulumi up` writes nothing. */
export const noOp: Drill = {
    name: "no-op: pulumi up with nothing changed",
    async run(a) {
        await a.pulumi(["up", "--yes"]);
        checkWrites(a, {});
        a.check("no deploy", a.deploysCreated() === 0, `${a.deploysCreated()} deploys`);
        a.check(
            "every resource unchanged",
            !/to (create|update|delete|replace)|created|updated|deleted|replaced/.test(
                a.record.summaries.at(-1)?.summary ?? "",
            ),
            a.record.summaries.at(-1)?.summary,
        );
    },
};

/** A variable changed behind the program's back: `pulumi refresh` shows it, `pulumi up` undoes it. */
export const drift: Drill = {
    name: "drift: DISABLE_SIGNUP=false set by hand, refresh + up",
    async run(a) {
        const emulator = a.rehearsal.emulator;
        emulator.setEnvVar("DISABLE_SIGNUP", "false");
        const mark = a.mark();
        let refresh = await a.pulumi(["refresh", "--yes"], { allowFailure: true });
        const failing = failedResources(refresh.output);
        a.check(
            "pulumi refresh --yes succeeds",
            refresh.code === 0,
            `it failed: ${failing.map((f) => `${f.type} ${f.name}: ${f.error}`).join("; ") || refresh.output.trim().split("\n").at(-1)}`,
        );
        if (refresh.code !== 0 && failing.length > 0) {
            // Workaround, so the drill goes on: refresh again without the resources whose read failed (the failure
            // above stays recorded).
            const urns = await urnsOf(a, failing);
            refresh = await a.pulumi(["refresh", "--yes", ...urns.flatMap((urn) => ["--exclude", urn])]);
        }
        a.check("refresh wrote nothing", a.writesSince(mark) === 0, `${a.writesSince(mark)} writes`);
        a.check(
            "refresh shows the drifted variable",
            /~\s+pulumi-nodejs:dynamic\/render:EnvVar\s+ahoy-DISABLE_SIGNUP\b/.test(refresh.output),
            "no line for ahoy-DISABLE_SIGNUP",
        );
        a.check("refresh counts one change", /~ 1 updated/.test(refresh.output), resourcesOf(refresh.output));
        await a.pulumi(["up", "--yes"]);
        a.check(
            "DISABLE_SIGNUP back to true at Render",
            emulator.envVars().DISABLE_SIGNUP === "true",
            emulator.envVars().DISABLE_SIGNUP,
        );
        await checkStatus(a, "signup refused again (503)", "POST", "/api/auth/register", 503);
        checkWrites(a, { "PUT env-vars/{key}": 1, "POST deploys": 1 });
    },
};

/** No secret in plain text in `pulumi stack export`, the stack file or anything the CLI printed. */
export const secretsStayEncrypted: Drill = {
    name: "secrets: stack export, stack file, CLI output",
    async run(a) {
        const r = a.rehearsal;
        const exported = await a.pulumi(["stack", "export"]);
        a.check(
            `no secret in pulumi stack export (${r.secrets.size} looked for)`,
            r.leakedIn(exported.stdout).length === 0,
            r.leakedIn(exported.stdout).join(", "),
        );
        const state = JSON.parse(exported.stdout) as { deployment?: { resources?: unknown[] } };
        a.check("the export holds the resources", (state.deployment?.resources?.length ?? 0) > 10, "empty export");
        const fs = await import("node:fs");
        const stackFile = fs.readFileSync(r.stackFile, "utf8");
        a.check("no secret in the stack file", r.leakedIn(stackFile).length === 0, r.leakedIn(stackFile).join(", "));
        const log = fs.readFileSync(r.logFile, "utf8");
        a.check("no secret in any CLI output so far", r.leakedIn(log).length === 0, r.leakedIn(log).join(", "));
        const outputs = await a.pulumi(["stack", "output", "--json"]);
        a.check(
            "no secret in the stack outputs",
            r.leakedIn(outputs.stdout).length === 0,
            r.leakedIn(outputs.stdout).join(", "),
        );
    },
};

/**
 * `pulumi destroy` and `pulumi stack rm`: letting go never breaks the app. SECRET_KEY and DATABASE_URL stay (and the
 * app's login works), the switches go back as the first `up` found them (BLOCKED_IPS set by hand comes back, the
 * ones the stack created go), the owner marker goes; the service keeps running its deploy.
 */
export const destroy: Drill = {
    name: "destroy: pulumi destroy + stack rm",
    async run(a) {
        const r = a.rehearsal;
        const live = liveDeploy(a).id;
        const before = r.emulator.envVars();
        await a.pulumi(["destroy", "--yes"]);
        const after = r.emulator.envVars();
        for (const key of ["SECRET_KEY", "DATABASE_URL"]) {
            if (before[key] !== undefined) a.check(`${key} stays, unchanged`, after[key] === before[key], "changed");
        }
        a.check(
            `BLOCKED_IPS is back as found (${HAND_SET_BLOCKED_IPS})`,
            after.BLOCKED_IPS === HAND_SET_BLOCKED_IPS,
            String(after.BLOCKED_IPS),
        );
        const created = SWITCHES.filter((k) => k !== "BLOCKED_IPS" && k in after);
        a.check("the switches the stack created are gone", created.length === 0, created.join(", "));
        a.check("the service is let go (no owner marker)", !(OWNER_MARKER_KEY in after), ownerOf(a));
        a.check("the service keeps running its deploy", liveDeploy(a).id === live, liveDeploy(a).id);
        if (r.services.postgres && after.DATABASE_URL) {
            const login = await canConnect(r.emulator.liveEnv().DATABASE_URL);
            a.check("the app's live DATABASE_URL still logs in", login === true, String(login));
            const roles = await roleLogins(a);
            a.check("the login roles stay", Object.keys(roles).length === 2, Object.keys(roles).join(", "));
        }
        await a.pulumi(["stack", "rm", r.options.stack, "--yes"]);
        const stacks = await a.pulumi(["stack", "ls"]);
        const listed = stacks.output
            .split("\n")
            .some((line) => line.split(/\s+/)[0]?.replace(/\*$/, "") === r.options.stack);
        a.check("the stack is gone", !listed, "still listed");
    },
};

/** The whole game day, in order. */
export const RUNBOOK: readonly Drill[] = [
    configure,
    adoptionPreview,
    converge,
    urnContract,
    openIncident,
    disableSignup,
    rateLimitAuth,
    liftRateLimit,
    pinAfterBadCommit,
    incidentMitigating,
    unpin,
    resolveIncident,
    postIncidentReport,
    rotateSecretKey,
    rotateDatabaseLogin,
    revertRefused,
    secondStack,
    noOp,
    drift,
    secretsStayEncrypted,
    letGoOfDatabase,
    destroy,
];
