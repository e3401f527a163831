// Reads the running stack's config from the Pulumi runtime and parses it before anything is declared.
import * as pulumi from "@pulumi/pulumi";
import { PROJECT, parseStackConfig, type StackConfig } from "./config";

/** The runtime's record of which keys were stored encrypted (internal to the SDK, stable since 3.x). */
function isSecretKey(fullKey: string): boolean {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
    return runtime.isConfigSecret?.(fullKey) ?? false;
}

/** Every `ahoy-ops:` key of the stack, bare, with the set of those stored as secrets. */
export function projectConfigValues(): { values: Record<string, string>; secretKeys: Set<string> } {
    const values: Record<string, string> = {};
    const secretKeys = new Set<string>();
    for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (!fullKey.startsWith(`${PROJECT}:`)) continue;
        const key = fullKey.slice(PROJECT.length + 1);
        values[key] = value;
        if (isSecretKey(fullKey)) secretKeys.add(key);
    }
    return { values, secretKeys };
}

/** The stack's settings, validated whole; throws a StackConfigError listing every problem. */
export function loadStackConfig(): StackConfig {
    const { values, secretKeys } = projectConfigValues();
    return parseStackConfig(values, secretKeys);
}
