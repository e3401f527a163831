// Reads the running stack's config from the Pulumi runtime and parses it before anything is declared.
import * as pulumi from "@pulumi/pulumi";
import { adminRoleOf, PROJECT, parseStackConfig, StackConfigError, type StackConfig } from "./config";

/** The runtime's record of which keys were stored encrypted (internal to the SDK, stable since 3.x). */
function isSecretKey(fullKey: string): boolean {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
    return runtime.isConfigSecret?.(fullKey) ?? false;
}

/** The stack's config: this project's keys bare, other namespaces' keys full, and which of them are secrets. */
function stackConfigValues(): {
    values: Record<string, string>;
    providerConfig: Record<string, string>;
    secretKeys: Set<string>;
} {
    const values: Record<string, string> = {};
    const providerConfig: Record<string, string> = {};
    const secretKeys = new Set<string>();
    for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
        const ours = fullKey.startsWith(`${PROJECT}:`);
        const key = ours ? fullKey.slice(PROJECT.length + 1) : fullKey;
        (ours ? values : providerConfig)[key] = value;
        if (isSecretKey(fullKey)) secretKeys.add(key);
    }
    return { values, providerConfig, secretKeys };
}

/**
 * The stack's settings, validated whole. A bad config throws a `pulumi.RunError` listing every problem: the CLI prints
 * a RunError as its message alone, where any other error becomes a stack trace and an object dump.
 */
export function loadStackConfig(): StackConfig {
    const { values, providerConfig, secretKeys } = stackConfigValues();
    try {
        const { PGUSER, PGHOST, PGSSLMODE, PGSSLROOTCERT } = process.env;
        return parseStackConfig(values, secretKeys, providerConfig, { PGUSER, PGHOST, PGSSLMODE, PGSSLROOTCERT });
    } catch (err) {
        if (err instanceof StackConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}

/** The role the database admin connection logs in as, as the postgresql provider will pick it. */
export function stackAdminRole(): string {
    return adminRoleOf(stackConfigValues().providerConfig, { PGUSER: process.env.PGUSER });
}

/** The stack's values as stored, this project's keys bare and other namespaces' keys full, for the readiness check. */
export function stackRawValues(): Record<string, string> {
    const { values, providerConfig } = stackConfigValues();
    return { ...providerConfig, ...values };
}
