// The admin API, same origin. Every request carries who is asking: locally the org the picker chose
// (X-Tern-Org, which only the local stack reads), in AWS the Cognito ID token (the API's authorizer).

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

export type RequestOptions = { signal?: AbortSignal; body?: unknown; raw?: string; contentType?: string };

export async function api<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { ...credentials() };
  let body: string | undefined;
  if (options.raw !== undefined) {
    body = options.raw;
    headers["Content-Type"] = options.contentType ?? "text/plain";
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, { method, headers, body, signal: options.signal });
  const text = await response.text();
  let answer: any = null;
  try {
    answer = text ? JSON.parse(text) : null;
  } catch {
    answer = { message: text.slice(0, 200) };
  }
  if (!response.ok) {
    throw new ApiError(response.status, answer?.message ?? `${response.status} ${response.statusText}`, answer?.problems ?? []);
  }
  return answer as T;
}

export const get = <T = any>(path: string, signal?: AbortSignal) => api<T>("GET", path, { signal });
export const post = <T = any>(path: string, body?: unknown, signal?: AbortSignal) => api<T>("POST", path, { body, signal });
export const put = <T = any>(path: string, body?: unknown) => api<T>("PUT", path, { body });
export const del = <T = any>(path: string) => api<T>("DELETE", path);

/** Poll `path` until its status is no longer running/queued/planned (or the signal aborts). */
export async function settle<T extends { status: string }>(path: string, signal?: AbortSignal, everyMs = 500): Promise<T> {
  for (;;) {
    const answer = await get<T>(path, signal);
    if (!["running", "queued", "planned"].includes(answer.status)) return answer;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
    if (signal?.aborted) throw new DOMException("aborted", "AbortError");
  }
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}
