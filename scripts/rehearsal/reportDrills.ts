// The rehearsal's incident, from its alert to the post-incident review: opened before the first mitigation, set to
// mitigating once the release is pinned, resolved once the fix is live, then `npm run report` writes the review's draft
// from the stack's history and state. One implementation for `npm run rehearse` and the e2e tests.
import { spawn } from "node:child_process";
import * as path from "node:path";
import type { Drill } from "./drills";
import type { Action, Rehearsal } from "./rehearsal";
import { repoRoot } from "./toolchain";

/** What `npm run report` printed, and the command as typed. */
export interface ReportRun {
    readonly command: string;
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/**
 * Types `npm run report -- <args>` in the project directory against the rehearsal's backend, as an on-call engineer
 * would after `pulumi login`: the CLI's environment without the passphrase, since the report decrypts nothing.
 */
export async function runReport(rehearsal: Rehearsal, args: readonly string[]): Promise<ReportRun> {
    const env = rehearsal.cli.env();
    delete env.PULUMI_CONFIG_PASSPHRASE;
    const command = ["npm", "run", "report", "--", ...args].join(" ");
    return new Promise((resolve, reject) => {
        const child = spawn("npm", ["run", "--silent", "report", "--", ...args], {
            cwd: repoRoot,
            env,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
        child.once("error", reject);
        child.once("close", (code) => resolve({ command, code, stdout, stderr }));
    });
}

/** Where the rehearsal keeps its incident's review: beside the CLI's log, in its temp directory. */
export function reportFile(rehearsal: Rehearsal): string {
    return path.join(rehearsal.tmp, "post-incident-review.md");
}

/** The last Slack post's first line. */
function lastPost(a: Action): string {
    const posts = a.rehearsal.services.slack.posts;
    return posts[posts.length - 1]?.text.split("\n")[0] ?? "(nothing posted)";
}

/** The incident keys as the runbook's table has them, with Slack as the channel and a contact to be on call. */
/** The config that opens the drills' incident: "Signup abuse" (SEV-2 unless said), posted to `webhookUrl`, the primary on call. */
export async function configureIncident(a: Action, webhookUrl: string, severity: "1" | "2" | "3" = "2"): Promise<void> {
    await a.configSet("slackWebhookUrl", webhookUrl, { secret: true });
    await a.pulumi(["config", "set", "--path", "contacts.primary.email", "primary@ahoy.example"]);
    await a.pulumi(["config", "set", "--path", "contacts.primary.phone", "+1-555-0100"]);
    await a.configSet("incidentSeverity", severity);
    await a.configSet("incidentTitle", "Signup abuse");
    await a.configSet("incidentImpact", "bots are creating accounts");
    await a.configSet("incidentOnCall", "primary");
}

export const openIncident: Drill = {
    name: "open the incident: incidentSeverity 2, Slack",
    async run(a) {
        const slack = a.rehearsal.services.slack;
        const posts = slack.posts.length;
        await configureIncident(a, slack.webhookUrl);
        await a.pulumi(["up", "--yes"]);
        a.check("one post to Slack", slack.posts.length === posts + 1, `${slack.posts.length - posts} posts`);
        a.check(
            "the runbook's alert",
            /^🚨 INCIDENT ALERT - SEV-2 \(High\) - Signup abuse$/.test(lastPost(a)),
            lastPost(a),
        );
    },
};

/** `pulumi config set incidentStatus <status>` and one `up`: one message to Slack. */
function statusDrill(status: "mitigating" | "resolved", headline: RegExp): Drill {
    return {
        name: `incident ${status}: incidentStatus ${status}`,
        async run(a) {
            const slack = a.rehearsal.services.slack;
            const posts = slack.posts.length;
            await a.configSet("incidentStatus", status);
            await a.pulumi(["up", "--yes"]);
            a.check("one post to Slack", slack.posts.length === posts + 1, `${slack.posts.length - posts} posts`);
            a.check(`the ${status === "resolved" ? "resolution" : "update"}`, headline.test(lastPost(a)), lastPost(a));
        },
    };
}

export const incidentMitigating = statusDrill("mitigating", /^📊 INCIDENT UPDATE - Signup abuse$/);
export const resolveIncident = statusDrill("resolved", /^✅ INCIDENT RESOLVED - Signup abuse$/);

/** `npm run report -- <stack> --out FILE`: the review's draft of the incident, with no secret in it. */
export const postIncidentReport: Drill = {
    name: "post-incident review: npm run report",
    async run(a) {
        const r = a.rehearsal;
        const file = reportFile(r);
        const run = await runReport(r, [r.options.stack, "--out", file]);
        a.record.commands.push(run.command);
        a.check("npm run report exits 0", run.code === 0, `exit ${run.code}: ${run.stderr.trim()}`);
        if (run.code !== 0) return;
        const fs = await import("node:fs");
        const text = fs.readFileSync(file, "utf8");
        r.memo.reportFile = file;
        a.check(
            "the review of the resolved incident",
            /^# Post-incident review: Signup abuse$/m.test(text),
            "no title",
        );
        for (const step of ["incidentSeverity 0 => 2", "DISABLE_SIGNUP false => true", "releasePin (unset) => dep-"]) {
            a.check(`its timeline has the \`up\` of ${step}`, text.includes(step), "missing");
        }
        a.check(
            "and the alert, the update and the resolution",
            ["message, the alert", "message, update 1", "message, resolution 1"].every((m) => text.includes(m)),
            "a message is missing",
        );
        if (r.options.verify) {
            a.check(
                "the switch's `up` shows what its watch saw (kept with the stack by `npm run watch`)",
                /^ {2}- the watch \(`npm run watch`, ended \d\d:\d\d:\d\d\): watch of DISABLE_SIGNUP \(deploy dep-\w+\): clean/m.test(
                    text,
                ),
                "no watch line",
            );
        }
        const leaks = r.leakedIn(text);
        a.check(`no secret in it (${r.secrets.size} looked for)`, leaks.length === 0, leaks.join(", "));
    },
};
