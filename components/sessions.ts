// The runbook's step after a SECRET_KEY rotation: once the deploy carrying the new key is live, clear the sessions in Redis.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { checkGeneration } from "../stacks/rotation";

/** Run from the project root (the directory Pulumi runs the program and its commands in); no secret in the text. */
export const CLEAR_SESSIONS_COMMAND = "node scripts/clear-sessions.js";
/** Run when only the URL or pattern changed: proves Redis is reachable without logging anyone out. */
export const CHECK_SESSIONS_COMMAND = "node scripts/clear-sessions.js --check";

export interface SessionFlushArgs {
    /** `secretKeyGeneration`: the sessions are cleared once per generation, never on other changes. */
    readonly generation: number;
    /** `redisUrl`: where the sessions live; reaches the command only through its environment, as a secret. */
    readonly redisUrl: pulumi.Input<string>;
    /** `sessionKeyPattern`: clear only keys matching this glob (SCAN + UNLINK); unset clears the database (FLUSHDB). */
    readonly keyPattern?: string;
    /** The deploy that puts the new SECRET_KEY live: sessions signed with the old key go only after it. */
    readonly afterDeploy: pulumi.Resource;
}

export class SessionFlush extends pulumi.ComponentResource {
    /** The command resource, for tests and `dependsOn`. */
    public readonly command: command.local.Command;

    constructor(name: string, args: SessionFlushArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ahoy:sessions:SessionFlush", name, {}, opts);
        checkGeneration(args.generation, "secretKeyGeneration");
        if (args.keyPattern === "")
            throw new RangeError("sessionKeyPattern: got an empty pattern; expected a glob such as session:* or unset");
        const environment: Record<string, pulumi.Input<string>> = { REDIS_URL: pulumi.secret(args.redisUrl) };
        if (args.keyPattern !== undefined) environment.SESSION_KEY_PATTERN = args.keyPattern;
        this.command = new command.local.Command(
            `${name}-clear`,
            {
                // A trigger change replaces the command, and replacing runs `create`: the flush, once per generation.
                create: CLEAR_SESSIONS_COMMAND,
                // Any other input change is an update; without its own `update` it would rerun `create` and flush again.
                update: CHECK_SESSIONS_COMMAND,
                environment,
                logging: command.types.enums.local.Logging.None,
                triggers: [args.generation],
            },
            { parent: this, dependsOn: [args.afterDeploy] },
        );
        this.registerOutputs({});
    }
}
