// The runbook's step after a SECRET_KEY rotation: once the deploy carrying the new key is live, clear the sessions in
// Redis; turning the flush on, or pointing it at another URL or pattern, clears nothing.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { checkGeneration } from "../stacks/rotation";

/**
 * Run on every change (an update): clears the sessions only when SECRET_KEY_GENERATION is higher than the generation
 * the previous run printed, else proves Redis reachable. From the project root; no secret in the text.
 */
export const CLEAR_SESSIONS_COMMAND = "node scripts/clear-sessions.js --if-rotated";
/** Run when the flush is first declared (`sessionStore redis` turned on): proves Redis reachable, clears nothing. */
export const CHECK_SESSIONS_COMMAND = "node scripts/clear-sessions.js --check";

export interface SessionFlushArgs {
    /** `secretKeyGeneration`: the sessions are cleared when it goes up, never on other changes or when first declared. */
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
        const environment: Record<string, pulumi.Input<string>> = {
            REDIS_URL: pulumi.secret(args.redisUrl),
            SECRET_KEY_GENERATION: String(args.generation),
        };
        if (args.keyPattern !== undefined) environment.SESSION_KEY_PATTERN = args.keyPattern;
        this.command = new command.local.Command(
            `${name}-clear`,
            {
                // Turning the flush on (a create) clears nothing: the sessions are signed with the key that is live.
                create: CHECK_SESSIONS_COMMAND,
                // Any change is an update (no triggers, so nothing replaces it): the generation it prints last, handed
                // back as PULUMI_COMMAND_STDOUT, tells a bump (clear, once the deploy is live) from a new URL or pattern.
                update: CLEAR_SESSIONS_COMMAND,
                environment,
                logging: command.types.enums.local.Logging.None,
            },
            { parent: this, dependsOn: [args.afterDeploy] },
        );
        this.registerOutputs({});
    }
}
