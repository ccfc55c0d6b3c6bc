import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { API, ApiError, Problem, answer, isAbort, settle } from "../api";
import type { Answer, Schemas } from "../apiTypes";
import { Builder, Catalog, CatalogContext } from "../builder/Builder";
import { lakeFields, lakeValues } from "../builder/lake";
import type { Node } from "../builder/model";
import type { Preview, Refresh, Segment } from "../types";
import { ErrorNote, announce, inWords, n } from "../ui";

const DEBOUNCE_MS = 250;
const START: Node = { all: [{ kind: "consents", op: "has_all", values: ["email_marketing"] }] };

/** The builder's where-tree as the API takes it: plain JSON the API checks, naming each problem by its path. */
function asWhere(node: Node): Schemas["SegmentDefinition"]["where"] {
  return node as unknown as Schemas["SegmentDefinition"]["where"];
}

/** The segment editor: controls for every criterion, a count beside every node recounted as the marketer edits. */
export default function SegmentEditor() {
  const { id } = useParams();
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [refresh, setRefresh] = useState<Refresh>("once");
  const [where, setWhere] = useState<Node>(START);
  const [loaded, setLoaded] = useState(!id);
  const [view, setView] = useState<"builder" | "json">("builder");
  const [catalog, setCatalog] = useState<Catalog>({ segments: [], lists: [], journeys: [], values: lakeValues });
  const [examples, setExamples] = useState<Answer<Schemas["SegmentExample"]>[]>([]);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [saveError, setSaveError] = useState<unknown>(null);
  const live = useLiveCounts(where, loaded);

  useEffect(() => {
    if (id) {
      answer(API.GET("/segments/{segment_id}", { params: { path: { segment_id: id } } })).then((s) => {
        setName(s.name);
        setDescription(s.description ?? "");
        setRefresh(s.refresh);
        setWhere((s as unknown as Segment).where);
        setLoaded(true);
      }).catch(setSaveError);
    }
    Promise.all([
      answer(API.GET("/segments")).then((a) => a.segments.filter((s) => s.id !== id)),
      answer(API.GET("/lists")).then((a) => a.lists).catch(() => []),
      answer(API.GET("/journeys")).then((a) => a.journeys).catch(() => []),
    ]).then(([segments, lists, journeys]) => setCatalog((c) => ({ ...c, segments, lists, journeys })));
    void lakeFields().then((fields) => setCatalog((c) => ({ ...c, fields })));
    if (!id) void answer(API.GET("/examples/segments")).then((a) => setExamples(a.examples)).catch(() => undefined);
  }, [id]);

  const save = async () => {
    setProblems([]);
    setSaveError(null);
    const body = { name, description: description || undefined, where: asWhere(where), refresh };
    try {
      const saved = id
        ? await answer(API.PUT("/segments/{segment_id}", { params: { path: { segment_id: id } }, body }))
        : await answer(API.POST("/segments", { body }));
      announce(`Segment ${saved.name} saved`);
      navigate(`/segments/${saved.id}`);
    } catch (e) {
      setSaveError(e);
      if (e instanceof ApiError) setProblems(e.problems);
      announce(inWords(e), true);
    }
  };

  const allProblems = [...problems, ...live.problems];
  const nameProblem = allProblems.find((p) => p.path === "name");
  if (!loaded) return <><ErrorNote error={saveError} /><p className="muted">Loading…</p></>;
  return (
    <section aria-labelledby="editor-title" className="editor">
      <div className="title-row">
        <h1 id="editor-title">{id ? `Edit ${name}` : "New segment"}</h1>
        <div className="total" aria-live="polite" aria-atomic="true">
          <span className="muted">Total</span>{" "}
          <output aria-label="Total contacts">{live.preview ? n(live.preview.total) : "…"}</output>
          {live.counting && <span className="muted"> counting…</span>}
          {live.note && <p className="muted note">{live.note}</p>}
        </div>
      </div>
      {examples.length > 0 && (
        <div className="examples" role="group" aria-label="Start from an example">
          <span className="muted">Start from an example:</span>
          {examples.map((e) => (
            <button type="button" key={e.id} className="chip" title={e.description}
              onClick={() => { setName(e.name); setDescription(e.description); setWhere(e.where as Node); announce(`Started from the example “${e.name}”`); }}>
              {e.name}
            </button>
          ))}
        </div>
      )}
      <div className="form-grid">
        <label>Name <input value={name} onChange={(e) => setName(e.target.value)} aria-invalid={Boolean(nameProblem) || undefined} aria-describedby={nameProblem ? "name-problem" : undefined} /></label>
        {nameProblem && <span id="name-problem" className="problem" role="alert">{nameProblem.message}</span>}
        <label>Description <input value={description} onChange={(e) => setDescription(e.target.value)} /></label>
        <RefreshControl value={refresh} onChange={setRefresh} />
      </div>
      {allProblems.some((p) => p.path !== "name" && !p.path.startsWith("where")) && (
        <ul className="problems" role="alert">
          {[...new Set(allProblems.filter((p) => p.path !== "name" && !p.path.startsWith("where")).map((p) => p.message))].map((m) => <li key={m}>{m}</li>)}
        </ul>
      )}
      <div role="tablist" aria-label="Edit as" className="tabs">
        <button role="tab" type="button" aria-selected={view === "builder"} onClick={() => setView("builder")}>Builder</button>
        <button role="tab" type="button" aria-selected={view === "json"} onClick={() => setView("json")}>JSON</button>
      </div>
      {view === "builder" ? (
        <CatalogContext.Provider value={catalog}>
          <Builder node={where} counts={live.counts} problems={allProblems} onChange={(w) => setWhere(w ?? { all: [] })} />
        </CatalogContext.Provider>
      ) : (
        <JsonView value={where} onChange={setWhere} />
      )}
      {live.problems.length === 0 && <ErrorNote error={live.error} marked />}
      <ErrorNote error={saveError} marked />
      <div className="actions">
        <button type="button" className="primary" onClick={save}>Save draft</button>
        <Link to={id ? `/segments/${id}` : "/"}>Cancel</Link>
      </div>
      <h2>First members</h2>
      <div className="scroll" tabIndex={0} role="region" aria-label="First members">
      <table className="list sample">
        <caption className="sr-only">The first {live.preview?.members.length ?? 0} members</caption>
        <thead><tr><th scope="col">#</th><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">City</th><th scope="col">Contact id</th></tr></thead>
        <tbody>
          {(live.preview?.members ?? []).map((m, i) => (
            <tr key={m.contact_id}><td>{i + 1}</td><td>{m.name ?? "—"}</td><td>{m.email ?? "—"}</td><td>{m.city ?? "—"}</td><td className="muted">{m.contact_id}</td></tr>
          ))}
        </tbody>
      </table>
      </div>
    </section>
  );
}

/** Counts for the tree as it stands, recounted DEBOUNCE_MS after the last change, the previous request cancelled. */
export function useLiveCounts(where: Node, enabled = true) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [counting, setCounting] = useState(false);
  const [note, setNote] = useState<string | null>(null);  // why the count is not made as one types (a very large lake)
  const key = useMemo(() => JSON.stringify(where), [where]);
  const inflight = useRef<AbortController | null>(null);
  useEffect(() => {
    if (!enabled) return;
    const timer = setTimeout(async () => {
      inflight.current?.abort();
      const controller = new AbortController();
      inflight.current = controller;
      setCounting(true);
      try {
        const signal = controller.signal;
        const counted = await answer(API.POST("/segments/preview", { body: { name: "preview", where: asWhere(JSON.parse(key) as Node) }, signal }));
        if ("preview_id" in counted) {  // counted through Athena, still counting on a large lake: poll it
          setNote(counted.note ?? null);
          const poll = { params: { path: { preview_id: counted.preview_id } }, signal };
          const done = await settle(() => answer(API.GET("/previews/{preview_id}", poll)), signal);
          setPreview({ counted_by: done.counted_by ?? "athena", total: done.total ?? 0, criteria: done.criteria ?? [], nodes: done.nodes ?? [],
                       sample: done.sample ?? [], members: done.members ?? [] });
        } else {
          setNote(null);
          setPreview(counted);
        }
        setProblems([]);
        setError(null);
      } catch (e) {
        if (isAbort(e)) return;
        setError(e);
        setProblems(e instanceof ApiError ? e.problems : []);
      } finally {
        if (inflight.current === controller) setCounting(false);
      }
    }, DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [key, enabled]);
  const counts = useMemo(() => Object.fromEntries((problems.length ? [] : preview?.nodes ?? []).map((n) => [n.path, n.count])), [preview, problems]);
  return { preview, counts, problems, error, counting, note };
}

function RefreshControl({ value, onChange }: { value: Refresh; onChange: (r: Refresh) => void }) {
  const every = value === "once" ? null : value;
  return (
    <fieldset className="refresh">
      <legend>Refresh</legend>
      <label><input type="radio" name="refresh" checked={!every} onChange={() => onChange("once")} /> once, when it goes live</label>
      <label><input type="radio" name="refresh" checked={Boolean(every)} onChange={() => onChange({ every: 24, unit: "hours" })} /> every</label>
      {every && (
        <>
          <input type="number" min={1} aria-label="Refresh every" value={every.every} onChange={(e) => onChange({ ...every, every: Number(e.target.value) })} />
          <select aria-label="Refresh unit" value={every.unit} onChange={(e) => onChange({ ...every, unit: e.target.value as "hours" | "days" })}>
            <option value="hours">hours</option>
            <option value="days">days</option>
          </select>
        </>
      )}
    </fieldset>
  );
}

/** The where-tree as JSON, for those who prefer it: applied whenever it parses. */
function JsonView({ value, onChange }: { value: Node; onChange: (n: Node) => void }) {
  const [text, setText] = useState(() => JSON.stringify(value, null, 2));
  const [bad, setBad] = useState<string | null>(null);
  return (
    <div className="json-view">
      <label htmlFor="where-json">The definition's where (JSON)</label>
      <textarea id="where-json" rows={18} spellCheck={false} value={text} aria-invalid={Boolean(bad) || undefined} aria-describedby={bad ? "json-problem" : undefined}
        onChange={(e) => {
          setText(e.target.value);
          try {
            const parsed = JSON.parse(e.target.value);
            if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("expected an object: a group or a criterion");
            setBad(null);
            onChange(parsed);
          } catch (err) {
            setBad(err instanceof Error ? err.message : String(err));
          }
        }} />
      {bad && <p id="json-problem" className="problem" role="alert">Not applied: {bad}</p>}
    </div>
  );
}
