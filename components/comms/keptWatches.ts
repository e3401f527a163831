// The watches' verdicts the stack keeps as tags (lib/report/watchTags.ts), read by the Incident provider for an update's
// Progress line: `npm run watch` runs outside `pulumi up`, and no SDK call reads a stack's tags, so they are read
// through the CLI that runs this `up` (`pulumi stack tag ls --json`, no lock, no secret), bounded in time.
import { execFile } from "node:child_process";
import { parseWatchTags, type WatchRecord } from "../../lib/report/watchTags";

/** How long the read may take: the update about to be sent waits for it (nothing else does). */
export const KEPT_WATCHES_TIMEOUT_MS = 10_000;

/**
 * The watch records of `stack` (`org/project/stack`) by deploy id; none when the CLI cannot say (not on PATH, a backend
 * without tags, too slow): the Progress line then says nothing of a watch, never something wrong.
 */
export function keptWatches(stack: string, timeoutMs = KEPT_WATCHES_TIMEOUT_MS): Promise<Map<string, WatchRecord>> {
    return new Promise((resolve) => {
        execFile(
            "pulumi",
            ["stack", "tag", "ls", "--json", "--stack", stack, "--non-interactive"],
            { timeout: timeoutMs, env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } },
            (error, stdout) => resolve(error ? new Map() : parseWatchTags(stdout)),
        );
    });
}
