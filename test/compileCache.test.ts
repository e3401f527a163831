// The CLI loader's compile cache (scripts/ts-swc.js, scripts/private-cache.js): code `pulumi up` runs beside production
// secrets, so it lives where only the current user can write: node_modules/.cache/ahoy-ops, made 0700 and checked as
// found, never a shared predictable path under /tmp. Another user's directory, one others may write, or a symbolic link
// in its place is refused, and the program still loads without the cache.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { envVarProvider } from "../components/render/envVar";
import { dynamicUrn, PROVIDER_KEY, startProviderHost } from "./support/providerHost";

const run = promisify(execFile);
const root = path.join(__dirname, "..");
const { privateCacheDir } = require("../scripts/private-cache") as {
    privateCacheDir(
        root: string,
        parts: string[],
        uid?: number,
    ): { dir?: string; problem?: undefined } | { dir?: undefined; problem: string };
};

const uid = process.getuid?.() ?? 0;
const mode = (dir: string) => fs.lstatSync(dir).mode & 0o777;

describe("the compile cache's directory", function () {
    this.timeout(60_000);
    let project: string;
    let cache: string;

    beforeEach(() => {
        // A project root of its own: the checks start at its node_modules/.cache.
        project = fs.mkdtempSync(path.join(os.tmpdir(), "ahoy-cache-"));
        fs.mkdirSync(path.join(project, "node_modules"));
        cache = path.join(project, "node_modules", ".cache", "ahoy-ops");
    });
    afterEach(() => fs.rmSync(project, { recursive: true, force: true }));

    it("is made inside the project's node_modules/.cache, every level 0700 and the current user's", () => {
        const found = privateCacheDir(project, ["transpiled"]);
        assert.equal(found.dir, path.join(cache, "transpiled"));
        for (const dir of [path.dirname(cache), cache, found.dir as string]) {
            assert.equal(mode(dir), 0o700, dir);
            assert.equal(fs.lstatSync(dir).uid, uid, dir);
        }
        assert.deepEqual(privateCacheDir(project, ["transpiled"]), found, "found again as made");
    });

    it("takes a node_modules/.cache other tools share, readable by others but writable by its owner only", () => {
        fs.mkdirSync(path.dirname(cache), { mode: 0o755 });
        fs.chmodSync(path.dirname(cache), 0o755);
        assert.ok(privateCacheDir(project, ["transpiled"]).dir);
    });

    // Each case plants what it refuses and says which user the directory is judged for.
    const refused: Array<[string, () => number, RegExp]> = [
        [
            "another user's directory",
            () => {
                fs.mkdirSync(cache, { recursive: true, mode: 0o700 });
                if (uid !== 0) return uid + 1; // without root, the same tree judged for another user than its owner
                fs.chownSync(cache, 65534, 65534);
                return uid;
            },
            /(ahoy-ops|\.cache) is owned by uid \d+, not by uid \d+ \(the user running this\)/,
        ],
        [
            "a directory its group may write",
            () => {
                fs.mkdirSync(cache, { recursive: true, mode: 0o700 });
                fs.chmodSync(cache, 0o770);
                return uid;
            },
            /ahoy-ops has mode 0770; expected 0700/,
        ],
        [
            "a directory others may read",
            () => {
                fs.mkdirSync(path.join(cache, "transpiled"), { recursive: true, mode: 0o700 });
                fs.chmodSync(path.join(cache, "transpiled"), 0o755);
                return uid;
            },
            /transpiled has mode 0755; expected 0700/,
        ],
        [
            "a node_modules/.cache anyone may write",
            () => {
                fs.mkdirSync(path.dirname(cache));
                fs.chmodSync(path.dirname(cache), 0o777);
                return uid;
            },
            /\.cache has mode 0777; expected writable by its owner only/,
        ],
        [
            "a symbolic link to a private directory elsewhere",
            () => {
                const elsewhere = path.join(project, "elsewhere");
                fs.mkdirSync(elsewhere, { mode: 0o700 });
                fs.mkdirSync(path.dirname(cache));
                fs.symlinkSync(elsewhere, cache);
                return uid;
            },
            /ahoy-ops is a symbolic link/,
        ],
        [
            "a file in its place",
            () => {
                fs.mkdirSync(path.dirname(cache));
                fs.writeFileSync(cache, "");
                return uid;
            },
            /ahoy-ops is not a directory/,
        ],
    ];
    for (const [what, plant, why] of refused) {
        it(`refuses ${what}, naming it`, () => {
            const judgedFor = plant();
            const found = privateCacheDir(project, ["transpiled"], judgedFor);
            assert.equal(found.dir, undefined);
            assert.match(found.problem ?? "", why);
        });
    }
});

describe("the compile caches of the processes that hold production secrets", function () {
    this.timeout(120_000);
    const cacheRoot = path.join(root, "node_modules", ".cache", "ahoy-ops");
    const transpiledDir = path.join(cacheRoot, "transpiled");
    let tmp: string;

    /** The program loaded as the CLI loads it (scripts/load-like-cli.js: run.js's ts-node, then ts-swc.js). */
    const loadProgram = () =>
        run(process.execPath, [path.join(root, "scripts", "load-like-cli.js")], {
            cwd: root,
            env: { ...process.env, NODE_OPTIONS: "", TMPDIR: tmp, AHOY_CONFIG_OVERRIDES: "{}" },
        });

    beforeEach(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ahoy-tmpdir-"));
    });
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("the program caches in node_modules/.cache/ahoy-ops, and nothing under the temp directory", async () => {
        const { stdout, stderr } = await loadProgram();
        assert.match(stdout, /"declared":\[/);
        assert.doesNotMatch(stderr, /not cached/);
        assert.deepEqual(fs.readdirSync(tmp), [], "nothing cached under TMPDIR");
        for (const dir of fs.readdirSync(cacheRoot).map((name) => path.join(cacheRoot, name))) {
            assert.equal(mode(dir), 0o700, dir);
        }
        assert.ok(fs.readdirSync(transpiledDir).length > 0, "swc's output is cached in the project");
    });

    it("a cache directory others may write is not used: the loader says why once and the program still loads", async () => {
        const before = new Set(fs.readdirSync(transpiledDir));
        fs.chmodSync(transpiledDir, 0o777);
        try {
            const { stdout, stderr } = await loadProgram();
            assert.match(stdout, /"declared":\[/, "the program loaded");
            const said = stderr.split("\n").filter((line) => line.startsWith("ahoy-ops: compiled code"));
            assert.deepEqual(said, [
                `ahoy-ops: compiled code is not cached: ${transpiledDir} has mode 0777; expected 0700; ` +
                    "remove it (or make it yours, mode 0700) to cache again",
            ]);
            assert.deepEqual(new Set(fs.readdirSync(transpiledDir)), before, "nothing was written into it");
        } finally {
            fs.chmodSync(transpiledDir, 0o700);
        }
    });

    it("the dynamic-provider host keeps tsx's cache in node_modules/.cache/ahoy-ops too, not under the temp directory", async () => {
        const host = await startProviderHost({ TMPDIR: tmp });
        try {
            await host.configure({});
            const inputs = {
                service: "ahoy-indie-media",
                key: "DISABLE_SIGNUP",
                value: "true",
                apiUrl: "http://127.0.0.1:1/v1",
                [PROVIDER_KEY]: envVarProvider.source,
            };
            // A variable already managed (its recorded inputs as olds): the check reads nothing at Render.
            const checked = await host.check(dynamicUrn("render:EnvVar", "ahoy-DISABLE_SIGNUP"), inputs, inputs);
            assert.deepEqual(checked.failures, [], "the provider loaded through tsx");
        } finally {
            await host.close();
        }
        assert.deepEqual(fs.readdirSync(tmp), [], "nothing cached under TMPDIR");
        assert.equal(mode(path.join(cacheRoot, "tsx")), 0o700);
        assert.ok(fs.readdirSync(path.join(cacheRoot, "tsx")).length > 0, "tsx's cache is in the project");
    });

    it("a checkout without scripts/private-cache.js (a revert) still runs a state's provider text, with no disk cache", async () => {
        // The project as an older commit has it: the program's code, no scripts/ directory.
        const checkout = path.join(tmp, "checkout");
        fs.mkdirSync(checkout);
        for (const entry of ["node_modules", "components", "lib", "stacks", "tsconfig.json", "package.json"]) {
            fs.symlinkSync(path.join(root, entry), path.join(checkout, entry));
        }
        const providerFile = path.join(checkout, "provider.js");
        fs.writeFileSync(providerFile, envVarProvider.source);
        const inputs = {
            service: "ahoy-indie-media",
            key: "DISABLE_SIGNUP",
            value: "true",
            apiUrl: "http://127.0.0.1:1/v1",
        };
        const script =
            `const p = require(${JSON.stringify(providerFile)}).handler();` +
            "p.configure({ config: { get: () => undefined } })" +
            // A variable already managed (its recorded inputs as olds): the check reads nothing at Render.
            `.then(() => p.check(${JSON.stringify(inputs)}, ${JSON.stringify(inputs)}))` +
            ".then((r) => console.log(JSON.stringify(r.failures)));";
        const { stdout } = await run(process.execPath, ["-e", script], {
            cwd: checkout,
            env: { ...process.env, NODE_OPTIONS: "", TMPDIR: tmp },
        });
        assert.equal(stdout.trim(), "[]", "the provider loaded through tsx and checked the inputs");
        assert.deepEqual(fs.readdirSync(tmp), ["checkout"], "nothing cached under TMPDIR");
    });
});
