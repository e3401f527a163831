// Preloaded (node --require) into a process under test: every name under .attacker.test resolves to 127.0.0.1, where a
// test's recording listener waits. So a request the program must never send to a foreign host would reach that listener
// instead of failing to resolve: "the listener saw nothing" then means nothing was sent, not that nothing could arrive.
// Plain JavaScript, loaded before any TypeScript loader. Every other name resolves as usual.
"use strict";
const dns = require("node:dns");

const SUFFIX = ".attacker.test";
const lookup = dns.lookup;

dns.lookup = function attackerLookup(hostname, options, callback) {
    const done = typeof options === "function" ? options : callback;
    const opts = typeof options === "function" || options === undefined ? {} : options;
    if (typeof hostname === "string" && hostname.toLowerCase().endsWith(SUFFIX)) {
        if (typeof opts === "object" && opts.all)
            return process.nextTick(done, null, [{ address: "127.0.0.1", family: 4 }]);
        return process.nextTick(done, null, "127.0.0.1", 4);
    }
    return lookup.call(this, hostname, options, callback);
};
