// The error a Render API handler answers with: an HTTP status and Render's error body.

export interface ErrorBody {
    id?: string;
    message: string;
}

export class ApiError extends Error {
    constructor(
        readonly status: number,
        message: string,
        /** Render's error id; real bodies often carry only a message, so most errors here leave it out. */
        readonly errorId?: string,
    ) {
        super(message);
        this.name = "ApiError";
    }

    get body(): ErrorBody {
        return this.errorId === undefined ? { message: this.message } : { id: this.errorId, message: this.message };
    }
}

export function badRequest(message: string): ApiError {
    return new ApiError(400, message);
}

export function notFound(what: string): ApiError {
    return new ApiError(404, `not found: ${what}`, "not_found");
}
