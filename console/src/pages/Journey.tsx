import { Suspense, lazy, useCallback, useEffect, useMemo, useState } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { API, ApiError, Problem, answer } from "../api";
import { Select } from "../builder/Builder";
import { without } from "../builder/model";
import { OUTCOME_NAMES, type Outcome, type Schemas } from "../apiTypes";
import type { StepFigures, WayExperiment } from "../journey/Canvas";
import { JourneyDoc, STEP_KINDS, Step, type StepKind, freshId, layout, removeStep, renameStep, setWay, stepOf, wayLabel, ways } from "../journey/model";
import { Choices, Line, Num, StepForm } from "../journey/StepForm";
import { ErrorNote, Status, announce, n, useAction } from "../ui";

const Canvas = lazy(() => import("../journey/Canvas"));
const Funnel = lazy(() => import("../charts").then((m) => ({ default: m.Funnel })));

const RECORD_FIELDS = ["id", "org_id", "status", "version", "published_version", "state_machine_arn", "created_at", "updated_at", "published_at", "started_at", "copied_from"];
// Who a step's figures count, as a segment saved from them: the outcomes a step records (the API's own list).
const OUTCOMES = ["processed", "sent", "opened", "clicked", "bounced", "unsubscribed", "stopped", "blocked", "exited", "failed", "held_out", "branched", "converted"] satisfies Outcome[];

type Analytics = Schemas["JourneyAnalytics"];

// A step's fields as its panel names them, for the problems the API names by field
const FIELD_WORDS: Record<string, string> = {
  content_id: "Content", destination_id: "Destination", message_step: "Message step", event: "Event", link: "Link", timeout: "Timeout",
  duration: "Duration", at: "At", from: "From field", offset: "Offset", no_value: "Without a time", next: "Then", yes: "Way yes",
  no: "Way no", else: "Otherwise", branches: "Branches", percent: "Percent", condition: "Condition", after: "After waiting",
  field: "Field", action: "Action", value: "Value", id: "Step id",
};

/** Each decision way's conversion (and lift over the holdout), the holdout's control group among them. */
function byWay(analytics: Analytics | null): WayExperiment[] {
  const found = analytics?.experiment;
  if (!found) return [];
  return [...found.variants, ...(found.control ? [{ ...found.control, way: "held_out" }] : [])];
}

/** A journey: the canvas (edit while a draft, figures once running), the selected step's settings, the journey's. */
export default function Journey() {
  const { id = "" } = useParams();
  const navigate = useNavigate();
  const [record, setRecord] = useState<Schemas["Journey"] | null>(null);
  const [doc, setDoc] = useState<JourneyDoc | null>(null);
  const [dirty, setDirty] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [choices, setChoices] = useState<Choices>({ content: [], destinations: [], catalog: { segments: [], lists: [], journeys: [] } });
  const [analytics, setAnalytics] = useState<Analytics | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [addKind, setAddKind] = useState<StepKind>("send_email");
  const action = useAction();

  const load = useCallback(async () => {
    try {
      const journey = await answer(API.GET("/journeys/{journey_id}", { params: { path: { journey_id: id } } }));
      setRecord(journey);
      setDoc(Object.fromEntries(Object.entries(journey).filter(([k]) => !RECORD_FIELDS.includes(k))) as JourneyDoc);
      setDirty(false);
    } catch (e) {
      setError(e);
    }
  }, [id]);
  useEffect(() => {
    void load();
    Promise.all([
      answer(API.GET("/content")).then((a) => a.content),
      answer(API.GET("/destinations")).then((a) => a.destinations).catch(() => []),
      answer(API.GET("/segments")).then((a) => a.segments),
      answer(API.GET("/lists")).then((a) => a.lists).catch(() => []),
    ]).then(([content, destinations, segments, lists]) => setChoices({ content, destinations, catalog: { segments, lists, journeys: [] } }));
  }, [load]);

  const status: string = record?.status ?? "draft";
  const editable = status === "draft";
  useEffect(() => {
    if (editable || !record) return;
    const fetchFigures = () => answer(API.GET("/journeys/{journey_id}/analytics", { params: { path: { journey_id: id } } })).then(setAnalytics).catch(() => undefined);
    void fetchFigures();
    const timer = setInterval(fetchFigures, 4000);
    return () => clearInterval(timer);
  }, [editable, record, id]);

  const byStep = useMemo(() => {
    const found: Record<string, string[]> = {};
    for (const p of problems) {
      const i = stepOf(p.path);
      const step = i === null ? undefined : doc?.steps[i]?.id;
      if (step) {
        const field = p.path.replace(/^steps\[\d+\]\.?/, "").replace(new RegExp(`^${doc!.steps[i!].kind}\\.?`), "").split(/[.[]/)[0];
        const words = FIELD_WORDS[field] ? `${FIELD_WORDS[field]}: ${p.message}` : p.message;  // in words, at its step, once
        const said = (found[step] ??= []);
        if (!said.includes(words)) said.push(words);
      }
    }
    return found;
  }, [problems, doc]);
  const journeyProblems = problems.filter((p) => stepOf(p.path) === null);
  const names = useMemo(() => Object.fromEntries([...choices.content, ...choices.destinations].map((c) => [c.id, c.name])), [choices]);
  const figures = useMemo(() => Object.fromEntries((analytics?.steps ?? []).map((s) => [s.step_id, s])), [analytics]);

  if (!doc) return error ? <ErrorNote error={error} /> : <p className="muted">Loading…</p>;
  const change = (next: JourneyDoc) => {
    setDoc(next);
    setDirty(true);
  };
  const save = async () => {
    setProblems([]);
    try {
      await answer(API.PUT("/journeys/{journey_id}", { params: { path: { journey_id: id } }, body: doc }));
      setDirty(false);
    } catch (e) {
      if (e instanceof ApiError) setProblems(e.problems);
      throw e;
    }
  };
  const lifecycle = (verb: "publish" | "start" | "stop", done: string) => action.run(async () => {
    if (verb === "publish" && dirty) await save();
    try {
      await answer(API.POST(`/journeys/{journey_id}/${verb}`, { params: { path: { journey_id: id } } }));
    } catch (e) {
      if (e instanceof ApiError) setProblems(e.problems);
      throw e;
    }
    setProblems([]);
    await load();
  }, done);
  const add = () => {
    const newId = freshId(doc, addKind);
    let made: Step = STEP_KINDS[addKind].make(newId);
    const from = doc.steps.find((s) => s.id === selected);
    const open = from && ways(from).find(([, t]) => !t);
    const begins = doc.steps.find((s) => s.id === doc.start);
    // nothing selected and the journey goes straight to its end: the new step goes first, leading to that end
    const first = !from && (!begins || begins.kind === "end");
    if (first && begins && ways(made).length) made = setWay(made, ways(made)[0][0], begins.id);
    let steps = [...doc.steps, made];
    if (from && open) steps = steps.map((s) => (s.id === from.id ? setWay(s, open[0], newId) : s));
    else if (from && ways(from).length) {  // every way of the selected step is taken: the new step goes in between
      const [way, target] = ways(from)[0];
      if (target && ways(made).length) steps = steps.map((s) => (s.id === newId ? setWay(s, ways(made)[0][0], target) : s));
      steps = steps.map((s) => (s.id === from.id ? setWay(s, way, newId) : s));
    }
    change({ ...doc, steps, start: first ? newId : doc.start });
    setSelected(newId);
    announce(`Step ${newId} added${from && open ? ` after ${from.id}` : first ? " at the start" : ""}`);
  };
  const step = doc.steps.find((s) => s.id === selected) ?? null;
  return (
    <section aria-labelledby="journey-title" className="journey">
      <div className="title-row">
        <h1 id="journey-title">{doc.name} <Status value={status} /></h1>
        <div className="actions" role="group" aria-label="Journey actions">
          {editable && <button type="button" disabled={action.busy || !dirty} onClick={() => action.run(save, "Journey saved")}>Save</button>}
          {editable && <button type="button" className="primary" disabled={action.busy} onClick={() => lifecycle("publish", "Published")}>Publish</button>}
          {status === "published" && <button type="button" className="primary" disabled={action.busy} onClick={() => lifecycle("start", "Started")}>Start</button>}
          {status === "running" && <button type="button" className="danger" disabled={action.busy} onClick={() => lifecycle("stop", "Stopped")}>Stop</button>}
          <button type="button" disabled={action.busy} onClick={() => action.run(async () => navigate(`/journeys/${(await answer(API.POST("/journeys/{journey_id}/copy", { params: { path: { journey_id: id } } }))).id}`), "Copied into a new draft")}>Copy</button>
        </div>
      </div>
      <ErrorNote error={action.error} marked />
      {journeyProblems.length > 0 && <ul className="problems" role="alert">{[...new Set(journeyProblems.map((p) => p.message))].map((m) => <li key={m}>{m}</li>)}</ul>}
      {editable && (
        <div className="row toolbar">
          <Select label="New step" value={addKind} options={Object.entries(STEP_KINDS).map(([k, s]) => [k, s.label])} onChange={(v) => setAddKind(v as StepKind)} />
          <button type="button" onClick={add}>Add step{step ? ` after ${step.id}` : ""}</button>
          <Select label="Selected step" value={selected ?? ""} options={[["", "(the journey's settings)"], ...doc.steps.map((s): [string, string] => [s.id, s.id])]} onChange={(v) => setSelected(v || null)} />
        </div>
      )}
      <div className="journey-body">
        <Suspense fallback={<p className="muted">Loading the canvas…</p>}>
          <Canvas doc={doc} editable={editable} selected={selected} names={names} problems={byStep} figures={figures}
            experiment={byWay(analytics)} onSelect={setSelected} onChange={change} />
        </Suspense>
        <aside className="panel" aria-label={step ? `Step ${step.id}` : "Journey settings"}>
          {!editable && !step && <Select label="Selected step" value="" options={[["", "(choose a step)"], ...doc.steps.map((s): [string, string] => [s.id, s.id])]} onChange={(v) => setSelected(v || null)} />}
          {step ? (
            <>
              <StepForm doc={doc} step={step} choices={choices} problems={byStep[step.id] ?? []} editable={editable}
                onChange={(s: Step) => change({ ...doc, steps: doc.steps.map((x) => (x.id === step.id ? s : x)) })}
                onRename={(to) => { change(renameStep(doc, step.id, to)); setSelected(to); }}
                onRemove={() => { change(removeStep(doc, step.id)); setSelected(null); }} />
              {!editable && <SaveAsSegment journeyId={id} step={step} />}
              {editable && doc.start !== step.id && <button type="button" onClick={() => change({ ...doc, start: step.id })}>Start here</button>}
            </>
          ) : (
            <Settings doc={doc} editable={editable} segments={choices.catalog.segments} onChange={change} />
          )}
        </aside>
      </div>
      {analytics && (
        <section aria-labelledby="figures-title">
          <h2 id="figures-title">How it goes</h2>
          <dl className="facts">
            <dt>Entered</dt><dd>{n(analytics.entered.contacts)} contacts ({n(analytics.entered.entries)} entries)</dd>
            <dt>Converted</dt><dd>{n(analytics.converted)}</dd>
          </dl>
          <Suspense fallback={null}>
            <Funnel steps={inOrder(doc, analytics.steps).map((s) => ({ step: s.step_id, entered: s.entered ?? 0, converted: s.converted ?? null }))} />
          </Suspense>
        </section>
      )}
    </section>
  );
}

function SaveAsSegment({ journeyId, step }: { journeyId: string; step: Step }) {
  const [outcome, setOutcome] = useState("clicked");
  const [way, setWay_] = useState("");
  const navigate = useNavigate();
  const action = useAction();
  const decision = ways(step).length > 1;
  return (
    <fieldset className="step-form">
      <legend>Save as a segment</legend>
      <Select label="Contacts who" value={outcome} options={OUTCOMES.map((o) => [o, OUTCOME_NAMES[o]])} onChange={setOutcome} />
      {decision && outcome === "branched" && (
        <Select label="Took the way" value={way} options={[["", "(choose)"], ...ways(step).map(([w]): [string, string] => [w, wayLabel(step, w)])]} onChange={setWay_} />
      )}
      <button type="button" disabled={action.busy} onClick={() => action.run(async () => {
        const body = outcome === "branched" && way ? { outcome, way } : { outcome };
        const segment = await answer(API.POST("/journeys/{journey_id}/steps/{step_id}/segments", {
          params: { path: { journey_id: journeyId, step_id: outcome === "converted" ? "any" : step.id } }, body,
        }));
        navigate(`/segments/${segment.id}`);
      }, "Saved as a draft segment")}>Save {outcome} contacts as a segment</button>
      <ErrorNote error={action.error} />
    </fieldset>
  );
}

function Settings({ doc, editable, segments, onChange }: { doc: JourneyDoc; editable: boolean; segments: { id: string; name: string }[]; onChange: (d: JourneyDoc) => void }) {
  const set = (field: string, value: unknown) => {
    const next: Record<string, unknown> = { ...doc };
    if (value === undefined || value === "") delete next[field];
    else next[field] = value;
    onChange(next as JourneyDoc);
  };
  const entry = doc.entry?.kind === "event" ? doc.entry : null;
  const event = entry !== null;
  const [json, setJson] = useState<string | null>(null);
  return (
    <fieldset className="step-form" disabled={!editable} aria-label="Journey settings">
      <legend>The journey</legend>
      <Line label="Journey name" value={doc.name} onChange={(v) => onChange({ ...doc, name: v })} />
      <Line label="Description" value={doc.description ?? ""} onChange={(v) => set("description", v)} />
      <Select label="Contacts enter" value={event ? "event" : "segment"} options={[["segment", "as members of a segment"], ["event", "when they do an event"]]}
        onChange={(v) => set("entry", v === "event" ? { kind: "event", event_type: "purchase" } : undefined)} />
      {entry && <Line label="Entry event type" value={entry.event_type ?? ""} onChange={(v) => set("entry", { ...entry, event_type: v })} />}
      {!event && (
        <Select label="Audience" value={doc.audience ?? ""} options={[["", "(choose a live segment)"], ...segments.map((s): [string, string] => [s.id, s.name])]} onChange={(v) => set("audience", v)} />
      )}
      {!event && (
        <Select label="Mode" value={doc.mode ?? "one_time"} options={[["one_time", "once, the members at start"], ["one_time_with_joiners", "once, and joiners as they join"], ["recurring", "recurring"]]}
          onChange={(v) => onChange(v === "recurring" ? { ...doc, mode: v, every: doc.every ?? { every: 7, unit: "days" } } : { ...without(doc, "every"), mode: v as JourneyDoc["mode"] })} />
      )}
      {doc.mode === "recurring" && (
        <div className="row">
          <Num label="Every" value={doc.every?.every} onChange={(v) => set("every", { ...doc.every, every: v })} />
          <Select label="Unit" value={doc.every?.unit ?? "days"} options={[["hours", "hours"], ["days", "days"]]} onChange={(v) => set("every", { ...doc.every, unit: v })} />
        </div>
      )}
      <Line label="Start at (optional, with an offset)" value={doc.start_at ?? ""} onChange={(v) => set("start_at", v)} />
      <Line label="Time zone (IANA, e.g. Europe/Warsaw)" value={doc.timezone ?? ""} onChange={(v) => set("timezone", v)} />
      <Line label="Goal event (optional)" value={doc.goal?.event_type ?? ""} onChange={(v) => set("goal", v ? { within: "P14D", ...doc.goal, event_type: v } : undefined)} />
      {doc.goal && <Line label="Goal within (ISO 8601)" value={doc.goal.within ?? ""} onChange={(v) => set("goal", { ...doc.goal, within: v || undefined })} />}
      <Num label="At most messages per contact (optional)" value={doc.limits?.messages_per_contact ?? undefined} onChange={(v) => set("limits", clean({ ...doc.limits, messages_per_contact: v }))} />
      <Num label="At most messages per contact a day (optional)" value={doc.limits?.messages_per_contact_per_day ?? undefined} onChange={(v) => set("limits", clean({ ...doc.limits, messages_per_contact_per_day: v }))} />
      <details>
        <summary>Every setting as JSON (send window, closed dates, exits, reentry, exclusions…)</summary>
        <label htmlFor="journey-json">The journey's settings (JSON, without its steps)</label>
        <textarea id="journey-json" rows={12} spellCheck={false} value={json ?? JSON.stringify(without(doc, "steps"), null, 2)}
          onChange={(e) => {
            setJson(e.target.value);
            try {
              const parsed = JSON.parse(e.target.value);
              if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) onChange({ ...parsed, steps: doc.steps });
            } catch {
              /* applied once it parses */
            }
          }} />
      </details>
    </fieldset>
  );
}

/** Steps as the canvas draws them: from the start down, row by row. */
function inOrder(doc: JourneyDoc, steps: StepFigures[]): StepFigures[] {
  const at = layout(doc);
  const place = (id: string) => (at[id] ? at[id].y * 10_000 + at[id].x : Infinity);
  return [...steps].sort((a, b) => place(a.step_id) - place(b.step_id));
}

function clean(o: Record<string, unknown>): Record<string, unknown> | undefined {
  const kept = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));
  return Object.keys(kept).length ? kept : undefined;
}
