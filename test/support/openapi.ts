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
        parameters: Record<string, { schema: { anyOf: Array<{ enum: string[] }> } }>;
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

/** Where the spec keeps the details of each service event type (a oneOf of shapes, titled). */
const EVENT_DETAILS =
    "#/paths/~1events~1%7BeventId%7D/get/responses/200/content/application~1json/schema/properties/details/oneOf/0";
// The titles whose event type is not the title in snake case.
const EVENT_TYPE_OF_TITLE: Record<string, string> = { "Instance Type Changed": "plan_changed" };

/**
 * A service event's details are a oneOf of 41 shapes that do not exclude each other (most require nothing), so strict
 * oneOf rejects every real event. The event's `type` says which shape applies: check exactly that one.
 */
function detailsByEventType(spec: Spec): void {
    const byEvent = (
        spec.paths["/events/{eventId}"].get.responses["200"].content?.["application/json"]?.schema as {
            properties: { details: { oneOf: Array<{ oneOf: Array<{ title: string }> }> } };
        }
    ).properties.details.oneOf[0].oneOf;
    const event = (
        spec.components.schemas.serviceEventWithCursor as {
            properties: { event: { properties: Record<string, unknown>; allOf?: unknown[] } };
        }
    ).properties.event;
    event.properties.details = { type: "object" };
    event.allOf = byEvent.map(({ title }, index) => {
        const type = EVENT_TYPE_OF_TITLE[title] ?? title.toLowerCase().replace(/ /g, "_");
        return {
            if: { properties: { type: { const: type } }, required: ["type"] },
            then: { properties: { details: { $ref: `${EVENT_DETAILS}/oneOf/${index}` } } },
        };
    });
}

/**
 * The spec with the README's documented differences applied (the README describes what the live API does, and wins):
 * a deploy's `finishedAt` is sometimes null, its `commit` is null for image deploys; services emit
 * `service_disk_usage_high`, an event type the spec does not list yet.
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
    detailsByEventType(patched);
    patched.components.parameters.eventTypeParam.schema.anyOf[0].enum.push("service_disk_usage_high");
    return patched;
}

/** `schema` where every object that names its properties takes no others. */
function closed(schema: unknown): object {
    if (Array.isArray(schema)) return schema.map(closed);
    if (typeof schema !== "object" || schema === null) return schema as object;
    const node = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, closed(v)])) as Record<string, unknown>;
    if (typeof node.properties === "object" && node.additionalProperties === undefined)
        node.additionalProperties = false;
    return node;
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

    /**
     * What is wrong with a request body against the spec's body for the operation, read strictly: an object may carry
     * only the properties its schema names. `serviceDetails` is checked against `detailsSchema` (e.g.
     * `webServiceDetailsPATCH`), the one shape of the spec's oneOf the service's type takes.
     */
    checkRequestBody(method: string, route: string, body: unknown, detailsSchema?: string): string[] {
        const where = `${method} ${route} request`;
        const operation = this.operation(method, route) as
            (Operation & { requestBody?: { content?: Record<string, { schema?: unknown }> } }) | undefined;
        let schema = operation?.requestBody?.content?.["application/json"]?.schema as
            Record<string, unknown> | undefined;
        if (!schema) return [`${where}: the spec declares no JSON request body`];
        if (typeof schema.$ref === "string") schema = this.resolve(schema.$ref) as unknown as Record<string, unknown>;
        const strict = structuredClone(schema) as { properties?: Record<string, unknown> };
        if (detailsSchema && strict.properties?.serviceDetails) {
            strict.properties.serviceDetails = this.resolve(`#/components/schemas/${detailsSchema}`);
        }
        const validate = this.ajv.compile(closed(this.inline(strict)));
        if (validate(body)) return [];
        return (validate.errors ?? []).map(
            (e) => `${where}: ${e.instancePath || "(body)"} ${e.message ?? "is invalid"} ${JSON.stringify(e.params)}`,
        );
    }

    /** The property names of a schema in components.schemas, e.g. every field of `webServiceDetailsPATCH`. */
    propertiesOf(schemaName: string): string[] {
        return Object.keys((this.spec.components.schemas[schemaName]?.properties as object | undefined) ?? {});
    }

    /** The top-level property names of an operation's JSON request body. */
    requestBodyProperties(method: string, route: string): string[] {
        const operation = this.operation(method, route) as
            (Operation & { requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> } }) | undefined;
        let schema = operation?.requestBody?.content?.["application/json"]?.schema as
            { $ref?: string; properties?: object } | undefined;
        if (schema?.$ref) schema = this.resolve(schema.$ref) as { properties?: object };
        return Object.keys(schema?.properties ?? {});
    }

    /** `schema` with every local $ref replaced by what it points at (the request schemas here have no cycles). */
    private inline(schema: unknown, depth = 0): unknown {
        if (depth > 30) throw new Error("the schema nests deeper than 30 levels: a cycle?");
        if (Array.isArray(schema)) return schema.map((item) => this.inline(item, depth + 1));
        if (typeof schema !== "object" || schema === null) return schema;
        const node = schema as Record<string, unknown>;
        if (typeof node.$ref === "string") return this.inline(this.resolve(node.$ref), depth + 1);
        return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, this.inline(v, depth + 1)]));
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
