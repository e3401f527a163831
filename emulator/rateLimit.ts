// Render's rate-limit buckets, counted in fixed windows, and the numbers every response's Ratelimit-* headers carry.

export interface Bucket {
    key: string;
    limit: number;
    /** What the bucket counts, for the 429 message. */
    description: string;
}

export interface BucketReading {
    /** False when the bucket was already spent: the request is answered 429. */
    allowed: boolean;
    limit: number;
    remaining: number;
    /** Seconds until the window resets (Render sends seconds, not an epoch time). */
    resetSeconds: number;
}

// Routes that share one small bucket per service: the writes that can start a deploy or change capacity.
const DEPLOY_BUCKET_ROUTES = new Set([
    "PATCH /services/{serviceId}",
    "POST /services/{serviceId}/deploys",
    "POST /services/{serviceId}/scale",
]);

export function bucketFor(method: string, route: string | undefined, serviceId: string | undefined): Bucket {
    if (route !== undefined && serviceId !== undefined && DEPLOY_BUCKET_ROUTES.has(`${method} ${route}`)) {
        return {
            key: `deploys:${serviceId}`,
            limit: 10,
            description: `service updates, deploy triggers and scalings of ${serviceId}`,
        };
    }
    if (method === "GET") return { key: "get", limit: 400, description: "GET requests" };
    return { key: "write", limit: 100, description: "write requests" };
}

export class RateLimiter {
    private readonly windows = new Map<string, { start: number; used: number }>();

    constructor(private readonly windowMs: number) {}

    /** Reads the bucket and, when `consume`, counts one request against it (a spent bucket counts no more). */
    take(bucket: Bucket, consume: boolean): BucketReading {
        const now = Date.now();
        let window = this.windows.get(bucket.key);
        if (!window || now >= window.start + this.windowMs) {
            window = { start: now, used: 0 };
            this.windows.set(bucket.key, window);
        }
        const allowed = window.used < bucket.limit;
        if (consume && allowed) window.used += 1;
        return {
            allowed,
            limit: bucket.limit,
            remaining: bucket.limit - window.used,
            resetSeconds: Math.max(1, Math.ceil((window.start + this.windowMs - now) / 1000)),
        };
    }
}
