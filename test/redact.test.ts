// The one redaction (lib/redact.ts), property-tested with the secrets the program itself makes: RandomPassword's
// passwords (special characters included) inside DATABASE_URL, and SECRET_KEY's base64url, quoted in every encoding.
import { strict as assert } from "node:assert";
import fc from "fast-check";
import { redactSecrets, REDACTED } from "../lib/redact";
import { redact as commsRedact } from "../lib/comms/delivery";
import { databaseUrl, encodeUrlComponent, secretKeyOf } from "../stacks/rotation";

// terraform-provider-random's character sets (internal/random/string.go), which RandomPassword draws from with
// `special: true` as components/database/credentials.ts asks; the test-only stand-in uses the same.
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const NUMERIC = "0123456789";
const SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

/** A password as the program's RandomPassword makes one: 32 characters of every set. */
const password = fc.string({
    minLength: 32,
    maxLength: 32,
    unit: fc.constantFrom(...(UPPER + LOWER + NUMERIC + SPECIAL)),
});
/** SECRET_KEY as the program makes it: 32 random bytes, standard base64 in the state, base64url on the service. */
const secretKeyBytes = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes));

const urlOf = (pw: string) =>
    databaseUrl({
        user: "ahoy_app_blue",
        password: pw,
        host: "dpg-cr9q1q3v2p9s73b0ug4g-a",
        port: 5432,
        database: "ahoy_prod",
        sslMode: "require",
        applicationName: "ahoy-indie-media",
    });

/** Every encoding a message may quote a value in (the list), applied to `text`. */
function encodings(text: string): Record<string, string> {
    const bytes = Buffer.from(text, "utf8");
    return {
        "as is": text,
        encodeURIComponent: encodeURIComponent(text),
        "RFC 3986 strict": encodeUrlComponent(text),
        "form-encoded": new URLSearchParams({ v: text }).toString().slice(2),
        base64: bytes.toString("base64"),
        base64url: bytes.toString("base64url"),
    };
}

// Outside every secret's alphabet (all ASCII): a quoted part is delimited exactly.
const OPEN = "«";
const CLOSE = "»";

describe("redaction: no secret in any encoding, nor any 4-character part of one", () => {
    it("a password of RandomPassword's alphabet inside DATABASE_URL is hidden however a message quotes it, whole or in part", () => {
        fc.assert(
            fc.property(
                password,
                fc.nat(),
                fc.nat(),
                fc.constantFrom(...Object.keys(encodings("x"))),
                (pw, a, b, how) => {
                    const url = urlOf(pw);
                    const form = encodings(pw)[how];
                    const start = a % (form.length - 3);
                    const end = Math.min(form.length, start + 4 + (b % (form.length - start - 3)));
                    const quoted = form.slice(start, end);
                    const part = redactSecrets(`${OPEN}${quoted}${CLOSE}`, [url]);
                    assert.equal(
                        part,
                        `${OPEN}${REDACTED}${CLOSE}`,
                        `${how}: ${JSON.stringify(quoted)} left in ${part}`,
                    );
                    const whole = redactSecrets(`${OPEN}${encodings(url)[how]}${CLOSE}`, [url]);
                    assert.equal(whole, `${OPEN}${REDACTED}${CLOSE}`, `${how}: the URL left in ${whole}`);
                },
            ),
            { numRuns: 300 },
        );
    });

    it("the names inside a secret URL stay readable where they are not the URL: the service, the host, the user", () => {
        const url = urlOf("Xk9$mQ2!pL7&vR4*hT6(wZ1)");
        const line = "ahoy-indie-media: ahoy_app_blue logged in to dpg-cr9q1q3v2p9s73b0ug4g-a/ahoy_prod";
        assert.equal(redactSecrets(line, [url]), line);
        const webhook = "https://hooks.slack.com/services/T0ABCDEFG/B0HIJKLMN/aB3dE5gH7jK9mN1pQ3sT5vW7";
        assert.equal(
            redactSecrets(`503 service_unavailable from hooks.slack.com; token aB3dE5gH7jK9`, [webhook]),
            `503 service_unavailable from hooks.slack.com; token ${REDACTED}`,
        );
    });

    it("SECRET_KEY (base64url of random bytes) is hidden as base64url, as the state's standard base64, and base64-encoded again", () => {
        fc.assert(
            fc.property(secretKeyBytes, fc.nat(), fc.nat(), (bytes, a, b) => {
                const secretKey = secretKeyOf(bytes);
                for (const form of [bytes.toString("base64"), ...Object.values(encodings(secretKey))]) {
                    const start = a % (form.length - 3);
                    const end = Math.min(form.length, start + 4 + (b % (form.length - start - 3)));
                    const quoted = form.slice(start, end);
                    const out = redactSecrets(`${OPEN}${quoted}${CLOSE}`, [secretKey]);
                    assert.equal(out, `${OPEN}${REDACTED}${CLOSE}`, `${JSON.stringify(quoted)} left in ${out}`);
                }
            }),
            { numRuns: 200 },
        );
    });

    it("a secret inside a longer base64 text (a Basic header of user:password) leaves none of its own characters", () => {
        fc.assert(
            fc.property(password, fc.string({ maxLength: 5 }), (pw, prefix) => {
                const user = `ahoy_app_blue${prefix}`;
                const header = Buffer.from(`${user}:${pw}`, "utf8").toString("base64");
                const out = redactSecrets(`Authorization: Basic ${header}`, [pw]);
                // The characters that depend on the password's bytes alone all come after the user's part.
                const own = header.slice(Math.ceil((8 * Buffer.byteLength(`${user}:`)) / 6), -4);
                for (let i = 0; i + 4 <= own.length; i++) {
                    assert.ok(
                        !out.includes(own.slice(i, i + 4)),
                        `${own.slice(i, i + 4)} of the password left in ${out}`,
                    );
                }
            }),
            { numRuns: 200 },
        );
    });

    it("Render's error quoting the decoded password of a DATABASE_URL it was sent encoded shows none of it", () => {
        const pw = "Xk9$mQ2!pL7&vR4*hT6(wZ1)";
        const url = urlOf(pw);
        const said = redactSecrets(`password ${pw} is too weak`, [url]);
        assert.equal(said, `password ${REDACTED} is too weak`);
    });

    it("leaves text that shares no 4 characters with a secret as it was, and a whole short secret hidden", () => {
        assert.equal(
            redactSecrets("deploy dep-123 went live", [urlOf("Xk9$mQ2!pL7&vR4*hT6(wZ1)")]),
            "deploy dep-123 went live",
        );
        assert.equal(redactSecrets("flag true set", ["true"]), `flag ${REDACTED} set`);
        assert.equal(redactSecrets("nothing here", [undefined, ""]), "nothing here");
    });

    it("the comms senders' redact is the same function (short strings such as a port are not taken for secrets)", () => {
        fc.assert(
            fc.property(password, (routingKey) => {
                for (const form of Object.values(encodings(routingKey))) {
                    assert.equal(
                        commsRedact(`${OPEN}${form}${CLOSE}`, [routingKey, "25"]),
                        `${OPEN}${REDACTED}${CLOSE}`,
                    );
                }
            }),
            { numRuns: 100 },
        );
        assert.equal(commsRedact("port 25 refused", ["25"]), "port 25 refused");
    });
});
