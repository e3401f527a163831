// The program's switches as the engine steps them (index.ts: FeatureFlags' EnvVars, then Release's Deploy), for the
// drills through the provider host: one EnvVar per switch variable, then the Deploy taking their revisions.
import { deployProvider } from "../../components/render/deploy";
import { envVarProvider } from "../../components/render/envVar";
import type { Step } from "./engine";

/** The steps for `variables` (key, value; undefined: absent) on `ahoy-indie-media` through `apiUrl`. */
export function switchSteps(variables: ReadonlyArray<readonly [string, string | undefined]>, apiUrl: string): Step[] {
    return [
        ...variables.map(([key, value]) => ({
            name: `ahoy-${key}`,
            provider: envVarProvider,
            inputs: () => ({ service: "ahoy-indie-media", key, value, apiUrl }),
        })),
        {
            name: "ahoy-deploy",
            provider: deployProvider,
            inputs: (states) => ({
                service: "ahoy-indie-media",
                apiUrl,
                revisions: Object.fromEntries(
                    variables.map(([key]) => [key, states.get(`ahoy-${key}`)?.outputs.revision]),
                ),
            }),
        },
    ];
}
