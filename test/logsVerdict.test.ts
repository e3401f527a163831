// judgeLogs: the service's app and request lines over a watch window, table by table: the 5xx rate and where,
// the app's errors, crash signatures, the 503s a switch makes on purpose, redaction and the cap on what is shown.
import { strict as assert } from "node:assert";
import fc from "fast-check";
import { crashSignature, judgeLogs, type LogsReadings } from "../components/verification/logsVerdict";
import type { LogEntry } from "../lib/render/client";

const SERVICE = "srv-d0abcdefghijklmnopqr";
const INSTANCE = `${SERVICE}-x4k2p`;
const LIVE = Date.UTC(2026, 0, 5, 10, 0, 0);
const SIGNUP_503 = {
    path: "/api/auth/register",
    status: 503,
    because: "DISABLE_SIGNUP=true refuses signups with 503",
};

let seq = 0;
/** Render's log timestamps carry microseconds. */
function at(seconds: number): string {
    return new Date(LIVE + seconds * 1000).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** A request line `seconds` after the deploy went live. */
function request(seconds: number, method: string, path: string, status: number): LogEntry {
    return {
        id: String(++seq),
        message: `[${method}]${status} ahoy-indie-media.onrender.com${path} clientIP="203.0.113.9" responseTimeMS=4`,
        timestamp: at(seconds),
        labels: [
            { name: "resource", value: SERVICE },
            { name: "instance", value: INSTANCE },
            { name: "type", value: "request" },
            { name: "method", value: method },
            { name: "path", value: path },
            { name: "statusCode", value: String(status) },
        ],
    };
}

/** An app line `seconds` after the deploy went live. */
function app(seconds: number, message: string, level = "info"): LogEntry {
    return {
        id: String(++seq),
        message,
        timestamp: at(seconds),
        labels: [
            { name: "resource", value: SERVICE },
            { name: "instance", value: INSTANCE },
            { name: "type", value: "app" },
            { name: "level", value: level },
        ],
    };
}

/** `n` requests of `path` answered `status`, one a second from `from`. */
function many(n: number, path: string, status: number, from = 1): LogEntry[] {
    return Array.from({ length: n }, (_, i) => request(from + (i % 290), "GET", path, status));
}

function readings(logs: LogEntry[], extra: Partial<LogsReadings> = {}): LogsReadings {
    return {
        serviceId: SERVICE,
        from: new Date(LIVE).toISOString(),
        to: new Date(LIVE + 300_000).toISOString(),
        logs,
        complete: true,
        pages: 1,
        ...extra,
    };
}

const figure = (verdict: ReturnType<typeof judgeLogs>, check: string) => {
    const found = verdict.figures.find((f) => f.check === check);
    assert.ok(found, `no ${check} figure`);
    return found;
};

describe("judgeLogs", () => {
    it("a clean window passes, with a summary of what was read", () => {
        const verdict = judgeLogs(readings([app(0, "Server listening on port 10000"), ...many(40, "/healthz", 200)]));
        assert.equal(verdict.ok, true);
        assert.deepEqual(
            verdict.figures.map((f) => [f.check, f.status, f.line]),
            [
                ["request errors", "ok", "request errors: 0.0% 5xx (0 of 40 requests), within 5%"],
                ["app errors", "ok", "app errors: none"],
                ["crash signatures", "ok", "crash signatures: none"],
            ],
        );
        assert.equal(
            verdict.summary,
            "logs: 41 lines (40 requests, 1 app line) in the 300 s since the deploy went live, 1 page: " +
                "request errors: 0.0% 5xx (0 of 40 requests), within 5%; app errors: none; crash signatures: none",
        );
    });

    it("an error burst on one path fails, naming the path, its count and the app's error line", () => {
        const verdict = judgeLogs(
            readings([
                ...many(230, "/healthz", 200),
                ...many(21, "/media/a.jpg", 500, 100),
                ...Array.from({ length: 21 }, (_, i) => app(100 + i, `TypeError: upload ${i} is undefined`, "error")),
                request(150, "GET", "/nowhere", 404),
            ]),
        );
        assert.equal(verdict.ok, false);
        assert.deepEqual(verdict.failures, [
            "request errors: 8.3% 5xx (21 of 252 requests), over 5%: GET /media/a.jpg 500 x 21; " +
                'the app logged: "TypeError: upload 0 is undefined" x 21',
        ]);
        assert.deepEqual(figure(verdict, "app errors").shown, ['"TypeError: upload 0 is undefined" x 21']);
    });

    it("5xx under the threshold pass, still showing where they were", () => {
        const verdict = judgeLogs(readings([...many(98, "/healthz", 200), ...many(2, "/api/upload", 502)]));
        assert.equal(verdict.ok, true);
        assert.equal(
            figure(verdict, "request errors").line,
            "request errors: 2.0% 5xx (2 of 100 requests), within 5%: GET /api/upload 502 x 2",
        );
    });

    it("DISABLE_SIGNUP's 503s from register never count; a 503 elsewhere does", () => {
        const bots = Array.from({ length: 400 }, (_, i) => request(1 + (i % 290), "POST", "/api/auth/register", 503));
        const verdict = judgeLogs(readings([...bots, ...many(100, "/healthz", 200)]), { expected5xx: [SIGNUP_503] });
        assert.equal(verdict.ok, true);
        assert.equal(
            figure(verdict, "request errors").line,
            "request errors: 0.0% 5xx (0 of 500 requests; 400 x 503 from /api/auth/register left out: " +
                "DISABLE_SIGNUP=true refuses signups with 503), within 5%",
        );
        const elsewhere = judgeLogs(readings([...many(10, "/healthz", 200), ...many(5, "/api/feed", 503)]), {
            expected5xx: [SIGNUP_503],
        });
        assert.equal(elsewhere.ok, false);
        assert.match(elsewhere.failures[0], /GET \/api\/feed 503 x 5/);
    });

    // Each row: an app line, and the crash signature it carries (or none).
    const signatures: Array<[string, string, string | undefined]> = [
        ["FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory", "error", "out of memory"],
        ["Killed process 4121 (node) total-vm:1048576kB", "info", "out of memory"],
        ["MemoryError", "error", "out of memory"],
        ["Uncaught TypeError: Cannot read properties of undefined (reading 'id')", "error", "unhandled exception"],
        [
            "[UnhandledPromiseRejection: This error originated either by throwing inside of an async function]",
            "error",
            "unhandled exception",
        ],
        ["Traceback (most recent call last):", "error", "unhandled exception"],
        ['FATAL:  password authentication failed for user "ahoy_app_a"', "error", "FATAL"],
        ["Segmentation fault (core dumped)", "error", "segmentation fault"],
        ["panic: runtime error: invalid memory address or nil pointer dereference", "error", "Go panic"],
        ["worker stopped", "fatal", "FATAL"],
        ["a non-fatal warning: retrying", "warning", undefined],
        ["the room is booked", "info", undefined],
        ["exception handled: retry 2 of 3", "error", undefined],
    ];
    for (const [message, level, signature] of signatures) {
        it(`${JSON.stringify(message.slice(0, 50))} at ${level} ${signature ? `is a crash (${signature})` : "is no crash"}`, () => {
            assert.equal(crashSignature(message, level), signature);
        });
    }

    it("a crash signature fails the watch even with no 5xx at all, naming its time and its line", () => {
        const verdict = judgeLogs(
            readings([
                ...many(50, "/healthz", 200),
                app(90, "<--- Last few GCs --->", "error"),
                app(90, "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory", "error"),
            ]),
        );
        assert.equal(verdict.ok, false);
        assert.deepEqual(verdict.failures, [
            "crash signatures: 1 app line shows a crash: out of memory at 2026-01-05T10:01:30Z (+90 s): " +
                '"FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory"',
        ]);
        assert.equal(figure(verdict, "request errors").status, "ok");
    });

    it("a request whose path looks like a crash is no crash: only the app's lines are read for those", () => {
        const verdict = judgeLogs(readings([request(5, "GET", "/FATAL/uncaught", 404), ...many(9, "/healthz", 200)]));
        assert.equal(verdict.ok, true);
    });

    it("shows a line carrying the Render API key, the database password or SECRET_KEY redacted, in any field", () => {
        const apiKey = "rnd_Ab3dEf6hIj9kLm2nOp5q";
        const password = "c0rrect-h0rse-b4ttery";
        const secretKey = "Zm9vYmFyYmF6cXV4cXV1eA9Q7wKt";
        const verdict = judgeLogs(
            readings([
                ...many(10, "/healthz", 200),
                app(20, `Error: connect ECONNREFUSED postgres://ahoy_app_a:${password}@dpg-x/ahoy`, "error"),
                app(21, `Uncaught Error: Render said 401 for Bearer ${apiKey}`, "error"),
                app(22, `FATAL: bad SECRET_KEY=${secretKey}`, "error"),
                request(23, "GET", `/reset/${secretKey}`, 500),
            ]),
            { secrets: [apiKey, password, secretKey] },
        );
        const everything = JSON.stringify(verdict);
        for (const secret of [apiKey, password, secretKey]) {
            for (let i = 0; i + 6 <= secret.length; i++) {
                assert.ok(
                    !everything.includes(secret.slice(i, i + 6)),
                    `part of a secret shown: ${secret.slice(i, i + 6)}`,
                );
            }
        }
        assert.match(verdict.failures.join("\n"), /postgres:\/\/ahoy_app_a:\[redacted\]@dpg-x\/ahoy/);
        assert.match(verdict.failures.join("\n"), /Bearer \[redacted\]/);
        assert.match(verdict.failures.join("\n"), /GET \/reset\/\[redacted\] 500 x 1/);
    });

    it("caps what it shows: a handful of distinct messages and paths, each cut to a sane length", () => {
        const long = `Error: ${"x".repeat(500)}`;
        const verdict = judgeLogs(
            readings([
                ...Array.from({ length: 9 }, (_, i) =>
                    request(i + 1, "GET", `/api/thing-${String.fromCharCode(97 + i)}`, 500),
                ),
                ...Array.from({ length: 9 }, (_, i) =>
                    app(i + 1, `Error: failure ${String.fromCharCode(97 + i)}\u001b[31m\nred`, "error"),
                ),
                app(30, long, "error"),
            ]),
            { maxShown: 3, maxLineLength: 80 },
        );
        const errors = figure(verdict, "request errors");
        assert.equal(errors.shown.length, 4);
        assert.equal(errors.shown[3], "... 6 more paths");
        const messages = figure(verdict, "app errors").shown;
        assert.equal(messages.length, 4);
        assert.equal(messages[0], '"Error: failure a  red" x 1', "control characters made spaces");
        assert.equal(messages[3], "... 7 more messages");
        const cut = judgeLogs(readings([app(1, long, "error"), ...many(10, "/healthz", 200)]), { maxLineLength: 80 });
        assert.equal(figure(cut, "app errors").shown[0], `"Error: ${"x".repeat(70)}..." x 1`);
    });

    it("counts a stack trace's frames with its error, but shows only the error's own line", () => {
        const verdict = judgeLogs(
            readings([
                ...many(10, "/healthz", 200),
                app(5, "TypeError: upload is undefined", "error"),
                app(5, "    at handleRequest (/opt/render/project/src/server.js:128:24)", "error"),
                app(5, "    at Server.emit (node:events:519:28)", "error"),
            ]),
        );
        const errors = figure(verdict, "app errors");
        assert.equal(errors.value, 3);
        assert.deepEqual(errors.shown, ['"TypeError: upload is undefined" x 1']);
    });

    it("a read that stopped at its page bound: judged as far as it went, the rest could not be judged", () => {
        const partial = judgeLogs(readings(many(100, "/healthz", 200), { complete: false, pages: 50 }));
        assert.equal(partial.ok, true, "reported, not a failure");
        assert.deepEqual(
            partial.figures.map((f) => f.status),
            ["could not be judged", "could not be judged", "could not be judged"],
        );
        assert.match(
            figure(partial, "request errors").line,
            /could not be judged past what was read: 0\.0% 5xx \(0 of 100 requests\), within 5% so far; only the 100 lines up to .* were read \(the read stopped after 50 pages\)/,
        );
        const crashed = judgeLogs(
            readings([...many(10, "/healthz", 200), app(3, "Uncaught Error: boom", "error")], {
                complete: false,
                pages: 50,
            }),
        );
        assert.equal(crashed.ok, false, "what was read already fails");
    });

    it("no request lines in the window: the error rate could not be judged", () => {
        const verdict = judgeLogs(readings([app(1, "Server listening on port 10000")]));
        assert.equal(figure(verdict, "request errors").status, "could not be judged");
        assert.equal(verdict.ok, true);
    });

    it("leaves out lines before the deploy went live, after the window, and of other resources", () => {
        const other = {
            ...request(10, "GET", "/x", 500),
            labels: [
                { name: "resource", value: "srv-other" },
                { name: "type", value: "request" },
                { name: "statusCode", value: "500" },
            ],
        };
        const verdict = judgeLogs(
            readings([
                request(-1, "GET", "/x", 500),
                request(301, "GET", "/x", 500),
                other,
                ...many(5, "/healthz", 200),
            ]),
        );
        assert.equal(verdict.ok, true);
        assert.equal(figure(verdict, "request errors").line, "request errors: 0.0% 5xx (0 of 5 requests), within 5%");
    });

    it("the rate is the share of unexpected 5xx among requests, and fails exactly above the threshold (property)", () => {
        fc.assert(
            fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 60 }), (ok, failed) => {
                const verdict = judgeLogs(readings([...many(ok, "/healthz", 200), ...many(failed, "/api/x", 500)]));
                const rate = failed / (ok + failed);
                return figure(verdict, "request errors").value === rate && verdict.ok === rate <= 0.05;
            }),
        );
    });
});
