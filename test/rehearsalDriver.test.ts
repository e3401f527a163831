// The rehearsal driver's readings of the CLI's output and the toolchain's status file, on text as the CLI prints it.
import * as assert from "node:assert/strict";
import { resourcesSummary } from "../scripts/rehearsal/cli";
import { failedResources } from "../scripts/rehearsal/drills";
import { formatWrites, previewSteps, requestKind, writesByKind } from "../scripts/rehearsal/rehearsal";
import { parseStatus } from "../scripts/rehearsal/toolchain";
import type { RecordedRequest } from "../emulator";

// Cut from `pulumi preview --diff` of a flag flip (pulumi v3.248.0).
const PREVIEW = `Previewing update (rehearsal):
  pulumi:pulumi:Stack: (same)
    [urn=urn:pulumi:rehearsal::ahoy-ops::pulumi:pulumi:Stack::ahoy-ops-rehearsal]
    ~ pulumi-nodejs:dynamic/render:EnvVar: (update)
        [id=srv-u4n54riprgcah670psi1/DISABLE_SIGNUP]
        [urn=urn:pulumi:rehearsal::ahoy-ops::ahoy:flags:FeatureFlags$pulumi-nodejs:dynamic/render:EnvVar::ahoy-DISABLE_SIGNUP]
      ~ value  : "false" => "true"
    ~ pulumi-nodejs:dynamic/render:Deploy: (update)
        [id=srv-u4n54riprgcah670psi1]
        [urn=urn:pulumi:rehearsal::ahoy-ops::ahoy:render:Release$pulumi-nodejs:dynamic/render:Deploy::ahoy-deploy]
    +-random:index/randomBytes:RandomBytes: (replace)
        [id=none]
        [urn=urn:pulumi:rehearsal::ahoy-ops::ahoy:secrets:SecretKey$random:index/randomBytes:RandomBytes::ahoy-secret-key-bytes]
Resources:
    ~ 2 to update
    +-1 to replace
    3 changes. 29 unchanged

Updating (rehearsal):

Resources:
    ~ 2 updated
    +-1 replaced
    3 changes. 29 unchanged

Duration: 16s
`;

const request = (method: string, route: string): RecordedRequest =>
    ({ method, route, path: route, query: {}, status: 200, at: 0, requestId: "r" }) as RecordedRequest;

describe("rehearsal driver: reading the CLI and the emulator", () => {
    it("lists the resource steps a preview shows, by op, type and name, leaving out the unchanged", () => {
        assert.deepEqual(previewSteps(PREVIEW), [
            { op: "update", type: "pulumi-nodejs:dynamic/render:EnvVar", name: "ahoy-DISABLE_SIGNUP" },
            { op: "update", type: "pulumi-nodejs:dynamic/render:Deploy", name: "ahoy-deploy" },
            { op: "replace", type: "random:index/randomBytes:RandomBytes", name: "ahoy-secret-key-bytes" },
        ]);
    });

    it("takes an up's own Resources: block, not its preview's", () => {
        assert.equal(resourcesSummary(PREVIEW), "~ 2 updated, +-1 replaced, 3 changes. 29 unchanged");
        assert.equal(resourcesSummary("no summary here"), "(no Resources: summary)");
    });

    it("counts Render writes by kind, GETs apart", () => {
        const requests = [
            request("GET", "/services/{serviceId}"),
            request("PUT", "/services/{serviceId}/env-vars/{envVarKey}"),
            request("PUT", "/services/{serviceId}/env-vars/{envVarKey}"),
            request("POST", "/services/{serviceId}/deploys"),
            request("PATCH", "/services/{serviceId}"),
        ];
        assert.equal(requestKind(requests[1]), "PUT env-vars/{key}");
        assert.equal(
            formatWrites(writesByKind(requests)),
            "PUT env-vars/{key} x2, POST deploys x1, PATCH services/{id} x1",
        );
        assert.equal(formatWrites({}), "none");
    });

    it("names the resources whose step failed, not the stack", () => {
        const output = `Diagnostics:
  pulumi:pulumi:Stack (ahoy-ops-rehearsal):
    error: preview failed

  pulumi-nodejs:dynamic/comms:Incident (ahoy-incident):
    error: Preview failed: Unexpected struct type.
`;
        assert.deepEqual(failedResources(output), [
            {
                type: "pulumi-nodejs:dynamic/comms:Incident",
                name: "ahoy-incident",
                error: "Preview failed: Unexpected struct type.",
            },
        ]);
    });

    it("reads the toolchain's status file: ok, stand-in with its reason, missing, and absent lines", () => {
        const status = parseStatus(
            [
                "# pulumi toolchain 3.248.0, 2026-12-01T09:15:05Z; lines: NAME ok [detail] | ...",
                "cli ok v3.248.0",
                "language-host ok v3.68.0 (fallback)",
                "command stand-in: the Go module proxy refuses it: 403 Forbidden",
                "random missing: no CLI",
            ].join("\n"),
        );
        assert.deepEqual(status.cli, { state: "ok", detail: "v3.248.0" });
        assert.deepEqual(status.command, {
            state: "stand-in",
            detail: "the Go module proxy refuses it: 403 Forbidden",
        });
        assert.deepEqual(status.random, { state: "missing", detail: "no CLI" });
        assert.deepEqual(status.postgresql, { state: "missing", detail: "not in the status file" });
    });
});
