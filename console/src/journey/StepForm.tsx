import { useEffect, useId, useState } from "react";
import { API, answer } from "../api";
import { ErrorNote, useAction } from "../ui";
import { Builder, Catalog, CatalogContext, Select } from "../builder/Builder";
import { type Node, without } from "../builder/model";
import { JourneyDoc, STEP_KINDS, Step, setWay, wayLabel, ways } from "./model";

export type Choices = {
  content: { id: string; name: string; channel: string }[];
  destinations: { id: string; name: string }[];
  catalog: Catalog;
};

type Props = { doc: JourneyDoc; step: Step; choices: Choices; problems: string[]; editable: boolean; onChange: (s: Step) => void; onRename: (to: string) => void; onRemove: () => void };

/** The selected step's settings: every field of its kind, and where each of its ways leads. */
export function StepForm({ doc, step, choices, problems, editable, onChange, onRename, onRemove }: Props) {
  const set = (field: string, value: unknown) => {
    const next: Record<string, unknown> = { ...step };
    if (value === undefined || value === "") delete next[field];
    else next[field] = value;
    onChange(next as Step);
  };
  const others = doc.steps.filter((s) => s.id !== step.id);
  const emailSteps = doc.steps.filter((s) => s.kind === "send_email").map((s) => s.id);
  const target = (way: string, value: string | null) => (
    <Select key={way} label={way === "next" ? "Then" : `Way ${wayLabel(step, way)} leads to`} value={value ?? ""}
      options={[["", "(the path ends)"], ...others.map((s): [string, string] => [s.id, s.id])]} onChange={(v) => onChange(setWay(step, way, v || null))} />
  );
  const condition = (node: unknown, onNode: (n: Node) => void, label: string) => (
    <CatalogContext.Provider value={{ ...choices.catalog, mode: "condition", messageSteps: emailSteps }}>
      <Builder node={node as Node} label={label} onChange={(n) => onNode(n ?? { all: [] })} />
    </CatalogContext.Provider>
  );
  return (
    <fieldset className="step-form" disabled={!editable} aria-label={`Step ${step.id} settings`}>
      <legend>{STEP_KINDS[step.kind]?.label ?? step.kind}</legend>
      {problems.length > 0 && <ul className="problems" role="alert">{problems.map((p, i) => <li key={i}>{p}</li>)}</ul>}
      <StepId value={step.id} taken={others.map((s) => s.id)} onRename={onRename} />
      {(step.kind === "send_email" || step.kind === "send_sms") && (
        <Select label="Content" value={step.content_id ?? ""} onChange={(v) => set("content_id", v)}
          options={[["", "(choose)"], ...choices.content.filter((c) => c.channel === (step.kind === "send_email" ? "email" : "sms")).map((c): [string, string] => [c.id, c.name])]} />
      )}
      {(step.kind === "send_email" || step.kind === "send_sms") && step.content_id && <TestSend contentId={step.content_id} email={step.kind === "send_email"} />}
      {step.kind === "webhook" && (
        <Select label="Destination" value={step.destination_id ?? ""} onChange={(v) => set("destination_id", v)}
          options={[["", "(choose)"], ...choices.destinations.map((d): [string, string] => [d.id, d.name])]} />
      )}
      {step.kind === "wait_for" && <Line label="Duration (ISO 8601: P1D, PT6H)" value={step.duration ?? ""} onChange={(v) => set("duration", v)} />}
      {step.kind === "wait_until" && (
        <>
          <Select label="Until" value={step.from !== undefined ? "field" : "time"} options={[["time", "a date and time"], ["field", "a time a field holds"]]}
            onChange={(v) => onChange(v === "field" ? { ...without(step, "at"), from: "entry_event.event_start" } : { ...without(step, "from", "offset", "no_value"), at: step.at ?? "" })} />
          {step.from === undefined ? (
            <Line label="At (with its offset: 2026-12-08T10:00:00+01:00)" value={step.at ?? ""} onChange={(v) => set("at", v)} />
          ) : (
            <>
              <Line label="From field" value={step.from ?? ""} onChange={(v) => set("from", v)} />
              <Line label="Offset (e.g. -P1D)" value={step.offset ?? ""} onChange={(v) => set("offset", v)} />
              <Select label="Without a time, go to" value={step.no_value ?? ""} options={[["", "(the path ends)"], ...others.map((s): [string, string] => [s.id, s.id])]} onChange={(v) => set("no_value", v)} />
            </>
          )}
        </>
      )}
      {step.kind === "branch_on_event" && (
        <>
          <Select label="Message step" value={step.message_step ?? ""} options={[["", "(choose)"], ...emailSteps.map((m): [string, string] => [m, m])]} onChange={(v) => set("message_step", v)} />
          <Select label="Event" value={step.event} options={[["clicked", "clicked"], ["opened", "opened"], ["bounced", "bounced (hard)"]]} onChange={(v) => set("event", v)} />
          <Line label="Link (a click on it; empty: any link)" value={step.link ?? ""} onChange={(v) => set("link", v)} />
          <Line label="Timeout (ISO 8601: P1D)" value={step.timeout ?? ""} onChange={(v) => set("timeout", v)} />
        </>
      )}
      {(step.kind === "split" || step.kind === "multi_split") && <Line label="After waiting (optional, ISO 8601)" value={step.after ?? ""} onChange={(v) => set("after", v)} />}
      {step.kind === "split" && condition(step.condition, (n) => set("condition", n), "Condition")}
      {step.kind === "multi_split" && (
        <>
          {step.branches.map((b, i) => (
            <div key={i} className="branch">
              {condition(b.condition, (n) => set("branches", step.branches.map((x, j) => (j === i ? { ...x, condition: n } : x))), `Branch ${i + 1}`)}
              <button type="button" onClick={() => set("branches", step.branches.filter((_, j) => j !== i))} disabled={step.branches.length < 2}>Remove branch {i + 1}</button>
            </div>
          ))}
          <button type="button" disabled={step.branches.length >= 5} onClick={() => set("branches", [...step.branches, { condition: { kind: "gender", value: "male" } }])}>Add a branch</button>
        </>
      )}
      {step.kind === "random_split" && (
        <>
          {step.branches.map((b, i) => (
            <div key={i} className="row">
              <Num label={`Branch ${i + 1} percent`} value={b.percent} onChange={(v) => set("branches", step.branches.map((x, j) => (j === i ? { ...x, percent: v } : x)))} />
              <button type="button" disabled={step.branches.length <= 2} onClick={() => set("branches", step.branches.filter((_, j) => j !== i))}>Remove branch {i + 1}</button>
            </div>
          ))}
          <button type="button" disabled={step.branches.length >= 5} onClick={() => set("branches", [...step.branches, { percent: 10 }])}>Add a branch</button>
        </>
      )}
      {step.kind === "holdout" && <Num label="Held out (percent)" value={step.percent} onChange={(v) => set("percent", v)} />}
      {step.kind === "update_contact" && (
        <>
          <Select label="Field" value={step.field} options={[["tags", "tags"], ["categories", "categories"], ["consents", "consents"]]} onChange={(v) => set("field", v)} />
          <Select label="Action" value={step.action} options={[["add", "add"], ["remove", "remove"]]} onChange={(v) => set("action", v)} />
          <Line label="Value" value={step.value ?? ""} onChange={(v) => set("value", v)} />
        </>
      )}
      {ways(step).filter(([way]) => way !== "no_value").map(([way, to]) => target(way, to))}
      <button type="button" className="danger" onClick={onRemove}>Remove step {step.id}</button>
    </fieldset>
  );
}

/** Send the step's content to yourself, rendered for a contact you pick: never to the contact, never in the figures. */
function TestSend({ contentId, email }: { contentId: string; email: boolean }) {
  const [contact, setContact] = useState("");
  const [to, setTo] = useState("");
  const action = useAction();
  const addresses = to.split(",").map((a) => a.trim()).filter(Boolean);
  return (
    <fieldset className="test-send" disabled={false}>
      <legend>Send a test</legend>
      <Line label="Render it for contact (id)" value={contact} onChange={setContact} />
      <Line label={email ? "Send it to (e-mail addresses, comma-separated)" : "Send it to (phone numbers with +country code)"} value={to} onChange={setTo} />
      <button type="button" disabled={action.busy || !contact || !addresses.length}
        onClick={() => action.run(async () => {
          await answer(API.POST("/content/{content_id}/test", { params: { path: { content_id: contentId } }, body: { contact_id: contact, to: addresses } }));
        }, `Test sent to ${addresses.join(", ")}`)}>Send the test</button>
      <ErrorNote error={action.error} />
    </fieldset>
  );
}

function StepId({ value, taken, onRename }: { value: string; taken: string[]; onRename: (to: string) => void }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const bad = !/^[A-Za-z0-9_-]{1,40}$/.test(text) ? "letters, digits, _ and -, up to 40" : taken.includes(text) ? "another step has this id" : null;
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>Step id</label>
      <input id={id} value={text} aria-invalid={Boolean(bad) || undefined} aria-describedby={bad ? `${id}-bad` : undefined}
        onChange={(e) => setText(e.target.value)} onBlur={() => !bad && text !== value && onRename(text)}
        onKeyDown={(e) => e.key === "Enter" && !bad && text !== value && onRename(text)} />
      {bad && <span id={`${id}-bad`} className="problem">{bad}</span>}
    </div>
  );
}

export function Line({ label, value, onChange }: { label: string; value: string; onChange: (v: string) => void }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} value={value} onChange={(e) => onChange(e.target.value)} />
    </div>
  );
}

export function Num({ label, value, onChange }: { label: string; value: number | undefined; onChange: (v: number | undefined) => void }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} type="number" value={value ?? ""} onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))} />
    </div>
  );
}
