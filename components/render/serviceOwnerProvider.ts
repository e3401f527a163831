// The ServiceOwner provider's implementation, loaded in the dynamic-provider host at run time (see ../dynamicProvider.ts).
import { randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { RenderClient } from "../../lib/render/client";
import { envVarKeyProblem } from "./envVarProvider";
import {
    adoptionRecord,
    formatMarker,
    type Generations,
    highestGenerations,
    isGeneration,
    isStackName,
    letGoPlan,
    mayLetGo,
    noLongerManaged,
    OWNER_MARKER_KEY,
    type OwnerMarker,
    type OwnershipVerdict,
    ownershipVerdict,
    parseMarker,
    restoreSteps,
    STACK_NAME_EXPECTED,
} from "./ownership";
import {
    configureRenderProvider,
    isUnknown,
    openRenderClient,
    RenderProvider,
    revealed,
    serviceChanged,
    serviceFailures,
} from "./providerSupport";

/** The inputs the program declares; `found` and `onDestroy` are added by `check`, so the preview shows them. */
export interface ServiceOwnerInputs {
    service: string;
    apiUrl: string;
    /** This stack, `<organization>/<project>/<stack>`. */
    stack: string;
    /** `takeOverFrom`: the stack this one takes the service over from, or absent. */
    takeOverFrom?: string;
    /** The generations this `up` runs at (`databaseCredential` absent while the database is unmanaged). */
    generations: Generations;
    /** The switches the program manages: put back as found when the service is let go. */
    switches: string[];
    /** The secret variables the program manages: kept as they are when the service is let go. */
    secrets: string[];
    /** Anything else the stack keeps when it lets go, by name, with why (the database's login roles). */
    kept?: Record<string, string>;
    /** Each switch as it was before any stack wrote it (null: absent), from the marker or read at adoption. */
    found?: Record<string, string | null>;
    /** What letting go (`pulumi destroy`, a service change) does to each key, in words. */
    onDestroy?: Record<string, string>;
    /** The service's srv- id, resolved by `check` on a create and kept while `service` stays the same. */
    serviceId?: string;
}

/** The outputs: the inputs, the service's srv- id, and this resource's claim on the marker. */
export interface ServiceOwnerOutputs extends ServiceOwnerInputs {
    serviceId: string;
    /** The claim this resource wrote into the marker: only while the marker carries it does `delete` let go. */
    claim: string;
    /** When the stack claimed the service. */
    since: string;
}

function inputFailures(news: ServiceOwnerInputs): pulumi.dynamic.CheckFailure[] {
    const failures = serviceFailures(news.service, news.apiUrl);
    if (!isUnknown(news.stack) && !isStackName(news.stack)) {
        failures.push({
            property: "stack",
            reason: `stack must be ${STACK_NAME_EXPECTED}, got ${JSON.stringify(news.stack)}`,
        });
    }
    if (news.takeOverFrom !== undefined && !isUnknown(news.takeOverFrom) && !isStackName(news.takeOverFrom)) {
        failures.push({
            property: "takeOverFrom",
            reason: `takeOverFrom must be ${STACK_NAME_EXPECTED}, got ${JSON.stringify(news.takeOverFrom)}`,
        });
    }
    const g = news.generations as Partial<Generations> | undefined;
    if (
        !g ||
        !isGeneration(g.secretKey) ||
        (g.databaseCredential !== undefined && !isGeneration(g.databaseCredential))
    ) {
        failures.push({
            property: "generations",
            reason: `generations must be whole numbers >= 1, got ${JSON.stringify(g)}`,
        });
    }
    for (const property of ["switches", "secrets"] as const) {
        const keys = news[property];
        if (!Array.isArray(keys)) {
            failures.push({ property, reason: `${property} must be a list of variable names` });
            continue;
        }
        for (const key of keys) {
            const problem = envVarKeyProblem(key);
            if (problem) failures.push({ property, reason: problem });
            if (key === OWNER_MARKER_KEY)
                failures.push({ property, reason: `${OWNER_MARKER_KEY} is the owner marker` });
        }
    }
    return failures;
}

/** The variables at Render now, by key. */
async function variables(client: RenderClient, serviceId: string): Promise<Record<string, string>> {
    return Object.fromEntries((await client.listEnvVars(serviceId)).map((v) => [v.key, v.value]));
}

function verdictError(service: string, verdict: Extract<OwnershipVerdict, { ok: false }>): Error {
    return new Error(`${service}: ${verdict.problems.map((p) => p.reason).join("; ")}`);
}

/** What `check` reads at Render: the service's id, the marker, and (when switches are new to the record) every value. */
async function readService(
    client: RenderClient,
    news: ServiceOwnerInputs,
    olds: Partial<ServiceOwnerInputs>,
): Promise<{ serviceId: string; marker?: string; current: Record<string, string>; same: boolean }> {
    const same = olds.serviceId !== undefined && olds.service === news.service;
    const serviceId = same ? olds.serviceId! : await client.resolveServiceId(news.service);
    const recorded = same ? olds.found : undefined;
    if (recorded && news.switches.every((key) => key in recorded)) {
        // One GET on every preview: whether the service is still this stack's, and at which generations.
        return { serviceId, marker: await client.getEnvVar(serviceId, OWNER_MARKER_KEY), current: {}, same };
    }
    const current = await variables(client, serviceId);
    return { serviceId, marker: current[OWNER_MARKER_KEY], current, same };
}

/** Writes the marker, then reads it back: a stack claiming at the same moment is caught before anything else writes. */
async function writeMarker(
    client: RenderClient,
    serviceId: string,
    service: string,
    marker: OwnerMarker,
): Promise<void> {
    await client.setEnvVar(serviceId, OWNER_MARKER_KEY, formatMarker(marker));
    const back = parseMarker(await client.getEnvVar(serviceId, OWNER_MARKER_KEY));
    if (back.state !== "present" || back.marker.claim !== marker.claim) {
        const who = back.state === "present" ? `stack ${back.marker.stack}` : "something else";
        throw new Error(
            `${service}: ${who} wrote ${OWNER_MARKER_KEY} at the same moment as ${marker.stack}; nothing else was ` +
                "written by this up. Make sure only one stack manages the service, then run pulumi up again",
        );
    }
}

/** The marker this stack holds the service with, after `verdict` allowed it. */
function markerFor(
    news: ServiceOwnerInputs,
    verdict: Extract<OwnershipVerdict, { ok: true }>,
    claim: string,
    since: string,
): OwnerMarker {
    return {
        stack: news.stack,
        claim,
        since: verdict.action === "hold" && verdict.basis ? verdict.basis.since : since,
        generations: highestGenerations(news.generations, verdict.basis?.generations),
        found: news.found ?? {},
    };
}

function outputsOf(news: ServiceOwnerInputs, serviceId: string, claim: string, since: string): ServiceOwnerOutputs {
    const { service, apiUrl, stack, takeOverFrom, generations, switches, secrets, kept, found, onDestroy } = news;
    return {
        service,
        apiUrl,
        stack,
        ...(takeOverFrom === undefined ? {} : { takeOverFrom }),
        generations,
        switches,
        secrets,
        ...(kept === undefined ? {} : { kept }),
        found: found ?? {},
        onDestroy: onDestroy ?? {},
        serviceId,
        claim,
        since,
    };
}

/**
 * One stack owns a service: its first `up` reads every variable it will manage and records, in a marker Render keeps
 * with the service (the AHOY_OPS_STACK variable), which stack manages it, the switches as found and the generations
 * started. A second stack refuses at preview, before writing anything, unless `takeOverFrom` names the owner; a
 * generation lower than one already started is refused too. Letting go (`pulumi destroy`, a service change) puts the
 * switches back as found and keeps the secrets, and only while the marker is still this resource's own.
 */
export const serviceOwnerProvider: RenderProvider<ServiceOwnerInputs, ServiceOwnerOutputs> = {
    configure: configureRenderProvider,

    async check(recordedInputs, news) {
        // The engine hands check the recorded inputs (none on a create), which include what check added then.
        const olds = revealed(recordedInputs) as Partial<ServiceOwnerInputs>;
        const inputs = revealed(news);
        const failures = inputFailures(inputs);
        if (failures.length > 0) return { inputs: news, failures };
        const client = openRenderClient(this, inputs.apiUrl);
        let read: Awaited<ReturnType<typeof readService>>;
        try {
            read = await readService(client, inputs, olds);
        } catch (err) {
            const reason = `could not read ${inputs.service} at Render to see who manages it: ${(err as Error).message}`;
            return { inputs: news, failures: [{ property: "service", reason }] };
        }
        const recorded = read.same ? { generations: olds.generations } : undefined;
        const verdict = ownershipVerdict(parseMarker(read.marker), { ...inputs, recorded }, inputs.service);
        if (!verdict.ok) return { inputs: news, failures: [...verdict.problems] };
        if (verdict.action !== "hold" || inputs.takeOverFrom !== undefined) void pulumi.log.info(verdict.note);
        for (const key of read.same ? noLongerManaged(olds, inputs) : []) {
            void pulumi.log.info(`${inputs.service}: ${key} is no longer managed by this stack; it stays as it is`);
        }
        const found = adoptionRecord(
            inputs.switches,
            read.current,
            verdict.basis?.found,
            read.same ? olds.found : undefined,
        );
        return {
            inputs: {
                ...news,
                serviceId: read.serviceId,
                found,
                onDestroy: letGoPlan(found, inputs.secrets, inputs.kept),
            },
            failures: [],
        };
    },

    async diff(_id, olds, news) {
        const old = revealed(olds);
        const next = revealed(news);
        const moved = serviceChanged(old, next.service);
        const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
        const changed =
            moved ||
            next.apiUrl !== old.apiUrl ||
            next.stack !== old.stack ||
            next.takeOverFrom !== old.takeOverFrom ||
            !same(next.generations, old.generations) ||
            !same([...next.switches].sort(), [...old.switches].sort()) ||
            !same([...next.secrets].sort(), [...old.secrets].sort()) ||
            !same(next.kept ?? {}, old.kept ?? {}) ||
            !same(next.found, old.found);
        // A new service is claimed before the old one is let go (its switches put back, its secrets kept).
        return { changes: changed, replaces: moved ? ["service"] : [], deleteBeforeReplace: false };
    },

    async create(inputs) {
        const news = revealed(inputs);
        const client = openRenderClient(this, news.apiUrl);
        // The id check found for this service (a service id does not change); the marker is read again just before
        // writing, as check may have run minutes ago (a preview, then `up`).
        const serviceId = news.serviceId ?? (await client.resolveServiceId(news.service));
        const verdict = ownershipVerdict(
            parseMarker(await client.getEnvVar(serviceId, OWNER_MARKER_KEY)),
            news,
            news.service,
        );
        if (!verdict.ok) throw verdictError(news.service, verdict);
        const claim = randomBytes(8).toString("hex");
        const marker = markerFor(news, verdict, claim, new Date().toISOString());
        await writeMarker(client, serviceId, news.service, marker);
        void pulumi.log.info(`${news.service}: ${OWNER_MARKER_KEY} names ${news.stack} (${verdict.action})`);
        return { id: serviceId, outs: outputsOf(news, serviceId, claim, marker.since) };
    },

    async update(_id, olds, news) {
        const old = revealed(olds);
        const next = revealed(news);
        const client = openRenderClient(this, next.apiUrl);
        const raw = await client.getEnvVar(old.serviceId, OWNER_MARKER_KEY);
        const verdict = ownershipVerdict(
            parseMarker(raw),
            { ...next, recorded: { generations: old.generations } },
            next.service,
        );
        if (!verdict.ok) throw verdictError(next.service, verdict);
        // The claim stays this resource's, unless the service came back to it from another stack.
        const claim = verdict.basis && verdict.basis.stack !== next.stack ? randomBytes(8).toString("hex") : old.claim;
        const marker = markerFor(
            next,
            verdict,
            claim,
            verdict.action === "hold" ? old.since : new Date().toISOString(),
        );
        if (raw !== formatMarker(marker)) await writeMarker(client, old.serviceId, next.service, marker);
        return { outs: outputsOf(next, old.serviceId, claim, marker.since) };
    },

    async read(id, props) {
        if (!props) throw new Error(`render:ServiceOwner ${id}: declare it in the program; it cannot be imported`);
        // The marker is checked on every preview; a refresh keeps what this stack recorded.
        const recorded = revealed(props);
        const inputs: Partial<ServiceOwnerOutputs> = { ...recorded };
        delete inputs.claim;
        delete inputs.since;
        return { id, props: recorded, inputs: inputs as ServiceOwnerOutputs };
    },

    async delete(_id, props) {
        const recorded = revealed(props);
        const client = openRenderClient(this, recorded.apiUrl);
        const reading = parseMarker(await client.getEnvVar(recorded.serviceId, OWNER_MARKER_KEY));
        const may = mayLetGo(reading, recorded.stack, recorded.claim);
        if (!may.ok || reading.state !== "present") {
            void pulumi.log.info(`${recorded.service}: left as it is (${may.why}); nothing written`);
            return;
        }
        const managed = new Set(recorded.switches);
        const found = Object.fromEntries(Object.entries(reading.marker.found).filter(([key]) => managed.has(key)));
        const current = await variables(client, recorded.serviceId);
        for (const step of restoreSteps(found, current)) {
            if (step.kind === "delete") await client.deleteEnvVar(recorded.serviceId, step.key);
            else await client.setEnvVar(recorded.serviceId, step.key, step.value);
        }
        const plan = letGoPlan(found, recorded.secrets, recorded.kept);
        void pulumi.log.info(
            `${recorded.service}: let go by ${recorded.stack}: ` +
                Object.entries(plan)
                    .map(([key, what]) => `${key} ${what}`)
                    .join("; ") +
                ". The live deploy runs as it did; the next deploy picks these up",
        );
        // Last: until the marker goes, a re-run of the destroy finds the service still this stack's and finishes.
        await client.deleteEnvVar(recorded.serviceId, OWNER_MARKER_KEY);
    },
};
