// The Pulumi engine's wire format where the providers and the report meet it (pulumi/sdk's rpc.ts and the state's
// JSON): the signature that marks a secret (`{"4dabf...": "1b470...", "value": ...}`, or its ciphertext in an export),
// and the placeholder, during a preview, for a value known only once an earlier resource is applied.
export const SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
