// The builders every settings fragment uses: raw config text in, a typed value out, the key's metadata registered.
import { z } from "zod";

/** What `Pulumi.yaml` must say about a key; kept beside the schema so the two cannot drift apart. */
export interface SettingMeta {
    /** The `type` the key has in `Pulumi.yaml`'s `config:` schema. */
    readonly pulumiType: "boolean" | "integer" | "string" | "object";
    /** The default `Pulumi.yaml` declares, as the CLI hands it to the program ("" means unset). */
    readonly default: string;
    /** The form a value must take, as error messages state it. */
    readonly expected: string;
    /** One line for `Pulumi.yaml` and `pulumi config`. */
    readonly description: string;
    /** The value must be stored with `pulumi config set --secret` and is never printed. */
    readonly secret?: boolean;
}

/** One problem with one key: what was received and what was expected. */
export interface ConfigProblem {
    readonly key: string;
    readonly message: string;
}

/** A key's schema: raw text in (undefined or "" when unset), its typed value out, its metadata registered with zod. */
export function setting<T extends z.ZodType>(meta: SettingMeta, schema: T) {
    return z
        .preprocess((raw) => (raw === undefined || raw === "" ? meta.default || undefined : raw), schema)
        .meta({ ...meta });
}

export function flag(description: string, defaultValue: "true" | "false" = "false") {
    const meta: SettingMeta = { pulumiType: "boolean", default: defaultValue, expected: "true or false", description };
    return setting(
        meta,
        z.enum(["true", "false"], { error: `expected ${meta.expected}` }).transform((v) => v === "true"),
    );
}

/** Digits only (no sign, exponent or spaces), read as a whole number from `min` to `max`. */
export function digits(min: number, max: number, error: string) {
    return z
        .string()
        .regex(/^\d+$/, { error })
        .transform(Number)
        .pipe(z.number().int().min(min, { error }).max(max, { error }));
}

export function wholeNumber(
    meta: Omit<SettingMeta, "pulumiType" | "expected">,
    min: number,
    max: number,
    unit: string,
) {
    const expected = `whole ${unit} from ${min} to ${max}`;
    return setting({ ...meta, pulumiType: "integer", expected }, digits(min, max, `expected ${expected}`));
}

export function oneOf<const T extends readonly [string, ...string[]]>(
    values: T,
    meta: Omit<SettingMeta, "pulumiType" | "expected">,
) {
    const expected = `one of ${values.join(", ")}`;
    return setting({ ...meta, pulumiType: "string", expected }, z.enum(values, { error: `expected ${expected}` }));
}

/** Text matching `pattern`, at most `maxLength` characters. */
function matching(expected: string, pattern: RegExp, maxLength: number) {
    const error = `expected ${expected}`;
    return z.string().regex(pattern, { error }).max(maxLength, { error });
}

/** A plain text setting checked against a pattern (an identifier, a host name), with a default. */
export function text(meta: Omit<SettingMeta, "pulumiType">, pattern: RegExp, maxLength = 255) {
    return setting({ ...meta, pulumiType: "string" }, matching(meta.expected, pattern, maxLength));
}

/** A plain text setting that may be left unset. */
export function optionalText(meta: Omit<SettingMeta, "pulumiType" | "default">, pattern: RegExp, maxLength = 255) {
    return setting(
        { ...meta, pulumiType: "string", default: "" },
        matching(meta.expected, pattern, maxLength).optional(),
    );
}

/** A text setting judged by a function that names what is wrong (one shared with the provider that uses it). */
export function checkedText(meta: SettingMeta, problem: (value: string) => string | undefined) {
    return setting(
        meta,
        z
            .string()
            .transform((raw, ctx) => {
                const value = raw.trim();
                const found = problem(value);
                if (found) ctx.addIssue({ code: "custom", message: found });
                return found ? z.NEVER : value;
            })
            .optional(),
    );
}
