// Which service, through which API, and the release pin: where the program acts and what code it runs.
import { z } from "zod";
import { repositoryProblem } from "../../lib/gitRef";
import { RELEASE_PIN_EXPECTED, releasePinProblem } from "../../lib/releasePin";
import {
    normalRenderApiUrl,
    RENDER_API_URL,
    RENDER_API_URL_EXPECTED,
    renderApiUrlProblem,
} from "../../lib/render/apiUrl";
import { checkedText, setting, type SettingMeta } from "./kit";

const SERVICE_ID = /^srv-[0-9a-v]{20}$/;

const serviceMeta: SettingMeta = {
    pulumiType: "string",
    default: "ahoy-indie-media",
    expected: "a Render service name or a service id (srv- and 20 characters of 0-9a-v)",
    description: "The Render service to manage: its name (resolved through the API at run time) or its srv- id.",
};

const apiUrlMeta: SettingMeta = {
    pulumiType: "string",
    default: RENDER_API_URL,
    expected: RENDER_API_URL_EXPECTED,
    description: "Render's API base URL; point it at the emulator for a rehearsal.",
};

const apiKeyMeta: SettingMeta = {
    pulumiType: "string",
    default: "",
    expected: "a Render API key set with `pulumi config set --secret renderApiKey`, or unset to use RENDER_API_KEY",
    description: "Render API key (secret). Unset: the RENDER_API_KEY environment variable is used.",
    secret: true,
};

const releasePinMeta: SettingMeta = {
    pulumiType: "string",
    default: "",
    expected: `${RELEASE_PIN_EXPECTED}, or unset`,
    description:
        "Roll back: pin the service to a deploy id (dep-...), a commit SHA or a git tag; autodeploy is off while set. Unset: normal deploys resume.",
};

const repositoryMeta: SettingMeta = {
    pulumiType: "string",
    default: "",
    expected: "the service's git repository URL (https://, ssh://, git@host:owner/repo) without credentials, or unset",
    description:
        "The git repository a releasePin tag is looked up in (git ls-remote); unset: the repository Render builds the service from.",
};

/** The service, the API that reaches it, and the pin. */
export const releaseSettings = {
    service: setting(
        serviceMeta,
        z
            .string()
            .trim()
            .min(1, { error: `expected ${serviceMeta.expected}` })
            .refine((v) => !v.startsWith("srv-") || SERVICE_ID.test(v), {
                error: `expected ${serviceMeta.expected}`,
            }),
    ),
    // The Render API key goes only where this allows: Render's API or a loopback emulator (lib/render/apiUrl.ts).
    renderApiUrl: setting(
        apiUrlMeta,
        z.string().transform((raw, ctx) => {
            const problem = renderApiUrlProblem(raw.trim());
            if (problem) ctx.addIssue({ code: "custom", message: problem });
            return problem ? z.NEVER : normalRenderApiUrl(raw.trim());
        }),
    ),
    renderApiKey: setting(apiKeyMeta, z.string().optional()),
    releasePin: checkedText(releasePinMeta, releasePinProblem),
    repository: checkedText(repositoryMeta, repositoryProblem),
};
