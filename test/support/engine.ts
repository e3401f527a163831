// A stack driven through the dynamic-provider host in the Pulumi engine's own order: registrations first, each resource
// Checked, Diffed and then Created, Updated or left as it is, in the program's (dependency) order; the resources the
// program no longer declares are deleted only after every registration (pulumi/pulumi, deployment_executor.go,
// performPostSteps). A failed step stops the `up` there, and the failed resource keeps its recorded state.
import type { ModuleProvider } from "../../components/dynamicProvider";
import {
    dynamicUrn,
    PROVIDER_KEY,
    type Props,
    type ProviderHost,
    type ResourceState,
    type StepOp,
    upResource,
} from "./providerHost";

/** The engine's placeholder, in a preview, for an output not known until the resource is applied. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** One dynamic resource of the program: its provider, and its inputs from the states of those declared before it. */
export interface ResourceStep {
    readonly name: string;
    readonly provider: ModuleProvider;
    readonly inputs: (states: ReadonlyMap<string, ResourceState>) => Props;
}

/** Something the engine does in order that is not a dynamic resource here (a bridged provider's update, say). */
export interface ActionStep {
    readonly name: string;
    readonly run: (states: ReadonlyMap<string, ResourceState>) => Promise<void>;
}

export type Step = ResourceStep | ActionStep;

/** What one `up` did: the op of each step in order, and the deletions after. */
export interface UpResult {
    readonly ops: Record<string, StepOp | "ran">;
    readonly deleted: string[];
}

/** An `up` that stopped at a step: which, why, and what had happened before it. */
export class UpFailed extends Error {
    constructor(
        readonly step: string,
        readonly cause: Error,
        readonly ops: Record<string, StepOp | "ran">,
    ) {
        super(`pulumi up failed at ${step}: ${cause.message}`);
        this.name = "UpFailed";
    }
}

function isResource(step: Step): step is ResourceStep {
    return "provider" in step;
}

/** The recorded state of a stack, and `pulumi up`/`preview` of a program against it. */
export class EngineStack {
    readonly states = new Map<string, ResourceState>();
    private readonly providers = new Map<string, ModuleProvider>();

    constructor(private readonly host: ProviderHost) {}

    urnOf(step: ResourceStep): string {
        return dynamicUrn(`${step.provider.module}:${step.provider.type}`, step.name);
    }

    /** The recorded outputs of resource `name`; fails naming it when the stack has none. */
    outputs(name: string): Props {
        const state = this.states.get(name);
        if (!state) throw new Error(`the stack has no resource ${name}; it has ${[...this.states.keys()].join(", ")}`);
        return state.outputs;
    }

    /** `pulumi up`: every step in order, then the deletions of resources no longer declared. Throws UpFailed. */
    async up(steps: readonly Step[]): Promise<UpResult> {
        const ops: Record<string, StepOp | "ran"> = {};
        for (const step of steps) {
            try {
                if (!isResource(step)) {
                    await step.run(this.states);
                    ops[step.name] = "ran";
                    continue;
                }
                const inputs = { ...step.inputs(this.states), [PROVIDER_KEY]: step.provider.source };
                const result = await upResource(this.host, this.urnOf(step), inputs, this.states.get(step.name));
                this.states.set(step.name, result.state);
                this.providers.set(step.name, step.provider);
                ops[step.name] = result.op;
            } catch (err) {
                throw new UpFailed(step.name, err as Error, ops);
            }
        }
        const declared = new Set(steps.map((s) => s.name));
        const deleted: string[] = [];
        for (const [name, state] of [...this.states].reverse()) {
            if (declared.has(name)) continue;
            await this.host.delete(state.id, state.urn, state.outputs);
            this.states.delete(name);
            deleted.push(name);
        }
        return { ops, deleted };
    }

    /** `pulumi destroy`: every resource deleted, the last declared first (dependents before what they depend on). */
    async destroy(): Promise<string[]> {
        const deleted: string[] = [];
        for (const [name, state] of [...this.states].reverse()) {
            await this.host.delete(state.id, state.urn, state.outputs);
            this.states.delete(name);
            deleted.push(name);
        }
        return deleted;
    }

    /**
     * `pulumi preview`: Check and Diff of every resource, nothing applied. A resource that would change hands the
     * next ones its new inputs with every other output unknown, as the engine does for a provider without previews.
     * Returns what each resource would do and the checked inputs (what the preview shows).
     */
    async preview(steps: readonly Step[]): Promise<Record<string, { op: StepOp; inputs: Props }>> {
        const planned = new Map(this.states);
        const result: Record<string, { op: StepOp; inputs: Props }> = {};
        for (const step of steps) {
            if (!isResource(step)) continue;
            const prior = this.states.get(step.name);
            const urn = this.urnOf(step);
            const inputs = { ...step.inputs(planned), [PROVIDER_KEY]: step.provider.source };
            const checked = await this.host.check(urn, prior?.inputs ?? {}, inputs);
            if (checked.failures.length > 0) {
                throw new Error(
                    `preview: ${step.name}: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`,
                );
            }
            let op: StepOp = "create";
            if (prior) {
                const diff = await this.host.diff(prior.id, urn, prior.outputs, checked.inputs);
                op = diff.changes === "none" ? "same" : diff.replaces.length > 0 ? "replace" : "update";
            }
            result[step.name] = { op, inputs: checked.inputs };
            if (op !== "same") {
                // The new inputs stand for the outputs; any other output reads as unknown.
                const outputs = new Proxy({ ...checked.inputs } as Props, {
                    get: (known, key) => (typeof key === "string" && !(key in known) ? UNKNOWN : known[key as string]),
                });
                planned.set(step.name, { urn, id: prior?.id ?? "", inputs: checked.inputs, outputs });
            }
        }
        return result;
    }
}
