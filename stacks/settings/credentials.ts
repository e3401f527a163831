// Where the credentials go: the admin connection's password only in encrypted config, and only over verified TLS to a
// host that is not this machine. Judged on the stack's other namespaces (postgresql:...) and the environment's libpq
// variables, with the project's parsed settings.
import type { ConfigProblem } from "./kit";

/** The `pulumi config set` that stores the admin password encrypted. */
const SET_ADMIN_PASSWORD = "`pulumi config set --secret postgresql:password <the admin password>`";

/**
 * The stack's secrets that live in other namespaces' keys: wherever one appears in plain text (in the stack file
 * without `secure:`), it is a problem, whether or not the program uses it yet.
 */
export function plainTextSecretProblems(
    providerConfig: Record<string, string | undefined>,
    secretKeys: ReadonlySet<string>,
): ConfigProblem[] {
    if (!providerConfig["postgresql:password"] || secretKeys.has("postgresql:password")) return [];
    return [
        {
            key: "postgresql:password",
            message: `is stored in plain text; expected ${SET_ADMIN_PASSWORD}, which replaces it with the encrypted value`,
        },
    ];
}
