// TEST-ONLY stand-in for the postgresql provider plugin: postgresql:index/role:Role, the one type the program declares,
// with the arguments it sets (name, login, password, roles, assumeRole).
//
// The SQL is what terraform-provider-postgresql's role resource runs, in one transaction per step:
//   create  CREATE ROLE .. WITH NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT [NO]LOGIN NOREPLICATION
//           CONNECTION LIMIT -1 ENCRYPTED PASSWORD '..' VALID UNTIL 'infinity'; GRANT <role> TO ..;
//           ALTER ROLE .. SET ROLE TO <assumeRole>
//   update  ALTER ROLE .. RENAME TO / WITH [NO]LOGIN / ENCRYPTED PASSWORD; the memberships revoked and granted
//           again; ALTER ROLE .. SET ROLE TO / RESET ROLE
//   delete  in each database the admin can connect to, REASSIGN OWNED BY .. TO CURRENT_USER and DROP OWNED BY (the
//           role granted to the admin for that, as a non-superuser admin must), then DROP ROLE
//   read    pg_roles and pg_auth_members (the password cannot be read back: the state's is kept); a missing role
//           reads as gone
// The admin connection is the provider's config (postgresql:host, port, username, password, database, sslmode) or
// libpq's PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, through the `pg` package of this repository.
// The password is a secret in and out and never in an error: a failed statement is reported without its text.
"use strict";

const { changedKeys, reveal, serve } = require("../serve");

let settings = {};

/** The admin connection's settings, config first, libpq's environment second, the real provider's defaults last. */
function connectionConfig(database) {
    const s = settings;
    const env = process.env;
    const sslmode = String(s.sslmode ?? s.sslMode ?? env.PGSSLMODE ?? "prefer");
    // `pg` has no `prefer` (try TLS, fall back): like libpq against a server without TLS, it connects in the clear.
    const ssl =
        sslmode === "disable" || sslmode === "allow" || sslmode === "prefer"
            ? false
            : sslmode === "require"
              ? { rejectUnauthorized: false }
              : true;
    return {
        host: String(s.host ?? env.PGHOST ?? "localhost"),
        port: Number(s.port ?? env.PGPORT ?? 5432),
        user: String(s.username ?? env.PGUSER ?? "postgres"),
        password: s.password ?? env.PGPASSWORD,
        database: database ?? String(s.database ?? env.PGDATABASE ?? "postgres"),
        ssl,
        connectionTimeoutMillis: Number(s.connectTimeout ?? 180) * 1000,
        application_name: "pulumi-postgresql-standin",
    };
}

async function connect(database) {
    const { Client } = require("pg");
    const client = new Client(connectionConfig(database));
    client.on("error", () => undefined);
    try {
        await client.connect();
    } catch (e) {
        const c = connectionConfig(database);
        throw new Error(
            `postgresql: could not connect to ${c.host}:${c.port} as ${c.user} (database ${c.database}): ${e.message}`,
            { cause: e },
        );
    }
    return client;
}

/** Runs `statements` ([what, sql]) in one transaction; a failure names what failed and the server's words, not the SQL. */
async function transaction(client, statements) {
    await client.query("BEGIN");
    try {
        for (const [what, sql] of statements) {
            try {
                await client.query(sql);
            } catch (e) {
                throw new Error(`postgresql: ${what}: ${e.message}`, { cause: e });
            }
        }
        await client.query("COMMIT");
    } catch (e) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw e;
    }
}

const ident = (client, name) => client.escapeIdentifier(name);
const literal = (client, value) => client.escapeLiteral(value);

function passwordClause(client, password) {
    return password ? `ENCRYPTED PASSWORD ${literal(client, password)}` : "PASSWORD NULL";
}

function assumeRoleStatement(client, name, assumeRole) {
    return assumeRole
        ? [`set ${name}'s role at login`, `ALTER ROLE ${ident(client, name)} SET ROLE TO ${ident(client, assumeRole)}`]
        : [`reset ${name}'s role at login`, `ALTER ROLE ${ident(client, name)} RESET ROLE`];
}

const DEFAULTS = { login: false, roles: [], assumeRole: "", password: "" };
const ARGS = ["name", "login", "password", "roles", "assumeRole"];

/** The outputs: the inputs (the password still wrapped as the secret it came as), with the defaults the real one adds. */
function outputs(inputs) {
    return {
        bypassRowLevelSecurity: false,
        connectionLimit: -1,
        createDatabase: false,
        createRole: false,
        encrypted: "true",
        inherit: true,
        replication: false,
        skipDropRole: false,
        skipReassignOwned: false,
        superuser: false,
        validUntil: "infinity",
        ...DEFAULTS,
        ...inputs,
    };
}

const role = {
    async check(_urn, _olds, news) {
        const failures = [];
        if (news.name === undefined || news.name === "") {
            failures.push({ property: "name", reason: "Missing required argument: name" });
        }
        return { inputs: { ...DEFAULTS, ...news }, failures };
    },
    async diff(_id, _urn, olds, news) {
        const changed = changedKeys(ARGS, { ...DEFAULTS, ...olds }, { ...DEFAULTS, ...news });
        // The real role resource changes everything in place, the name included (ALTER ROLE .. RENAME TO).
        return { changes: changed.length > 0, replaces: [] };
    },
    async create(_urn, inputs) {
        const p = reveal({ ...DEFAULTS, ...inputs });
        const client = await connect();
        try {
            const name = ident(client, p.name);
            const statements = [
                [
                    `create role ${p.name}`,
                    `CREATE ROLE ${name} WITH NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT ${p.login ? "LOGIN" : "NOLOGIN"} ` +
                        `NOREPLICATION CONNECTION LIMIT -1 ${passwordClause(client, p.password)} VALID UNTIL 'infinity'`,
                ],
                ...p.roles.map((r) => [`grant ${r} to ${p.name}`, `GRANT ${ident(client, r)} TO ${name}`]),
            ];
            if (p.assumeRole) statements.push(assumeRoleStatement(client, p.name, p.assumeRole));
            await transaction(client, statements);
        } finally {
            await client.end().catch(() => undefined);
        }
        return { id: p.name, outs: outputs(inputs) };
    },
    async update(_id, _urn, olds, news) {
        const o = reveal({ ...DEFAULTS, ...olds });
        const n = reveal({ ...DEFAULTS, ...news });
        const client = await connect();
        try {
            const statements = [];
            if (o.name !== n.name) {
                statements.push([
                    `rename role ${o.name} to ${n.name}`,
                    `ALTER ROLE ${ident(client, o.name)} RENAME TO ${ident(client, n.name)}`,
                ]);
            }
            const name = ident(client, n.name);
            if (o.login !== n.login) {
                statements.push([`set ${n.name}'s login`, `ALTER ROLE ${name} WITH ${n.login ? "LOGIN" : "NOLOGIN"}`]);
            }
            // After a rename PostgreSQL clears an MD5 password; the real provider sets it again then too.
            if (o.password !== n.password || o.name !== n.name) {
                statements.push([
                    `set ${n.name}'s password`,
                    `ALTER ROLE ${name} WITH ${passwordClause(client, n.password)}`,
                ]);
            }
            if (JSON.stringify([...o.roles].sort()) !== JSON.stringify([...n.roles].sort())) {
                for (const r of o.roles) {
                    statements.push([`revoke ${r} from ${n.name}`, `REVOKE ${ident(client, r)} FROM ${name}`]);
                }
                for (const r of n.roles) {
                    statements.push([`grant ${r} to ${n.name}`, `GRANT ${ident(client, r)} TO ${name}`]);
                }
            }
            if (o.assumeRole !== n.assumeRole) statements.push(assumeRoleStatement(client, n.name, n.assumeRole));
            await transaction(client, statements);
        } finally {
            await client.end().catch(() => undefined);
        }
        return { outs: outputs(news) };
    },
    async read(id, _urn, props) {
        const client = await connect();
        try {
            const found = await client.query(
                `SELECT r.rolname::text AS rolname, r.rolcanlogin,
                        ARRAY(SELECT b.rolname::text FROM pg_auth_members m JOIN pg_roles b ON m.roleid = b.oid
                              WHERE m.member = r.oid ORDER BY b.rolname) AS roles,
                        r.rolconfig::text[] AS rolconfig
                   FROM pg_roles r WHERE r.rolname = $1`,
                [id],
            );
            if (found.rowCount === 0) return { id: "", props: {} };
            const row = found.rows[0];
            const assume = (row.rolconfig ?? []).find((c) => c.startsWith("role="));
            const live = {
                name: row.rolname,
                login: row.rolcanlogin,
                roles: row.roles,
                assumeRole: assume ? assume.slice("role=".length) : "",
                // Not readable back; the state's, still a secret.
                password: props.password ?? "",
            };
            // The recorded order of the memberships, where the set is the same, so a refresh shows no false change.
            const recorded = reveal(props.roles ?? []);
            if (JSON.stringify([...recorded].sort()) === JSON.stringify(live.roles)) live.roles = props.roles;
            return { id, props: outputs({ ...props, ...live }), inputs: live };
        } finally {
            await client.end().catch(() => undefined);
        }
    },
    async delete(id, _urn, props) {
        const name = reveal(props.name) || id;
        const admin = await connect();
        try {
            const me = (
                await admin.query("SELECT current_user AS me, usesuper FROM pg_user WHERE usename = current_user")
            ).rows[0];
            const exists = (await admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [name])).rowCount === 1;
            if (!exists) return;
            if (!reveal(props.skipReassignOwned)) {
                const databases = (
                    await admin.query(
                        "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate AND has_database_privilege(datname, 'CONNECT') ORDER BY datname",
                    )
                ).rows.map((r) => r.datname);
                const member =
                    me.usesuper ||
                    (await admin.query("SELECT pg_has_role(current_user, $1, 'MEMBER') AS m", [name])).rows[0].m;
                if (!member)
                    await transaction(admin, [
                        [`grant ${name} to ${me.me}`, `GRANT ${ident(admin, name)} TO CURRENT_USER`],
                    ]);
                try {
                    for (const database of databases) {
                        const client = await connect(database);
                        try {
                            await transaction(client, [
                                [
                                    `reassign what ${name} owns in ${database}`,
                                    `REASSIGN OWNED BY ${ident(client, name)} TO CURRENT_USER`,
                                ],
                                [`drop what ${name} owns in ${database}`, `DROP OWNED BY ${ident(client, name)}`],
                            ]);
                        } finally {
                            await client.end().catch(() => undefined);
                        }
                    }
                } finally {
                    if (!member) {
                        await transaction(admin, [
                            [`revoke ${name} from ${me.me}`, `REVOKE ${ident(admin, name)} FROM CURRENT_USER`],
                        ]);
                    }
                }
            }
            if (!reveal(props.skipDropRole))
                await transaction(admin, [[`drop role ${name}`, `DROP ROLE ${ident(admin, name)}`]]);
        } finally {
            await admin.end().catch(() => undefined);
        }
    },
};

const resources = { "postgresql:index/role:Role": role };
module.exports = {
    resources,
    configure(s) {
        settings = s;
    },
};
if (require.main === module) {
    serve({
        pkg: "postgresql",
        resources,
        configure(s) {
            settings = s;
        },
    });
}
