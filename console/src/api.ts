// The admin API, same origin. Every request carries who is asking: locally the org the picker chose
// (X-Tern-Org, which only the local stack reads), in AWS the Cognito ID token (the API's authorizer).
// Requests go through openapi-fetch typed by the API's own OpenAPI document (src/api/schema.d.ts): a path,
// parameter, body field or answer field the API renames fails tsc at the call.
import createClient from "openapi-fetch";
import type { paths } from "./api/schema";

export type Problem = { path: string; message: string };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems: Problem[] = [],
  ) {
    super(message);
  }
}

type Credentials = () => Record<string, string>;
let credentials: Credentials = () => ({});

export function useCredentials(c: Credentials): void {
  credentials = c;
}

/** The API, typed by path: `API.GET("/segments/{segment_id}", { params: { path: { segment_id } } })`. */
export const API = createClient<paths>({ baseUrl: typeof location === "undefined" ? "" : location.origin });
API.use({
  onRequest({ request }) {
    for (const [name, value] of Object.entries(credentials())) request.headers.set(name, value);
    return request;
  },
});

type Answered<T> = { data?: T; error?: unknown; response: Response };

/** A call's answer, or ApiError with the API's message and the problems it names. */
export async function answer<T>(call: Promise<Answered<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) {
    const body = (typeof error === "object" && error !== null ? error : { message: String(error ?? "").slice(0, 200) }) as { message?: string; problems?: Problem[] };
    throw new ApiError(response.status, body.message || `${response.status} ${response.statusText}`, body.problems ?? []);
  }
  return data as T;
}

export type RequestOptions = { signal?: AbortSignal; raw: string; contentType: string };

/** A request whose body is not JSON (a list's CSV), answering `T`. */
export async function api<T>(method: string, path: string, options: RequestOptions): Promise<T> {
  const headers: Record<string, string> = { ...credentials() };
  headers["Content-Type"] = options.contentType;
  const response = await fetch(path, { method, headers, body: options.raw, signal: options.signal });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { message: text.slice(0, 200) };
  }
  return answer(Promise.resolve(response.ok ? { data: body as T, response } : { error: body, response }));
}

/** Ask `poll` until the status it answers is no longer running/queued/planned, or `tries` times (then its last
 * answer), or the signal aborts. */
export async function settle<T extends { status: string }>(poll: () => Promise<T>, signal?: AbortSignal, everyMs = 500, tries = Infinity): Promise<T> {
  for (let asked = 1; ; asked++) {
    const answer = await poll();
    if (!["running", "queued", "planned"].includes(answer.status) || asked >= tries) return answer;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
    if (signal?.aborted) throw new DOMException("aborted", "AbortError");
  }
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}
