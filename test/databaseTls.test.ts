// The admin password goes only over verified TLS: the admin connection (components/database/sql.ts) against a real
// PostgreSQL 15 serving a certificate the test's own CA signed, and against an impostor that records what reaches it.
// verify-full connects with the CA from postgresql:sslrootcert and is refused without it, and when refused nothing but
// the SSLRequest crosses the wire; require hands the password to whoever answers, which is why readiness flags it.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import type { Client } from "pg";
import { clientConfig, connectAdmin, proveLogin, rememberAdminConfig } from "../components/database/sql";
import { databaseUrl } from "../stacks/rotation";
import { SSL_REQUEST, startImpostorPostgres, type ImpostorPostgres } from "./support/impostorPostgres";
import { providerConfig, startPostgres, type PostgresServer } from "./support/postgres";
import { createTestCertificates, type TestCertificates } from "./support/tls";

const run = promisify(execFile);
const root = path.join(__dirname, "..");
const ADMIN = { user: "ahoy_admin", password: "Adm1n-pw:/?#never-leaves" };
const APP = { user: "ahoy_app_blue", password: "App-pw:/?#never-leaves" };

describe("the admin connection's TLS, against PostgreSQL serving a certificate the test signed", function () {
    this.timeout(60_000);
    let certs: TestCertificates;
    let server: PostgresServer;
    let selfSigned: ImpostorPostgres;
    let otherName: ImpostorPostgres;
    const errors: string[] = [];

    /** The stack's postgresql: settings for the admin connection, as the providers' `configure` remembers them. */
    function configureAdmin(settings: { port: number; sslmode: string; sslrootcert?: string; host?: string }): void {
        rememberAdminConfig(
            providerConfig({
                "postgresql:host": settings.host ?? "127.0.0.1",
                "postgresql:port": String(settings.port),
                "postgresql:username": ADMIN.user,
                "postgresql:password": ADMIN.password,
                "postgresql:sslmode": settings.sslmode,
                ...(settings.sslrootcert && { "postgresql:sslrootcert": settings.sslrootcert }),
            }),
        );
    }

    async function refusal(work: Promise<unknown>): Promise<string> {
        try {
            const client = (await work) as Client;
            await client.end();
        } catch (err) {
            errors.push((err as Error).message);
            return (err as Error).message;
        }
        assert.fail("expected the connection to be refused, and it was made");
    }

    before(async function () {
        this.timeout(120_000);
        certs = createTestCertificates();
        // The server's own certificate names its address; the impostors' are self-signed, or the CA's for another name.
        server = await startPostgres({ tls: certs.serverCertificate("db", ["127.0.0.1", "localhost"]) });
        selfSigned = await startImpostorPostgres(certs.selfSigned("impostor", ["127.0.0.1"]));
        otherName = await startImpostorPostgres(certs.serverCertificate("elsewhere", ["db.elsewhere.test"]));
        const superuser = await server.connect();
        await superuser.query(`CREATE ROLE ${ADMIN.user} LOGIN PASSWORD ${superuser.escapeLiteral(ADMIN.password)}`);
        await superuser.query(`CREATE ROLE ${APP.user} LOGIN PASSWORD ${superuser.escapeLiteral(APP.password)}`);
        await superuser.end();
    });

    after(async () => {
        await selfSigned?.close();
        await otherName?.close();
        await server?.stop();
        certs?.remove();
    });

    it("verify-full with the CA from postgresql:sslrootcert connects, and the session is encrypted", async () => {
        configureAdmin({ port: server.port, sslmode: "verify-full", sslrootcert: certs.caFile });
        const client = await connectAdmin();
        try {
            const { rows } = await client.query<{ ssl: boolean; who: string }>(
                "SELECT ssl, current_user::text AS who FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            );
            assert.deepEqual(rows, [{ ssl: true, who: ADMIN.user }]);
        } finally {
            await client.end();
        }
    });

    for (const sslrootcert of [undefined, "system"]) {
        it(`verify-full without that CA (sslrootcert ${sslrootcert ?? "unset"}: Node's public CAs) is refused`, async () => {
            configureAdmin({ port: server.port, sslmode: "verify-full", sslrootcert });
            const message = await refusal(connectAdmin());
            assert.match(
                message,
                new RegExp(
                    `could not connect to PostgreSQL as ${ADMIN.user}@127\\.0\\.0\\.1:${server.port}/postgres: ` +
                        "(unable to verify the first certificate|self-signed certificate in certificate chain|unable to get local issuer certificate)",
                ),
            );
        });
    }

    it("the new login's proof (the runbook's test connection) goes over the same verified TLS", async () => {
        configureAdmin({ port: server.port, sslmode: "verify-full", sslrootcert: certs.caFile });
        const url = databaseUrl({
            ...APP,
            host: "dpg-app-a",
            port: 5432,
            database: "postgres",
            sslMode: "verify-full",
            applicationName: "ahoy-indie-media",
        });
        assert.equal(await proveLogin(url), APP.user);
        configureAdmin({ port: server.port, sslmode: "verify-full" });
        assert.match(await refusal(proveLogin(url)), /the login ahoy_app_blue@127\.0\.0\.1:\d+\/postgres .* failed/);
    });

    // Someone else answers at the address: what reaches them under each mode.
    const impostorCases: Array<[string, () => ImpostorPostgres, string, string | undefined, boolean]> = [
        ["a self-signed certificate", () => selfSigned, "verify-full", "ca", false],
        ["a self-signed certificate", () => selfSigned, "verify-ca", "ca", false],
        ["the CA's certificate for another name", () => otherName, "verify-full", "ca", false],
        // verify-ca checks the chain only: anyone the CA signed for may pose as the database. Prefer verify-full.
        ["the CA's certificate for another name", () => otherName, "verify-ca", "ca", true],
        // require encrypts but checks nothing: the password goes to whoever answers ("TLS not verified").
        ["a self-signed certificate", () => selfSigned, "require", undefined, true],
    ];
    for (const [presenting, impostorOf, sslmode, ca, leaks] of impostorCases) {
        const what = leaks ? "hands it the password" : "never sends it the password: only the SSLRequest crossed";
        it(`${sslmode} against an impostor presenting ${presenting} ${what}`, async () => {
            const impostor = impostorOf();
            configureAdmin({ port: impostor.port, sslmode, sslrootcert: ca && certs.caFile });
            const seen = impostor.sessions().length;
            await refusal(connectAdmin());
            const [session] = impostor.sessions().slice(seen);
            assert.ok(session, "the client connected to the impostor");
            assert.ok(session.beforeTls.equals(SSL_REQUEST), `before TLS: ${session.beforeTls.toString("hex")}`);
            const received = session.decrypted.toString("latin1");
            if (leaks) {
                assert.ok(session.handshake, "the client accepted the impostor's certificate");
                assert.ok(received.includes(`${ADMIN.password}\0`), "the impostor received the password");
            } else {
                assert.equal(session.handshake, false, "the client refused the certificate");
                assert.equal(session.decrypted.length, 0, `sent through TLS: ${JSON.stringify(received)}`);
            }
        });
    }

    it("disable to a host that is not this machine is refused before anything connects", async () => {
        configureAdmin({ port: server.port, sslmode: "disable", host: "dpg-x.oregon-postgres.render.com" });
        assert.match(
            await refusal(connectAdmin()),
            /postgresql:sslmode \(or PGSSLMODE\) is disable, but the admin connection goes to dpg-x\.oregon-postgres\.render\.com, not this machine: the password would cross the network unencrypted; expected verify-full: `pulumi config set postgresql:sslmode verify-full`/,
        );
        // On this machine it stays allowed (the rehearsal's throwaway server).
        const local = { host: "127.0.0.1", port: server.port, user: ADMIN.user, database: "postgres" };
        assert.equal(clientConfig({ ...local, sslmode: "disable" }).ssl, false);
    });

    it("verify-ca without a CA of its own is refused: against the public CAs anyone holding a certificate would pass", () => {
        const settings = { host: "db.example.net", port: 5432, user: ADMIN.user, database: "postgres" };
        for (const sslrootcert of [undefined, "system"]) {
            assert.throws(
                () => clientConfig({ ...settings, sslmode: "verify-ca", sslrootcert }),
                /postgresql:sslmode \(or PGSSLMODE\) is verify-ca, which checks only who signed the certificate, but names no CA of its own/,
            );
        }
    });

    it("a CA file that cannot be read fails naming the setting and the file", () => {
        const settings = { host: "db.example.net", port: 5432, user: ADMIN.user, database: "postgres" };
        assert.throws(
            () => clientConfig({ ...settings, sslmode: "verify-full", sslrootcert: "/nonexistent/ca.pem" }),
            /postgresql:sslrootcert \(or PGSSLROOTCERT\): cannot read \/nonexistent\/ca\.pem \(ENOENT\); expected the PEM file of the CA/,
        );
        assert.throws(
            () => clientConfig({ ...settings, sslmode: "verify-full", sslrootcert: path.join(root, "package.json") }),
            /holds no PEM certificate/,
        );
    });

    it("translates every sslmode as libpq reads it: a CA makes require check the chain", () => {
        const settings = { host: "db.example.net", port: 5432, user: ADMIN.user, database: "postgres" };
        const readCa = () => "-----BEGIN CERTIFICATE-----";
        const table: Array<[string, string | undefined, object]> = [
            ["verify-full", undefined, {}],
            ["verify-full", "system", {}],
            ["verify-full", "ca.pem", { ca: readCa() }],
            ["verify-ca", "ca.pem", { ca: readCa(), checkServerIdentity: "any" }],
            ["require", "ca.pem", { ca: readCa(), checkServerIdentity: "any" }],
            ["require", undefined, { rejectUnauthorized: false }],
            ["prefer", undefined, { rejectUnauthorized: false }],
            ["allow", undefined, { rejectUnauthorized: false }],
        ];
        for (const [sslmode, sslrootcert, want] of table) {
            const ssl = clientConfig({ ...settings, sslmode, sslrootcert }, readCa).ssl as Record<string, unknown>;
            const shown = ssl.checkServerIdentity ? { ...ssl, checkServerIdentity: "any" } : ssl;
            assert.deepEqual(shown, want, `${sslmode} with sslrootcert ${sslrootcert}`);
        }
    });

    it("the app's DATABASE_URL with sslmode=verify-full: an app trusting the CA connects over TLS, one that does not is refused", async () => {
        const url = databaseUrl({
            ...APP,
            host: "127.0.0.1",
            port: server.port,
            database: "postgres",
            sslMode: "verify-full",
            applicationName: "ahoy-indie-media",
        });
        // node-postgres, as the stand-in app connects; the CA as the app's platform would trust it.
        const script =
            "const { Client } = require('pg'); const c = new Client({ connectionString: process.env.DATABASE_URL });" +
            "c.connect().then(() => c.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'))" +
            ".then((r) => { console.log('ssl=' + r.rows[0].ssl); return c.end(); })" +
            ".catch((e) => { console.log('refused: ' + e.message); process.exitCode = 1; });";
        const app = async (env: NodeJS.ProcessEnv) =>
            run(process.execPath, ["-e", script], { cwd: root, env: { PATH: process.env.PATH, ...env } }).then(
                ({ stdout }) => stdout.trim(),
                (err: { stdout: string }) => err.stdout.trim(),
            );
        assert.equal(await app({ DATABASE_URL: url, NODE_EXTRA_CA_CERTS: certs.caFile }), "ssl=true");
        assert.match(
            await app({ DATABASE_URL: url }),
            /^refused: (unable to verify the first certificate|self-signed certificate in certificate chain|unable to get local issuer certificate)/,
        );
    });

    it("no error message carries a password", () => {
        assert.ok(errors.length >= 5, "the refusals above must have run");
        for (const message of errors) {
            assert.ok(!message.includes(ADMIN.password) && !message.includes(APP.password), message);
        }
    });
});
