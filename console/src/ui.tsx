import { useEffect, useState } from "react";
import { ApiError, isAbort } from "./api";

// One polite live region for the whole app: what happened after a click is read out ("Segment saved"), and
// errors go to an assertive one.
type Listener = (message: string, urgent: boolean) => void;
const listeners = new Set<Listener>();

export function announce(message: string, urgent = false): void {
  listeners.forEach((l) => l(message, urgent));
}

export function Announcer() {
  const [polite, setPolite] = useState("");
  const [urgent, setUrgent] = useState("");
  useEffect(() => {
    const listener: Listener = (m, u) => (u ? setUrgent(m) : setPolite(m));
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  return (
    <>
      <div className="sr-only" aria-live="polite" role="status">{polite}</div>
      <div className="sr-only" aria-live="assertive">{urgent}</div>
    </>
  );
}

/** An error shown where it happened (role alert: announced), with the problems' paths when the API named them. */
/** An error in a marketer's words: the API's problems as their messages (never their field paths), or what a
 * status means; `marked`: the problems are shown at the controls they concern, so only say so. */
export function ErrorNote({ error, marked = false }: { error: unknown; marked?: boolean }) {
  if (!error || isAbort(error)) return null;
  const problems = error instanceof ApiError ? error.problems : [];
  return (
    <div className="error" role="alert">
      <p>{said(error, marked && problems.length > 0)}</p>
      {!marked && problems.length > 0 && <ul>{[...new Set(problems.map((p) => p.message))].map((m) => <li key={m}>{m}</li>)}</ul>}
    </div>
  );
}

/** An error as a marketer hears it: the problems' messages, or what its status means (never a field path). */
export function inWords(error: unknown): string {
  const problems = error instanceof ApiError ? [...new Set(error.problems.map((p) => p.message))] : [];
  return problems.length ? `Some settings need attention: ${problems.join("; ")}` : said(error, false);
}

function said(error: unknown, marked: boolean): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  if (marked) return "Some settings need attention: they are marked above.";
  if (error.problems.length > 0) return "Some settings need attention:";
  if (error.status === 404) return "Not found: it may have been deleted.";
  if (error.status === 429) return "Tern is busy counting for your organisation; try again in a moment.";
  if (error.status >= 500) return "Tern could not answer just now; try again shortly.";
  return error.message;
}

/** Run an action from a button: busy while it runs, errors shown and announced, success announced. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (what: () => Promise<unknown>, done?: string) => {
    setBusy(true);
    setError(null);
    try {
      await what();
      if (done) announce(done);
    } catch (e) {
      setError(e);
      announce(inWords(e), true);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

export function when(iso?: string | null): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }) + " UTC";
}

export function n(value?: number | null): string {
  return value === undefined || value === null ? "—" : value.toLocaleString("en");
}

export function Status({ value }: { value: string }) {
  return <span className={`status status-${value}`}>{value}</span>;
}
