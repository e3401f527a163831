// TEST-ONLY stand-in for the random provider plugin: RandomBytes and RandomPassword, the two types the program declares.
//
// As the real (bridged terraform-provider-random) resources behave: values are made once, from the OS's CSPRNG, and
// kept in the state; every argument forces a new value (keepers included, which is how the program rotates); read
// changes nothing. The secret values come back wrapped as secrets (the SDK also lists them in additionalSecretOutputs).
// Not implemented: RandomPassword's bcryptHash (the program never reads it), and every other random type.
"use strict";

const { randomBytes, randomInt } = require("node:crypto");
const { changedKeys, containsUnknown, failure, reveal, secret, serve } = require("../serve");

// terraform-provider-random internal/random/string.go.
const NUMERIC = "0123456789";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

/** `count` characters drawn uniformly from `chars`. */
function draw(chars, count) {
    let out = "";
    for (let i = 0; i < count; i++) out += chars[randomInt(chars.length)];
    return out;
}

/** The string CreateString makes: each set's minimum first, the rest from every enabled set, then shuffled. */
function password(p) {
    let chars = "";
    if (p.upper) chars += UPPER;
    if (p.lower) chars += LOWER;
    if (p.numeric) chars += NUMERIC;
    if (p.special) chars += p.overrideSpecial || SPECIAL;
    const specials = p.overrideSpecial || SPECIAL;
    let result =
        draw(UPPER, p.minUpper) + draw(LOWER, p.minLower) + draw(NUMERIC, p.minNumeric) + draw(specials, p.minSpecial);
    result += draw(chars, p.length - result.length);
    const out = result.split("");
    for (let i = out.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [out[i], out[j]] = [out[j], out[i]];
    }
    return out.join("");
}

/** `length` is required, a whole number of at least `min`. */
function lengthFailure(length, min) {
    if (length === undefined) return failure("length", "Missing required argument: length");
    if (containsUnknown(length)) return undefined;
    if (!Number.isInteger(length) || length < min) return failure("length", `length must be at least ${min}`);
    return undefined;
}

/** Every argument of a random resource forces a new value: that is the whole diff. */
function replaceOnAnyChange(keys) {
    return async (_id, _urn, olds, news) => {
        const changed = changedKeys(keys, olds, news);
        return { changes: changed.length > 0, replaces: changed };
    };
}

const BYTES_ARGS = ["length", "keepers"];
const bytesResource = {
    async check(_urn, _olds, news) {
        const problem = lengthFailure(news.length, 1);
        return { inputs: news, failures: problem ? [problem] : [] };
    },
    diff: replaceOnAnyChange(BYTES_ARGS),
    async create(_urn, inputs) {
        const bytes = randomBytes(reveal(inputs.length));
        return {
            id: "none",
            outs: { ...inputs, base64: secret(bytes.toString("base64")), hex: secret(bytes.toString("hex")) },
        };
    },
    async update(_id, _urn, olds, news) {
        // Only reached if the engine updates in place, which the diff never asks for: keep the value.
        return { outs: { ...olds, ...news, base64: olds.base64, hex: olds.hex } };
    },
};

const PASSWORD_DEFAULTS = {
    lower: true,
    upper: true,
    numeric: true,
    special: true,
    minLower: 0,
    minUpper: 0,
    minNumeric: 0,
    minSpecial: 0,
};
const PASSWORD_ARGS = [
    "length",
    "keepers",
    "lower",
    "upper",
    "numeric",
    "number",
    "special",
    "minLower",
    "minUpper",
    "minNumeric",
    "minSpecial",
    "overrideSpecial",
];
const passwordResource = {
    async check(_urn, _olds, news) {
        const inputs = { ...PASSWORD_DEFAULTS, ...news };
        // `number` is the deprecated name of `numeric`; the provider keeps the two equal.
        if (news.numeric === undefined && news.number !== undefined) inputs.numeric = news.number;
        inputs.number = inputs.numeric;
        const failures = [];
        const problem = lengthFailure(inputs.length, 1);
        if (problem) failures.push(problem);
        const p = reveal(inputs);
        if (!containsUnknown(p)) {
            const mins = p.minUpper + p.minLower + p.minNumeric + p.minSpecial;
            if (!problem && p.length < mins) {
                failures.push(
                    failure(
                        "length",
                        `length (${p.length}) must be >= minUpper + minLower + minNumeric + minSpecial (${mins})`,
                    ),
                );
            }
            if (!p.upper && !p.lower && !p.numeric && !p.special) {
                failures.push(failure("special", "at least one of upper, lower, numeric and special must be true"));
            }
        }
        return { inputs, failures };
    },
    diff: replaceOnAnyChange(PASSWORD_ARGS),
    async create(_urn, inputs) {
        return { id: "none", outs: { ...inputs, result: secret(password(reveal(inputs))) } };
    },
    async update(_id, _urn, olds, news) {
        return { outs: { ...olds, ...news, result: olds.result } };
    },
};

const resources = {
    "random:index/randomBytes:RandomBytes": bytesResource,
    "random:index/randomPassword:RandomPassword": passwordResource,
};
module.exports = { password, resources, SPECIAL };
if (require.main === module) serve({ pkg: "random", resources });
