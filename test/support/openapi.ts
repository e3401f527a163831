// Render's OpenAPI spec as a response checker: the schema declared for a path, method and status, validated with ajv.
import Ajv, { ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { readFileSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";

const REPO_ROOT = path.resolve(__dirname, "../..");

/** The spec lives in shared/, a sibling of the repo; RENDER_OPENAPI_SPEC overrides. */
export function renderSpecPath(): string {
    return process.env.RENDER_OPENAPI_SPEC ?? path.join(REPO_ROOT, "../shared/render/openapi.yml");
}

interface Operation {
    responses: Record<string, { $ref?: string; content?: Record<string, { schema?: unknown }> }>;
}

type Spec = {
    paths: Record<string, Record<string, Operation>>;
    components: {
        schemas: Record<string, Record<string, unknown>>;
        responses: Record<string, Operation["responses"][string]>;
    };
};

// serviceDetails is a oneOf of five shapes that do not exclude each other (a web service's details also satisfy
// privateServiceDetails and backgroundWorkerDetails), so strict oneOf rejects every real web service. The service's
// `type` says which shape applies; check exactly that one.
const DETAILS_BY_TYPE: Record<string, string> = {
    static_site: "staticSiteDetails",
    web_service: "webServiceDetails",
    private_service: "privateServiceDetails",
    background_worker: "backgroundWorkerDetails",
    cron_job: "cronJobDetails",
};

/**
 * The spec with the README's documented differences applied (the README describes what the live API does, and wins):
 * a deploy's `finishedAt` is sometimes null, its `commit` is null for image deploys.
 */
function withReadmeNotes(spec: Spec): Spec {
    const patched = structuredClone(spec);
    const deploy = patched.components.schemas.deploy as { properties: Record<string, Record<string, unknown>> };
    deploy.properties.finishedAt.nullable = true;
    deploy.properties.commit.nullable = true;
    const service = patched.components.schemas.service as {
        properties: Record<string, Record<string, unknown>>;
        allOf?: unknown[];
    };
    const details = service.properties.serviceDetails;
    details.anyOf = details.oneOf;
    delete details.oneOf;
    service.allOf = Object.entries(DETAILS_BY_TYPE).map(([type, schema]) => ({
        if: { properties: { type: { const: type } }, required: ["type"] },
        then: { properties: { serviceDetails: { $ref: `#/components/schemas/${schema}` } } },
    }));
    return patched;
}

/** JSON pointer segments, each escaped and percent-encoded, as a URI fragment ajv resolves inside the spec. */
function pointer(...segments: string[]): string {
    return "#/" + segments.map((s) => encodeURIComponent(s.replace(/~/g, "~0").replace(/\//g, "~1"))).join("/");
}

const SPEC_ID = "render-openapi";

export class RenderSpec {
    private readonly ajv: Ajv;
    private readonly validators = new Map<string, ValidateFunction>();

    private constructor(private readonly spec: Spec) {
        // OpenAPI 3.0 schemas carry keywords JSON Schema lacks (example, discriminator, x-...): not strict about those.
        this.ajv = new Ajv({ strict: false, allErrors: true });
        addFormats(this.ajv);
        this.ajv.addSchema(withReadmeNotes(spec) as object, SPEC_ID);
    }

    static load(file = renderSpecPath()): RenderSpec {
        return new RenderSpec(YAML.parse(readFileSync(file, "utf8")) as Spec);
    }

    /** Whether the spec declares this operation (path template as the spec spells it, e.g. `/services/{serviceId}`). */
    hasOperation(method: string, route: string): boolean {
        return this.operation(method, route) !== undefined;
    }

    declaredStatuses(method: string, route: string): string[] {
        return Object.keys(this.operation(method, route)?.responses ?? {});
    }

    /**
     * What is wrong with a response, against what the spec declares for that operation and status: [] when it conforms.
     * `text` is the raw body; a status whose response declares no content must come with an empty body.
     */
    checkResponse(method: string, route: string, status: number, text: string): string[] {
        const where = `${method} ${route} ${status}`;
        const operation = this.operation(method, route);
        if (!operation) return [`${where}: the spec has no operation ${method} ${route}`];
        const declared = operation.responses[String(status)];
        if (!declared)
            return [
                `${where}: the spec does not declare status ${status}; it declares ${Object.keys(operation.responses).join(", ")}`,
            ];
        const base = declared.$ref ?? pointer("paths", route, method.toLowerCase(), "responses", String(status));
        const response = declared.$ref ? this.resolve(declared.$ref) : declared;
        if (!response.content?.["application/json"]?.schema) {
            return text === ""
                ? []
                : [`${where}: the spec declares no body, but the response has one: ${text.slice(0, 200)}`];
        }
        return this.checkJson(`${base}/content/application~1json/schema`, text, where);
    }

    /** What is wrong with a body against one named schema (e.g. `error`); [] when it conforms. */
    checkSchema(schemaName: string, text: string): string[] {
        return this.checkJson(pointer("components", "schemas", schemaName), text, `schema ${schemaName}`);
    }

    private checkJson(schemaPointer: string, text: string, where: string): string[] {
        let body: unknown;
        try {
            body = JSON.parse(text);
        } catch {
            return [
                `${where}: the spec declares a JSON body, but the response body is not JSON: ${JSON.stringify(text.slice(0, 200))}`,
            ];
        }
        let validate = this.validators.get(schemaPointer);
        if (!validate) {
            validate = this.ajv.compile({ $ref: `${SPEC_ID}${schemaPointer}` });
            this.validators.set(schemaPointer, validate);
        }
        if (validate(body)) return [];
        return (validate.errors ?? []).map(
            (e) => `${where}: ${e.instancePath || "(body)"} ${e.message ?? "is invalid"} ${JSON.stringify(e.params)}`,
        );
    }

    /** What a local `$ref` points at: `#/components/responses/...`, or another operation's (the metrics endpoints'). */
    private resolve(ref: string): Operation["responses"][string] {
        const segments = ref
            .replace(/^#\//, "")
            .split("/")
            .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
        let node: unknown = this.spec;
        for (const segment of segments) node = (node as Record<string, unknown> | undefined)?.[segment];
        if (node === undefined) throw new Error(`the spec's $ref ${ref} points at nothing`);
        return node as Operation["responses"][string];
    }

    private operation(method: string, route: string): Operation | undefined {
        return this.spec.paths[route]?.[method.toLowerCase()];
    }
}
