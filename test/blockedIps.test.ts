// BLOCKED_IPS as the stand-in app applies it: clients matched by address, in any notation, inside any listed range.
import { strict as assert } from "node:assert";
import fc from "fast-check";
import { startEmulator, type Emulator } from "../emulator";
import { ipMatches } from "../emulator/app";
import { parseBlockedIps } from "../stacks/config";

describe("BLOCKED_IPS in the stand-in app", function () {
    this.timeout(30_000);

    const table: Array<[client: string, entry: string, blocked: boolean]> = [
        ["2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", true],
        ["2001:DB8:0:0:0:0:0:1", "2001:db8::1", true],
        ["2001:db8::2", "2001:db8::1", false],
        ["2001:db8:ffff::1", "2001:db8::/32", true],
        ["2001:db9::1", "2001:db8::/32", false],
        ["10.1.2.3", "10.0.0.0/8", true],
        ["11.0.0.1", "10.0.0.0/8", false],
        ["192.168.1.100", "192.168.1.0/24", true],
        ["192.168.2.1", "192.168.1.0/24", false],
        // A dual-stack server sees an IPv4 client as ::ffff:a.b.c.d.
        ["::ffff:10.0.0.50", "10.0.0.50", true],
        ["10.0.0.50", "::ffff:10.0.0.50", true],
        ["::ffff:10.9.9.9", "10.0.0.0/8", true],
        // An IPv4 entry never matches an IPv6 client that merely shares bits with it, nor text that is no address.
        ["::a00:1", "10.0.0.1", false],
        ["10.0.0.1", "10.0.0.1x", false],
        ["not-an-ip", "10.0.0.0/8", false],
        // A range written with host bits set covers its network, as a lenient reader takes it.
        ["10.200.0.1", "10.0.0.1/8", true],
    ];
    for (const [client, entry, blocked] of table) {
        it(`${blocked ? "blocks" : "lets through"} ${client} for the entry ${entry}`, () => {
            assert.equal(ipMatches(client, entry), blocked);
        });
    }

    it("blocks exactly the addresses inside a range, by address (a property over random IPv4 ranges)", () => {
        fc.assert(
            fc.property(fc.ipV4(), fc.ipV4(), fc.integer({ min: 8, max: 32 }), (client, base, prefix) => {
                const number = (ip: string) => ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
                const size = 2 ** (32 - prefix);
                const network = Math.floor(number(base) / size) * size;
                const inside = Math.floor(number(client) / size) * size === network;
                return ipMatches(client, `${base}/${prefix}`) === inside;
            }),
        );
    });

    describe("over HTTP, once a deploy carrying the list is live", () => {
        let emulator: Emulator;

        /** The app's answer to a request forwarded for `client`, as behind Render's proxy. */
        const statusFor = async (client: string): Promise<number> => {
            const res = await fetch(`${emulator.appUrl}/healthz`, { headers: { "X-Forwarded-For": client } });
            await res.arrayBuffer();
            return res.status;
        };

        before(async () => {
            emulator = await startEmulator({ port: 0, stepMs: 5 });
            // The value exactly as the config writes it back: canonical, one entry per address or range.
            const { value } = parseBlockedIps("2001:0DB8:0:0:0:0:0:1, 203.0.113.0/24, 10.0.0.50");
            assert.equal(value, "2001:db8::1,203.0.113.0/24,10.0.0.50");
            emulator.setEnvVar("BLOCKED_IPS", value as string);
            const deploy = emulator.dashboardDeploy();
            const deadline = Date.now() + 10_000;
            while (emulator.liveDeploy()?.id !== deploy.id) {
                assert.ok(Date.now() < deadline, "the deploy carrying BLOCKED_IPS never went live");
                await new Promise((resolve) => setTimeout(resolve, 10));
            }
        });

        after(async () => {
            await emulator?.close();
        });

        it("refuses a blocked IPv6 client that writes its address in another notation", async () => {
            assert.equal(await statusFor("2001:db8:0:0:0:0:0:1"), 403);
            assert.equal(await statusFor("2001:DB8::0001"), 403);
            assert.equal(await statusFor("2001:db8::2"), 200);
        });

        it("refuses an address inside a blocked CIDR range, and lets its neighbours through", async () => {
            assert.equal(await statusFor("203.0.113.77"), 403);
            assert.equal(await statusFor("203.0.114.1"), 200);
            assert.equal(await statusFor("::ffff:10.0.0.50"), 403);
            assert.equal(await statusFor("10.0.0.51"), 200);
        });
    });
});
