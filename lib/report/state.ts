// What the report reads from `pulumi stack export` (never with --show-secrets): the Timeline's record, and the
// current Incident ledger, deploy and checks, which are fresher than the Timeline when the last `up` failed or was
// killed after them. Secret outputs stay encrypted and are never read. Pure.
import { SECRET_SIGNATURE_KEY } from "../pulumiWire";
import type { ChecksFact, DeployFact, TimelineEntry } from "./record";

/** The resource types the report reads, as the state names them. */
export const TYPES = {
    timeline: "pulumi-nodejs:dynamic/report:Timeline",
    incident: "pulumi-nodejs:dynamic/comms:Incident",
    deploy: "pulumi-nodejs:dynamic/render:Deploy",
    verification: "pulumi-nodejs:dynamic/verify:Verification",
} as const;

/** What the state holds for the report. */
export interface StateFacts {
    /** The Timeline's entries and incidents' ledgers; absent before the first `up` that declared it. */
    readonly timeline?: { readonly entries: readonly TimelineEntry[]; readonly incidents: readonly unknown[] };
    /** The Incident resource's ledger as it stands (as found: read through ledger.ts). */
    readonly incident?: unknown;
    readonly deploy?: DeployFact;
    readonly checks?: ChecksFact;
    /** Operations an `up` began and never finished (it was killed): "updating ahoy-verify". */
    readonly pending: readonly string[];
    /** Outputs the report would read but the state holds encrypted: named, never read. */
    readonly encrypted: readonly string[];
}

function isEncrypted(value: unknown): boolean {
    return typeof value === "object" && value !== null && SECRET_SIGNATURE_KEY in value;
}

interface ExportedResource {
    readonly urn: string;
    readonly type: string;
    readonly outputs?: Record<string, unknown>;
}

const nameOf = (urn: string) => urn.split("::").pop() ?? urn;

/** `{ key: value }` when there is a value, else nothing to spread. */
const optional = <K extends string>(key: K, value: string | undefined) =>
    (value ? { [key]: value } : {}) as Partial<Record<K, string>>;

/** Reads `pulumi stack export`'s JSON; throws naming what is missing when it is not an export. */
export function parseExport(text: string): StateFacts {
    const exported = JSON.parse(text) as {
        deployment?: {
            resources?: ExportedResource[];
            pending_operations?: Array<{ resource?: { urn?: string }; type?: string }>;
        };
    };
    if (typeof exported !== "object" || exported === null) {
        throw new Error("pulumi stack export printed something that is not a stack export");
    }
    const resources = exported.deployment?.resources ?? [];
    const encrypted: string[] = [];
    const of = (type: string) => resources.find((r) => r.type === type);
    /** One output, or undefined when absent or encrypted (then named in `encrypted`). */
    const output = (resource: ExportedResource | undefined, key: string): unknown => {
        const value = resource?.outputs?.[key];
        if (isEncrypted(value)) {
            encrypted.push(`${nameOf(resource!.urn)}.${key}`);
            return undefined;
        }
        return value;
    };
    const timelineResource = of(TYPES.timeline);
    const entries = output(timelineResource, "entries");
    const incidents = output(timelineResource, "incidents");
    const record = output(of(TYPES.incident), "record");
    const deployResource = of(TYPES.deploy);
    const verificationResource = of(TYPES.verification);
    const str = (resource: ExportedResource | undefined, key: string) => {
        const value = output(resource, key);
        return typeof value === "string" ? value : undefined;
    };
    const deployId = str(deployResource, "deployId");
    const liveAt = str(deployResource, "liveAt");
    const verifiedAt = str(verificationResource, "verifiedAt");
    const results = output(verificationResource, "results");
    return {
        ...(Array.isArray(entries) && {
            timeline: { entries: entries as TimelineEntry[], incidents: Array.isArray(incidents) ? incidents : [] },
        }),
        ...(record !== undefined && { incident: record }),
        ...(deployId &&
            liveAt && {
                deploy: {
                    id: deployId,
                    commit: str(deployResource, "commitId") ?? "",
                    status: str(deployResource, "status") ?? "",
                    liveAt,
                    ...optional("plan", str(deployResource, "plan")),
                    ...optional("decided", str(deployResource, "decided")),
                    ...optional("releasePin", str(deployResource, "releasePin")),
                },
            }),
        ...(verifiedAt && Array.isArray(results) && { checks: { verifiedAt, results: results.map(String) } }),
        pending: (exported.deployment?.pending_operations ?? []).map(
            (op) => `${op.type ?? "an operation"} ${op.resource?.urn ? nameOf(op.resource.urn) : "(unnamed)"}`,
        ),
        encrypted: [...new Set(encrypted)],
    };
}
