// Ownership of the service: the explicit, reviewable step that hands a service from one stack to another.
import { optionalText } from "./kit";

/** A stack's full name as Pulumi prints it, `<organization>/<project>/<stack>`. */
export const STACK_NAME_PATTERN = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
export const STACK_NAME_EXPECTED =
    "a stack's full name, <organization>/<project>/<stack> (e.g. organization/ahoy-ops/prod)";

export const ownershipSettings = {
    takeOverFrom: optionalText(
        {
            expected: `${STACK_NAME_EXPECTED}: the stack that manages the service now; or unset`,
            description:
                "Hand the service over: the stack that manages it now (<organization>/<project>/<stack>), named in a reviewed change; unset: a service another stack manages is refused.",
        },
        STACK_NAME_PATTERN,
    ),
};
