// Certificates a test signs itself with openssl: a certificate authority, and server certificates it (or nobody) signed,
// in a fresh directory, for a PostgreSQL server (or an impostor of one) that clients must verify.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** A server's certificate and key, as PEM files. */
export interface ServerCertificate {
    readonly certFile: string;
    readonly keyFile: string;
}

export interface TestCertificates {
    readonly dir: string;
    /** The test CA's certificate: what `postgresql:sslrootcert` names to trust it. */
    readonly caFile: string;
    /** A certificate the test CA signed for `names` (DNS names or IP addresses). */
    serverCertificate(name: string, names: readonly string[]): ServerCertificate;
    /** A certificate for `names` that signs itself: what an impostor presents. */
    selfSigned(name: string, names: readonly string[]): ServerCertificate;
    remove(): void;
}

function openssl(args: string[], cwd: string): void {
    try {
        execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
        const { stderr } = err as { stderr?: Buffer };
        throw new Error(`openssl ${args[0]} failed: ${stderr?.toString() || (err as Error).message}`, { cause: err });
    }
}

/** `subjectAltName` for names that are DNS names or IP addresses. */
function altNames(names: readonly string[]): string {
    return names.map((name) => (/^[\d.]+$|:/.test(name) ? `IP:${name}` : `DNS:${name}`)).join(",");
}

/** A new CA (P-256 keys, valid two days) in a fresh temp directory. */
export function createTestCertificates(): TestCertificates {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ahoy-tls-"));
    const curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
        [
            "req",
            "-x509",
            ...curve,
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=ahoy-ops test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        dir,
    );
    const leafExtensions = (names: readonly string[]) =>
        `subjectAltName=${altNames(names)}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`;
    return {
        dir,
        caFile: path.join(dir, "ca.crt"),
        serverCertificate(name, names) {
            fs.writeFileSync(path.join(dir, `${name}.ext`), leafExtensions(names));
            openssl(
                ["req", ...curve, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${names[0]}`],
                dir,
            );
            openssl(
                [
                    "x509",
                    "-req",
                    "-in",
                    `${name}.csr`,
                    "-CA",
                    "ca.crt",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    `${name}.crt`,
                    "-days",
                    "2",
                    "-extfile",
                    `${name}.ext`,
                ],
                dir,
            );
            return { certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) };
        },
        selfSigned(name, names) {
            openssl(
                [
                    "req",
                    "-x509",
                    ...curve,
                    "-keyout",
                    `${name}.key`,
                    "-out",
                    `${name}.crt`,
                    "-days",
                    "2",
                    "-subj",
                    `/CN=${names[0]}`,
                    "-addext",
                    `subjectAltName=${altNames(names)}`,
                ],
                dir,
            );
            return { certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) };
        },
        remove() {
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
