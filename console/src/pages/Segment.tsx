import { Suspense, lazy, useCallback, useEffect, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { API, ApiError, answer } from "../api";
import type { AdAccount, Answer, Audience, Schemas } from "../apiTypes";
import type { Evaluation, Segment as SegmentRecord } from "../types";
import { ErrorNote, Status, announce, n, useAction, when } from "../ui";

const HistoryChart = lazy(() => import("../charts").then((m) => ({ default: m.HistoryChart })));

export default function Segment() {
  const { id = "" } = useParams();
  const navigate = useNavigate();
  const [segment, setSegment] = useState<SegmentRecord | null>(null);
  const [history, setHistory] = useState<Evaluation[]>([]);
  const [error, setError] = useState<unknown>(null);
  const action = useAction();
  const load = useCallback(async () => {
    try {
      const path = { segment_id: id };
      setSegment((await answer(API.GET("/segments/{segment_id}", { params: { path } }))) as SegmentRecord);
      setHistory((await answer(API.GET("/segments/{segment_id}/history", { params: { path, query: { limit: 60 } } }))).history);
    } catch (e) {
      setError(e);
    }
  }, [id]);
  useEffect(() => void load(), [load]);
  // While an evaluation runs (going live, evaluate now), look again every two seconds.
  useEffect(() => {
    if (!segment || !(segment.evaluating_since || (segment.status === "live" && !segment.latest))) return;
    const timer = setInterval(load, 2000);
    return () => clearInterval(timer);
  }, [segment, load]);

  if (!segment) return error ? <ErrorNote error={error} /> : <p className="muted">Loading…</p>;
  const act = (verb: "go-live" | "evaluate" | "archive" | "copy" | "restore", done: string, after?: (answer: { id?: string }) => void) =>
    action.run(async () => {
      const answered = await answer(API.POST(`/segments/{segment_id}/${verb}`, { params: { path: { segment_id: id } } }));
      after ? after(answered as { id?: string }) : await load();
    }, done);
  const status = segment.status;
  return (
    <section aria-labelledby="segment-title">
      <div className="title-row">
        <h1 id="segment-title">{segment.name} <Status value={status} /></h1>
      </div>
      {segment.description && <p>{segment.description}</p>}
      <dl className="facts">
        <dt>Members</dt><dd>{n(segment.latest?.members)}</dd>
        <dt>Last evaluation</dt><dd>{when(segment.latest?.at)}{segment.evaluating_since && " (evaluating now…)"}</dd>
        <dt>Refresh</dt><dd>{segment.refresh === "once" ? "once" : `every ${segment.refresh.every} ${segment.refresh.unit}`}</dd>
        {status === "live" && segment.ready_until && <><dt>Ready for actions until</dt><dd>{when(segment.ready_until)}</dd></>}
        {status === "live" && segment.refresh === "once" && segment.ready_until && <><dt>Archived on</dt><dd>{when(segment.ready_until)} (a one-time segment, once its readiness ends)</dd></>}
        {status === "archived" && <><dt>Archived on</dt><dd>{when(segment.updated_at)}</dd></>}
      </dl>
      <div className="actions" role="group" aria-label="Segment actions">
        {status === "draft" && <Link className="button" to={`/segments/${id}/edit`}>Edit</Link>}
        {status === "draft" && <button type="button" className="primary" disabled={action.busy} onClick={() => act("go-live", "The segment is live; its first evaluation runs")}>Go live</button>}
        {status === "live" && <button type="button" disabled={action.busy} onClick={() => act("evaluate", "Evaluation started")}>Evaluate now</button>}
        {status === "live" && <button type="button" disabled={action.busy} onClick={() => act("archive", "Archived")}>Archive</button>}
        {status !== "deleted" && <button type="button" disabled={action.busy} onClick={() => act("copy", "Copied into a new draft", (copy) => navigate(`/segments/${copy.id}/edit`))}>Copy</button>}
        {status !== "deleted" && <button type="button" className="danger" disabled={action.busy} onClick={() => action.run(async () => { await answer(API.DELETE("/segments/{segment_id}", { params: { path: { segment_id: id } } })); await load(); }, "Deleted")}>Delete</button>}
        {status === "deleted" && <button type="button" disabled={action.busy} onClick={() => act("restore", "Restored")}>Restore</button>}
      </div>
      <ErrorNote error={action.error} />
      <h2>History</h2>
      {history.length ? (
        <div className="history">
          <Suspense fallback={<p className="muted">Loading the chart…</p>}>
            <HistoryChart rows={[...history].reverse()} />
          </Suspense>
          <div className="scroll" tabIndex={0} role="region" aria-label="Evaluations">
            <table className="list">
              <caption className="sr-only">Each evaluation: its members, who joined and who left</caption>
              <thead><tr><th scope="col">Evaluated</th><th scope="col" className="num">Members</th><th scope="col" className="num">Joined</th><th scope="col" className="num">Left</th></tr></thead>
              <tbody>
                {history.map((e) => <tr key={e.id}><td>{when(e.at)}</td><td className="num">{n(e.members)}</td><td className="num">{n(e.joined)}</td><td className="num">{n(e.left)}</td></tr>)}
              </tbody>
            </table>
          </div>
        </div>
      ) : (
        <p className="muted">
          Not evaluated yet{status === "draft" ? ": go live to evaluate it" : status === "live" && segment.refresh === "once" ? ": a one-time segment is evaluated a minute after it goes live (or now, with Evaluate now)" : ""}.
        </p>
      )}
      <details>
        <summary>Definition (JSON)</summary>
        <pre>{JSON.stringify(segment.where, null, 2)}</pre>
      </details>
      {segment.latest && <Members id={id} />}
      {status === "live" && <Exports id={id} />}
      {status === "live" && <BulkActions id={id} />}
      {(status === "live" || status === "draft") && <AdAudiences id={id} />}
    </section>
  );
}

function Members({ id }: { id: string }) {
  const [pages, setPages] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<MembersPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const cursor = pages[pages.length - 1];
  useEffect(() => {
    answer(API.GET("/segments/{segment_id}/members", { params: { path: { segment_id: id }, query: { limit: 25, ...(cursor ? { cursor } : {}) } } }))
      .then(setPage).catch(setError);
  }, [id, cursor]);
  return (
    <>
      <h2>Members</h2>
      <ErrorNote error={error} />
      <table className="list">
        <caption className="sr-only">Members, page {pages.length}</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">City</th><th scope="col">Joined</th><th scope="col">Contact id</th></tr></thead>
        <tbody>
          {(page?.members ?? []).map((m) => (
            <tr key={m.contact_id}><td>{m.name ?? "—"}</td><td>{m.email ?? "—"}</td><td>{m.city ?? "—"}</td><td>{when(m.joined_at)}</td><td className="muted">{m.contact_id}</td></tr>
          ))}
        </tbody>
      </table>
      <div className="pager">
        <button type="button" disabled={pages.length < 2} onClick={() => setPages(pages.slice(0, -1))}>Previous page</button>
        <span>Page {pages.length}</span>
        <button type="button" disabled={!page?.cursor} onClick={() => setPages([...pages, page!.cursor])}>Next page</button>
      </div>
    </>
  );
}

type MembersPage = Answer<Schemas["MembersPage"]>;
type ExportJob = Omit<Schemas["ExportStatus"], "status"> & { status: Schemas["ExportStatus"]["status"] | "expired"; expired?: boolean };

function Exports({ id }: { id: string }) {
  const [format, setFormat] = useState<"csv" | "xlsx">("csv");
  const [columns, setColumns] = useState<"summary" | "full">("summary");
  const [jobs, setJobs] = useState<ExportJob[]>([]);
  const action = useAction();
  const refresh = useCallback(async (job: ExportJob): Promise<ExportJob> => {
    try {
      return await answer(API.GET("/exports/{export_id}", { params: { path: { export_id: job.id } } }));
    } catch (e) {
      if (e instanceof ApiError && e.status === 410) return { ...job, status: "expired", expired: true, url: null };
      throw e;
    }
  }, []);
  useEffect(() => {
    if (!jobs.some((j) => ["planned", "queued", "running"].includes(j.status))) return;
    const timer = setInterval(async () => {
      const next = await Promise.all(jobs.map((j) => (["planned", "queued", "running"].includes(j.status) ? refresh(j) : j)));
      next.forEach((j, i) => j.status !== jobs[i].status && j.status === "done" && announce(`The ${j.format} export is ready to download`));
      setJobs(next);
    }, 1000);
    return () => clearInterval(timer);
  }, [jobs, refresh]);
  return (
    <>
      <h2>Exports</h2>
      <div className="row">
        <label>Format <select value={format} onChange={(e) => setFormat(e.target.value as "csv" | "xlsx")}><option value="csv">CSV</option><option value="xlsx">Excel</option></select></label>
        <label>Columns <select value={columns} onChange={(e) => setColumns(e.target.value as "summary" | "full")}><option value="summary">summary</option><option value="full">full</option></select></label>
        <button type="button" disabled={action.busy} onClick={() => action.run(async () => {
          const job = await answer(API.POST("/segments/{segment_id}/exports", { params: { path: { segment_id: id } }, body: { format, columns } }));
          setJobs([{ ...job, format }, ...jobs]);
        }, "Export started")}>Start export</button>
      </div>
      <ErrorNote error={action.error} />
      {jobs.length > 0 && (
        <table className="list">
          <caption className="sr-only">Exports started here</caption>
          <thead><tr><th scope="col">Format</th><th scope="col">Status</th><th scope="col" className="num">Rows</th><th scope="col">File</th></tr></thead>
          <tbody>{jobs.map((j) => (
            <tr key={j.id}>
              <td>{j.format}</td><td><Status value={j.status} />{j.error && ` ${j.error}`}</td><td className="num">{n(j.rows)}</td>
              <td>{j.url ? <a href={j.url} download>Download {j.format.toUpperCase()}</a> : j.expired ? "expired (files are kept 7 days)" : "—"}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
    </>
  );
}

type Action = Schemas["Action"];

function BulkActions({ id }: { id: string }) {
  const [kind, setKind] = useState<Action["kind"]>("tag");
  const [value, setValue] = useState("");
  const [verb, setVerb] = useState<Action["action"]>("add");
  const [actions, setActions] = useState<Action[]>([]);
  const action = useAction();
  const load = useCallback(() => answer(API.GET("/segments/{segment_id}/actions", { params: { path: { segment_id: id } } })).then((a) => setActions(a.actions)), [id]);
  useEffect(() => void load(), [load]);
  useEffect(() => {
    if (!actions.some((a) => ["planned", "queued", "running"].includes(a.status))) return;
    const timer = setInterval(load, 1000);
    return () => clearInterval(timer);
  }, [actions, load]);
  return (
    <>
      <h2>Bulk actions</h2>
      <div className="row">
        <label>Action <select value={verb} onChange={(e) => setVerb(e.target.value as Action["action"])}><option value="add">add</option><option value="remove">remove</option></select></label>
        <label>What <select value={kind} onChange={(e) => setKind(e.target.value as Action["kind"])}><option value="tag">tag</option><option value="category">category</option><option value="consent">consent</option></select></label>
        <label>Value <input value={value} onChange={(e) => setValue(e.target.value)} /></label>
        <button type="button" disabled={action.busy || !value} onClick={() => action.run(async () => {
          await answer(API.POST("/segments/{segment_id}/actions", { params: { path: { segment_id: id } }, body: { kind, value, action: verb } }));
          await load();
        }, "Bulk action started")}>Apply to every member</button>
      </div>
      <ErrorNote error={action.error} />
      {actions.length > 0 && (
        <table className="list">
          <caption className="sr-only">Bulk actions on this segment</caption>
          <thead><tr><th scope="col">Action</th><th scope="col">Status</th><th scope="col" className="num">Members</th><th scope="col" className="num">Changed</th><th scope="col" className="num">Already so</th></tr></thead>
          <tbody>{actions.map((a) => (
            <tr key={a.id}><td>{a.action} {a.kind} “{a.value}”</td><td><Status value={a.status} /></td><td className="num">{n(a.members)}</td><td className="num">{n(a.changed)}</td><td className="num">{n(a.already)}</td></tr>
          ))}</tbody>
        </table>
      )}
    </>
  );
}

const PLATFORM_NAMES = { meta: "Meta", google: "Google Ads" } as const;

/** What an audience's last sync did, in a marketer's words. */
/** Is a sync running on the audience now? (A hold older than an hour is a sync that stopped: the next takes over.) */
function syncing(a: Audience): boolean {
  return !!a.running && !!a.running_since && Date.now() - Date.parse(a.running_since) < 3_600_000;
}

function lastSync(a: Audience): string {
  const s = a.last_sync;
  if (syncing(a)) return "Syncing now…";
  if (!s) return "Not synced yet: it syncs after the segment's next refresh.";
  if (s.status === "failed") return `The last sync failed ${s.finished_at ? when(s.finished_at) : ""}: ${s.error ?? "no reason given"}`;
  if (s.status === "skipped") return "Waiting for the sync before it to end.";
  const parts = [`${n(s.added ?? 0)} added`, `${n(s.removed ?? 0)} removed`, `${n(s.members ?? 0)} in the audience`];
  if (s.without_consent) parts.push(`${n(s.without_consent)} left out without the consent`);
  if (s.unmatchable) parts.push(`${n(s.unmatchable)} with nothing to match on`);
  const refused = Object.values(s.errors ?? {}).reduce((x, y) => x + y, 0);
  if (refused) parts.push(`${n(refused)} refused by the platform`);
  if (s.matched) parts.push(`matched: ${s.matched}`);
  if (s.pending) parts.push("the platform is still processing");
  return `${s.kind === "replace" ? "Replaced" : "Synced"} ${s.finished_at ? when(s.finished_at) : ""}: ${parts.join(", ")}.`;
}

/** The segment's audiences on the ad platforms: filled with its members who have the chosen consent and kept in step
 * after every refresh; synced or replaced on demand. */
function AdAudiences({ id }: { id: string }) {
  const [audiences, setAudiences] = useState<Audience[]>([]);
  const [accounts, setAccounts] = useState<AdAccount[]>([]);
  const [draft, setDraft] = useState({ account_id: "", consent: "ad_audiences", name: "" });
  const action = useAction();
  const load = useCallback(() => answer(API.GET("/segments/{segment_id}/audiences", { params: { path: { segment_id: id } } })).then((a) => setAudiences(a.audiences)), [id]);
  useEffect(() => {
    void load();
    void answer(API.GET("/ad-accounts")).then((a) => setAccounts(a.accounts)).catch(() => setAccounts([]));
  }, [load]);
  // A sync asked for starts within moments: look again every second while one runs, and for a while after asking.
  const [watchUntil, setWatchUntil] = useState(0);
  useEffect(() => {
    if (!audiences.some(syncing) && Date.now() > watchUntil) return;
    const timer = setTimeout(load, 1000);
    return () => clearTimeout(timer);
  }, [audiences, load, watchUntil]);
  const asked = async () => { setWatchUntil(Date.now() + 30_000); await load(); };
  const sync = (a: Audience, replace: boolean) => action.run(async () => {
    await answer(API.POST("/segments/{segment_id}/audiences/{audience_id}/syncs", { params: { path: { segment_id: id, audience_id: a.id } }, body: { replace } }));
    await asked();
  }, replace ? "Replacing the audience" : "Sync started");
  const named = Object.fromEntries(accounts.map((a) => [a.id, a.name]));
  return (
    <section aria-labelledby="audiences-title">
      <h2 id="audiences-title">Ad audiences</h2>
      {accounts.length === 0 ? <p className="muted">Connect a Meta or Google Ads account in <Link to="/settings">Destinations &amp; settings</Link> to fill an audience with this segment.</p> : (
        <form className="row" aria-label="Fill an ad audience" onSubmit={(e) => {
          e.preventDefault();
          action.run(async () => {
            await answer(API.POST("/segments/{segment_id}/audiences", { params: { path: { segment_id: id } }, body: { account_id: draft.account_id, consent: draft.consent, ...(draft.name ? { name: draft.name } : {}) } }));
            setDraft({ ...draft, account_id: "", name: "" });
            await asked();
          }, "Audience created");
        }}>
          <label className="field">Account <select value={draft.account_id} onChange={(e) => setDraft({ ...draft, account_id: e.target.value })}>
            <option value="">(choose)</option>
            {accounts.map((a) => <option key={a.id} value={a.id}>{a.name} ({PLATFORM_NAMES[a.platform]})</option>)}
          </select></label>
          <label className="field">Only members with the consent <input value={draft.consent} onChange={(e) => setDraft({ ...draft, consent: e.target.value })} /></label>
          <label className="field">Audience name (the segment's if empty) <input value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} /></label>
          <button type="submit" className="primary" disabled={action.busy || !draft.account_id || !draft.consent}>Fill an audience</button>
        </form>
      )}
      <ErrorNote error={action.error} />
      {audiences.length > 0 && (
        <table className="list">
          <caption className="sr-only">This segment's ad audiences</caption>
          <thead><tr><th scope="col">Audience</th><th scope="col">Account</th><th scope="col">Consent</th><th scope="col">Last sync</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
          <tbody>{audiences.map((a) => (
            <tr key={a.id}>
              <td>{a.name} <span className="muted">({PLATFORM_NAMES[a.platform]})</span></td>
              <td>{named[a.account_id] ?? a.account_id}</td>
              <td>{a.consent}</td>
              <td>{lastSync(a)}</td>
              <td>
                <button type="button" disabled={action.busy || syncing(a)} onClick={() => sync(a, false)} aria-label={`Sync ${a.name} now`}>Sync now</button>{" "}
                <button type="button" disabled={action.busy || syncing(a)} onClick={() => {
                  if (window.confirm(`Replace everyone in ${a.name} with this segment's members?`)) sync(a, true);
                }} aria-label={`Replace ${a.name}`}>Replace</button>{" "}
                <button type="button" disabled={action.busy} onClick={() => {
                  if (window.confirm(`Stop filling ${a.name}? The audience stays on the platform as it is.`)) {
                    action.run(async () => { await answer(API.DELETE("/segments/{segment_id}/audiences/{audience_id}", { params: { path: { segment_id: id, audience_id: a.id } } })); await load(); }, "Audience no longer synced");
                  }
                }} aria-label={`Stop syncing ${a.name}`}>Stop syncing</button>
              </td>
            </tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}
