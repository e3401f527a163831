// The SecretKey provider's implementation, loaded in the dynamic-provider host at run time (see ./dynamicProvider.ts).
import { randomBytes } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { secretKeyOf } from "../stacks/rotation";
import { generationProblems, isGeneration } from "./render/ownership";
import {
    configureRenderProvider,
    isUnknown,
    openRenderClient,
    RenderProvider,
    revealed,
    serviceChanged,
    serviceFailures,
} from "./render/providerSupport";

/** The variable the app reads its key from. */
export const SECRET_KEY = "SECRET_KEY";

export interface SecretKeySourceInputs {
    /** Render service name or srv- id: where a key to adopt is looked for. */
    service: string;
    apiUrl: string;
    /** `secretKeyGeneration`: a higher one makes a new key; a lower one is refused. */
    generation: number;
    /** Where the key comes from, in words (set by `check`, so the preview says it). */
    origin?: string;
}

export interface SecretKeySourceOutputs extends SecretKeySourceInputs {
    /** The key (a secret): the app's own, adopted byte for byte, or 32 new random bytes as token_urlsafe(32). */
    value: string;
    serviceId: string;
    origin: string;
}

/** 32 new random bytes in the form Python's `secrets.token_urlsafe(32)` prints. */
export function newSecretKey(): string {
    return secretKeyOf(randomBytes(32));
}

/** The key the service has now, if any (an empty value is none). */
async function foundKey(
    provider: RenderProvider<SecretKeySourceInputs, SecretKeySourceOutputs>,
    inputs: SecretKeySourceInputs,
): Promise<{ serviceId: string; value?: string }> {
    const client = openRenderClient(provider, inputs.apiUrl);
    const serviceId = await client.resolveServiceId(inputs.service);
    const value = await client.getEnvVar(serviceId, SECRET_KEY);
    return { serviceId, value: value === "" ? undefined : value };
}

function adopting(service: string, found: boolean, generation: number): string {
    return found
        ? `adopted: the SECRET_KEY found on ${service}, kept byte for byte until secretKeyGeneration goes past ${generation}`
        : `generation ${generation}: a new key (${service} had none)`;
}

const rotated = (generation: number) => `generation ${generation}: a new key (32 random bytes, token_urlsafe)`;

/**
 * SECRET_KEY's value. Its first `up` adopts the key the service already has (the app's sessions and signed data stay
 * valid), or makes one where there is none; a bump of the generation makes a new one; a lower generation is refused.
 */
export const secretKeySourceProvider: RenderProvider<SecretKeySourceInputs, SecretKeySourceOutputs> = {
    configure: configureRenderProvider,

    async check(recordedInputs, news) {
        const olds = revealed(recordedInputs) as Partial<SecretKeySourceInputs>;
        const next = revealed(news);
        const failures: pulumi.dynamic.CheckFailure[] = serviceFailures(next.service, next.apiUrl);
        if (!isUnknown(next.generation) && !isGeneration(next.generation)) {
            failures.push({
                property: "generation",
                reason: `secretKeyGeneration: got ${JSON.stringify(next.generation)}; expected a whole number >= 1`,
            });
        }
        if (failures.length > 0) return { inputs: news, failures };
        const created = olds.generation === undefined || olds.service !== next.service;
        if (!created) {
            const problems = generationProblems({ secretKey: next.generation }, [
                { generations: { secretKey: olds.generation! }, by: "this stack's state" },
            ]);
            if (problems.length > 0) {
                return { inputs: news, failures: problems.map((p) => ({ property: "generation", reason: p.reason })) };
            }
            const origin = next.generation > olds.generation! ? rotated(next.generation) : olds.origin;
            return { inputs: origin === undefined ? news : { ...news, origin }, failures };
        }
        try {
            const found = await foundKey(this, next);
            return {
                inputs: { ...news, origin: adopting(next.service, found.value !== undefined, next.generation) },
                failures,
            };
        } catch (err) {
            const reason = `could not read SECRET_KEY on ${next.service} to adopt it: ${(err as Error).message}`;
            return { inputs: news, failures: [{ property: "service", reason }] };
        }
    },

    async diff(_id, olds, news) {
        const moved = serviceChanged(olds, news.service);
        const changed = moved || news.generation !== olds.generation || news.apiUrl !== olds.apiUrl;
        // Another service has its own key, adopted there.
        return { changes: changed, replaces: moved ? ["service"] : [] };
    },

    async create(inputs) {
        const news = revealed(inputs);
        const found = await foundKey(this, news);
        const origin = adopting(news.service, found.value !== undefined, news.generation);
        const value = found.value ?? newSecretKey();
        return { id: found.serviceId, outs: { ...pick(news), serviceId: found.serviceId, origin, value } };
    },

    async update(_id, olds, news) {
        const old = revealed(olds);
        const next = revealed(news);
        if (next.generation < old.generation) {
            // check refuses this; a stale engine plan must not bring an old key back either.
            throw new Error(
                generationProblems({ secretKey: next.generation }, [
                    { generations: { secretKey: old.generation }, by: "this stack's state" },
                ])[0].reason,
            );
        }
        if (next.generation === old.generation)
            return { outs: { ...old, ...pick(next), origin: old.origin, value: old.value } };
        return {
            outs: { ...pick(next), serviceId: old.serviceId, origin: rotated(next.generation), value: newSecretKey() },
        };
    },

    async read(id, props) {
        if (!props) throw new Error(`secrets:SecretKey ${id}: declare it in the program; it cannot be imported`);
        // The key is what it was made or adopted as; what Render holds is the EnvVar's to read.
        const { service, apiUrl, generation, origin } = props;
        return { id, props, inputs: { service, apiUrl, generation, origin } as SecretKeySourceOutputs };
    },

    // Nothing of its own exists outside the state; the variable stays (the EnvVar's delete leaves it).
    async delete() {},
};

function pick(inputs: SecretKeySourceInputs): SecretKeySourceInputs {
    const { service, apiUrl, generation } = inputs;
    return { service, apiUrl, generation };
}
