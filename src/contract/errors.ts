/** The one error shape of PROTOCOL §3, for HTTP answers and socket `error` frames. */
import type { z } from "zod";
import { describeIssues, toIssues } from "./schemas";
import type { ErrorCode, ErrorPayload, Issue } from "./schemas";

const STATUS: Record<ErrorCode, number> = {
  invalid_body: 400,
  invalid_query: 400,
  invalid_frame: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
  misconfigured: 503,
};

/**
 * An error a client is meant to see. Thrown anywhere (routes, objects via RPC), turned
 * into `{ error: { code, message, issues? } }` by the app's error handler.
 * @example
 * throw new ApiError("not_found", `topic ${topicId} does not exist`)
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly issues?: Issue[];
  /** For `rate_limited`: when to try again, sent as `Retry-After` (seconds). */
  readonly retryAfterMs?: number;

  constructor(code: ErrorCode, message: string, issues?: Issue[], retryAfterMs?: number) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.issues = issues;
    this.retryAfterMs = retryAfterMs;
  }

  get status(): number {
    return STATUS[this.code];
  }

  /** The headers of its HTTP answer: `Retry-After` in whole seconds when it has a delay. */
  get headers(): Record<string, string> {
    return this.retryAfterMs === undefined
      ? {}
      : { "retry-after": String(Math.max(1, Math.ceil(this.retryAfterMs / 1000))) };
  }

  get payload(): ErrorPayload {
    return this.issues
      ? { code: this.code, message: this.message, issues: this.issues }
      : { code: this.code, message: this.message };
  }

  /** A validation failure whose message names the failing fields. */
  static fromZod(code: "invalid_body" | "invalid_query" | "invalid_frame", error: z.ZodError, prefix = ""): ApiError {
    const issues = toIssues(error, prefix);
    return new ApiError(code, describeIssues(issues), issues);
  }
}

/**
 * What a Durable Object's RPC method returns: errors cross the boundary as data, because
 * a thrown error arrives on the other side without its code.
 */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorPayload; retryAfterMs?: number };

/** Runs `fn`, turning a thrown ApiError into a failed Result; anything else is rethrown. */
export function attempt<T>(fn: () => T): Result<T> {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    if (error instanceof ApiError) return failed(error);
    throw error;
  }
}

/** A thrown ApiError as a failed Result, keeping its retry delay. */
export function failed(error: ApiError): { ok: false; error: ErrorPayload; retryAfterMs?: number } {
  return error.retryAfterMs === undefined
    ? { ok: false, error: error.payload }
    : { ok: false, error: error.payload, retryAfterMs: error.retryAfterMs };
}

/** Unwraps a Result in the Worker, rethrowing its error as an ApiError. */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new ApiError(result.error.code, result.error.message, result.error.issues, result.retryAfterMs);
}
