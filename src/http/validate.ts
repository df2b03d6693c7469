/** zod at the HTTP boundary: bodies and queries in, a 400 naming the field out. */
import type { z } from "zod";
import { ApiError } from "../contract/errors";

export function parseQuery<S extends z.ZodType>(schema: S, query: Record<string, string>): z.infer<S> {
  const parsed = schema.safeParse(query);
  if (!parsed.success) throw ApiError.fromZod("invalid_query", parsed.error);
  return parsed.data;
}

/** Parses a JSON body text; not JSON at all is a 400 as well. */
export function parseBody<S extends z.ZodType>(schema: S, text: string): z.infer<S> {
  return parseValue(schema, parseJson(text));
}

/** A body's JSON, for a route that looks at it before its schema does; not JSON is a 400. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError("invalid_body", `body is not valid JSON (${(error as Error).message})`);
  }
}

/** A parsed JSON body against its schema: a 400 naming the fields when it does not fit. */
export function parseValue<S extends z.ZodType>(schema: S, json: unknown): z.infer<S> {
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw ApiError.fromZod("invalid_body", parsed.error);
  return parsed.data;
}
