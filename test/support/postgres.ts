// A throwaway PostgreSQL 15 cluster on 127.0.0.1 for one test file, the database and admin the program expects to find
// there, and the SQL the postgresql provider runs for a Role.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { Client, type ClientConfig } from "pg";

/** Where Debian's postgresql-15 puts its server binaries; PG_BIN overrides it. */
const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";
const SERVER_USER = "postgres";

export interface PostgresServer {
    readonly host: "127.0.0.1";
    readonly port: number;
    /** The bootstrap superuser, reachable over TCP without a password (every other role needs its SCRAM password). */
    readonly superuser: string;
    /** A connected client as the superuser; the caller ends it. */
    connect(database?: string): Promise<Client>;
    /** A connected client as `user` with `password` (SCRAM over TCP); the caller ends it. */
    connectAs(user: string, password: string, database?: string): Promise<Client>;
    /** Stops the server and removes its files. */
    stop(): Promise<void>;
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

/** Runs a server binary as the postgres user when we are root (initdb and postgres refuse root). */
function runAsServerUser(binary: string, args: string[]): string {
    const file = path.join(PG_BIN, binary);
    const [command, commandArgs] =
        process.getuid?.() === 0 ? ["runuser", ["-u", SERVER_USER, "--", file, ...args]] : [file, args];
    try {
        return execFileSync(command, commandArgs, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
        const { stderr, stdout } = err as { stderr?: string; stdout?: string };
        throw new Error(`${binary} ${args[0] ?? ""} failed: ${stderr || stdout || (err as Error).message}`, {
            cause: err,
        });
    }
}

/** What a test may ask of its server. */
export interface PostgresOptions {
    /** Serve TLS (ssl=on) with this certificate and key; TLS stays optional for clients (pg_hba's `host` lines). */
    readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

/**
 * Creates and starts a cluster in a fresh directory under the system temp dir, listening on 127.0.0.1 only.
 * The superuser connects over TCP by trust; every other role needs SCRAM (password_encryption's default in 15),
 * so a test that logs in with a composed DATABASE_URL proves the password is right.
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
    if (!fs.existsSync(path.join(PG_BIN, "initdb"))) {
        throw new Error(
            `no PostgreSQL 15 server binaries in ${PG_BIN}: install postgresql-15 (apt-get install -y postgresql-15) or set PG_BIN`,
        );
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ahoy-pg-"));
    const data = path.join(dir, "data");
    const serverIds =
        process.getuid?.() === 0
            ? {
                  uid: Number(execFileSync("id", ["-u", SERVER_USER], { encoding: "utf8" }).trim()),
                  gid: Number(execFileSync("id", ["-g", SERVER_USER], { encoding: "utf8" }).trim()),
              }
            : undefined;
    if (serverIds) fs.chownSync(dir, serverIds.uid, serverIds.gid);
    const port = await freePort();
    let started = false;
    const stopSync = () => {
        if (started) {
            started = false;
            try {
                runAsServerUser("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w"]);
            } catch {
                // Already gone; the files are removed below either way.
            }
        }
        fs.rmSync(dir, { recursive: true, force: true });
    };
    // If the test process dies without its `after` hook, the server must not outlive it.
    process.once("exit", stopSync);
    try {
        runAsServerUser("initdb", [
            "-D",
            data,
            "-U",
            SERVER_USER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
        ]);
        fs.writeFileSync(
            path.join(data, "pg_hba.conf"),
            [
                "local all all trust",
                `host all ${SERVER_USER} 127.0.0.1/32 trust`,
                "host all all 127.0.0.1/32 scram-sha-256",
                "",
            ].join("\n"),
        );
        let serverOptions = `-c port=${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off`;
        if (options.tls) {
            // The server refuses a key others can read, and must own it (it runs as postgres when we are root).
            for (const [from, to, mode] of [
                [options.tls.certFile, "server.crt", 0o644],
                [options.tls.keyFile, "server.key", 0o600],
            ] as const) {
                fs.copyFileSync(from, path.join(data, to));
                fs.chmodSync(path.join(data, to), mode);
                if (serverIds) fs.chownSync(path.join(data, to), serverIds.uid, serverIds.gid);
            }
            serverOptions += " -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key";
        }
        started = true;
        runAsServerUser("pg_ctl", [
            "start",
            "-D",
            data,
            "-l",
            path.join(dir, "server.log"),
            "-o",
            serverOptions,
            "-w",
            "-t",
            "60",
        ]);
    } catch (err) {
        const log = path.join(dir, "server.log");
        const tail = fs.existsSync(log) ? fs.readFileSync(log, "utf8").slice(-2000) : "";
        stopSync();
        process.removeListener("exit", stopSync);
        throw new Error(
            `could not start PostgreSQL on 127.0.0.1:${port}: ${(err as Error).message}${tail ? `\nserver log:\n${tail}` : ""}`,
            { cause: err },
        );
    }

    const open = async (config: ClientConfig): Promise<Client> => {
        const client = new Client({ host: "127.0.0.1", port, ...config });
        await client.connect();
        return client;
    };
    return {
        host: "127.0.0.1",
        port,
        superuser: SERVER_USER,
        connect: (database = "postgres") => open({ user: SERVER_USER, database }),
        connectAs: (user, password, database = "postgres") => open({ user, password, database }),
        async stop() {
            stopSync();
            process.removeListener("exit", stopSync);
        },
    };
}

/** The inputs of a declared `postgresql.Role` that these tests apply (the ones the program sets). */
export interface DeclaredRole {
    readonly name: string;
    readonly login: boolean;
    /** Absent: no password (PASSWORD NULL), as a retired role is declared. */
    readonly password?: string;
    readonly roles: readonly string[];
    readonly assumeRole: string;
}

/**
 * Applies a declared Role as the postgresql provider does: CREATE ROLE (or ALTER ROLE when it exists) with
 * LOGIN/NOLOGIN and the password, GRANT each of `roles` to it, and `ALTER ROLE ... SET ROLE TO` for `assumeRole`.
 */
export async function applyRole(admin: Client, role: DeclaredRole): Promise<void> {
    const name = admin.escapeIdentifier(role.name);
    const exists = (await admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role.name])).rowCount === 1;
    const password = role.password ? admin.escapeLiteral(role.password) : "NULL";
    const attributes = `${role.login ? "LOGIN" : "NOLOGIN"} PASSWORD ${password}`;
    await admin.query(`${exists ? "ALTER" : "CREATE"} ROLE ${name} WITH ${attributes}`);
    for (const member of role.roles) await admin.query(`GRANT ${admin.escapeIdentifier(member)} TO ${name}`);
    await admin.query(`ALTER ROLE ${name} SET ROLE TO ${admin.escapeIdentifier(role.assumeRole)}`);
}

/** The login the program manages roles and settings with: the stack's `postgresql:username` and `postgresql:password`. */
export interface AdminLogin {
    readonly user: string;
    readonly password: string;
}

/**
 * Sets up what production has before the program runs, and the program never creates: the owner role `ahoy` (no
 * login) owning the database `ahoy_prod` and its public schema, and `admin`, no superuser, who may create roles, see
 * who holds a session (pg_read_all_stats) and end sessions (pg_signal_backend). Returns a client connected as `admin`; the caller ends it.
 */
export async function createAppDatabase(server: PostgresServer, superuser: Client, admin: AdminLogin): Promise<Client> {
    await superuser.query("CREATE ROLE ahoy NOLOGIN");
    await superuser.query("CREATE DATABASE ahoy_prod OWNER ahoy");
    await superuser.query(
        `CREATE ROLE ${admin.user} LOGIN CREATEROLE PASSWORD ${superuser.escapeLiteral(admin.password)}`,
    );
    await superuser.query(`GRANT pg_signal_backend, pg_read_all_stats TO ${admin.user}`);
    const inApp = await server.connect("ahoy_prod");
    await inApp.query("ALTER SCHEMA public OWNER TO ahoy");
    await inApp.end();
    return server.connectAs(admin.user, admin.password);
}

/** The stack's `postgresql:` settings for `server` as `admin`, as `pulumi config` holds them for the providers. */
export function adminStackConfig(server: PostgresServer, admin: AdminLogin): Record<string, string> {
    return {
        "postgresql:host": server.host,
        "postgresql:port": String(server.port),
        "postgresql:username": admin.user,
        "postgresql:password": admin.password,
        "postgresql:sslmode": "disable",
        "postgresql:superuser": "false",
    };
}

/** Stack config holding `values`, as a dynamic provider's `configure` receives it. */
export function providerConfig(values: Record<string, string>): pulumi.dynamic.Config {
    return { get: (key: string) => values[key], require: (key: string) => values[key] };
}

/** Connects as the URL says; true, or the server's reason for refusing. */
export async function canConnect(url: string): Promise<true | string> {
    const client = new Client({ connectionString: url });
    client.on("error", () => undefined);
    try {
        await client.connect();
        await client.query("SELECT 1");
        return true;
    } catch (err) {
        return (err as Error).message;
    } finally {
        await client.end().catch(() => undefined);
    }
}
