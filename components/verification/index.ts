// The runbook's verification of a deploy: the plan (what to check, pure), one verdict per source the watch reads
// (pure), and the resource; its provider (./provider.ts) is loaded only by the provider host, through the registry.
export * from "./healthVerdict";
export * from "./plan";
export * from "./verification";
