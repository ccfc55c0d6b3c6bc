import { createContext, useContext, useEffect, useId, useState } from "react";
import { type FieldType, type LakeField, type LakeValues, fieldName } from "./lake";
import {
  ATTRIBUTE_OP_WORDS, COMPARISON_WORDS, EVENT_TYPES, GROUPS, Json, KINDS, MEASURE_WORDS, Node, OUTCOME_NAMES, OUTCOMES, RECENCY_WORDS,
  SET_OP_WORDS, attributeOps, childPath, children, describe, groupOf, kindsFor, problemsAt, without,
} from "./model";

/** What the pickers offer by name: the org's segments, lists and journeys. */
export type Catalog = {
  segments: { id: string; name: string }[];
  lists: { id: string; name: string }[];
  journeys: { id: string; name: string; steps?: { id: string }[] }[];
  /** A segment's where-tree (counted), or a journey split's condition (no counts; its e-mail steps to test). */
  mode?: "segment" | "condition";
  messageSteps?: string[];
  /** The lake's fields with their types (GET /lake/fields), and a field's common values (GET /lake/values). */
  fields?: LakeField[];
  values?: (field: string, eventType?: string) => Promise<LakeValues | null>;
};
export const CatalogContext = createContext<Catalog>({ segments: [], lists: [], journeys: [] });

type Problems = { path: string; message: string }[];

// The controls' names for the fields the API names in a problem: "From age: must be at least 0"
const CONTROL_NAMES: Record<string, string> = {
  field: "Field", op: "Comparison", value: "Value", values: "Values", min: "From age", max: "To age", lat: "Latitude", lon: "Longitude",
  within_km: "Within km", event_type: "Event type", event_types: "Event types", days: "Days", window: "Window", filters: "Filters",
  measure: "Measure", max_days: "At most days before the event", top: "Top", journey_id: "Journey", step_id: "Step", outcome: "Outcome",
  way: "Way", segment_id: "Segment", list_id: "List", message_step: "Message step", link: "Link",
};
type Props = {
  node: Node;
  path?: string;
  label?: string;
  counts?: Record<string, number>;
  problems?: Problems;
  onChange: (node: Node | null) => void;
};

/** A where-tree: groups (all / any / not) and criteria, each with its count beside it and its problems at it. */
export function Builder({ node, path = "where", label = "Segment", counts = {}, problems = [], onChange }: Props) {
  const group = groupOf(node);
  const count = counts[path];
  const mine = problemsAt(problems, path);
  const catalog = useContext(CatalogContext);
  const kinds = kindsFor(catalog.mode ?? "segment");
  const counted = catalog.mode !== "condition";
  const title = `${label}: ${describe(node)}`;
  return (
    <fieldset className={group ? "node group" : "node criterion"} aria-label={title}>
      <legend>
        <span className="node-label">{label}</span>
        {group ? (
          <Select label={`Group type of ${label}`} hideLabel value={group} options={GROUPS.map((g) => [g, { all: "All of", any: "Any of", not: "Not" }[g]])}
            onChange={(g) => onChange(regroup(node, g as (typeof GROUPS)[number]))} />
        ) : (
          <Select label={`Criterion kind of ${label}`} hideLabel value={String(node.kind)} options={Object.entries(kinds).map(([k, s]) => [k, s.label])}
            onChange={(k) => onChange(kinds[k].make())} />
        )}
        {counted && (
          <output className="count" aria-label={`Count of ${label}`} aria-live="off">
            {count === undefined ? "…" : count.toLocaleString("en")}
          </output>
        )}
        {path !== "where" && (
          <span className="node-actions">
            <button type="button" onClick={() => onChange({ not: node })} aria-label={`Negate ${label}`}>not</button>
            <button type="button" onClick={() => onChange(null)} aria-label={`Remove ${label}`}>×</button>
          </span>
        )}
      </legend>
      {mine.length > 0 && (
        <ul className="problems" role="alert">
          {[...new Set(mine.map((p) => (CONTROL_NAMES[p.field.split(/[.[]/)[0]] ? `${CONTROL_NAMES[p.field.split(/[.[]/)[0]]}: ${p.message}` : p.message)))].map((m) => <li key={m}>{m}</li>)}
        </ul>
      )}
      {group ? (
        <GroupBody node={node} path={path} label={label} counts={counts} problems={problems} onChange={onChange} />
      ) : (
        <Criterion node={node} label={label} invalid={new Set(mine.map((p) => p.field.split(".")[0]))} onChange={(n) => onChange(n)} />
      )}
    </fieldset>
  );
}

function regroup(node: Node, to: (typeof GROUPS)[number]): Node {
  const kids = children(node);
  if (to === "not") return { not: kids[0] ?? KINDS.attribute.make() };
  return { [to]: kids };
}

function GroupBody({ node, path, label, counts, problems, onChange }: Props & { path: string; label: string }) {
  const group = groupOf(node)!;
  const kids = children(node);
  const prefix = label === "Segment" ? "" : `${label}.`;
  const set = (i: number, child: Node | null) => {
    if (group === "not") return onChange(child === null ? KINDS.attribute.make() : { not: child });
    const list = [...kids];
    if (child === null) list.splice(i, 1);
    else list[i] = child;
    onChange({ [group]: list });
  };
  return (
    <div className="children">
      {kids.map((child, i) => (
        <Builder key={i} node={child} path={childPath(path, node, i)} label={`${prefix}${i + 1}`} counts={counts} problems={problems} onChange={(c) => set(i, c)} />
      ))}
      {group !== "not" && (
        <div className="add">
          <button type="button" onClick={() => onChange({ [group]: [...kids, KINDS.attribute.make()] })} aria-label={`Add a criterion to ${label}`}>+ criterion</button>
          <button type="button" onClick={() => onChange({ [group]: [...kids, { any: [] }] })} aria-label={`Add a group to ${label}`}>+ group</button>
        </div>
      )}
    </div>
  );
}

type Edit = { node: Node; label: string; invalid: Set<string>; onChange: (n: Node) => void };

/** The controls of one criterion kind. Each control writes its own field only, so what it does not show stays. */
function Criterion({ node, label, invalid, onChange }: Edit) {
  const set = (field: string, value: Json | undefined) => onChange(setField(node, field, value));
  const bad = (field: string) => invalid.has(field);
  const catalog = useContext(CatalogContext);
  switch (node.kind) {
    case "attribute":
      return <AttributeCriterion node={node} label={label} invalid={invalid} onChange={onChange} />;
    case "tags":
    case "categories":
    case "consents":
      return (
        <div className="row">
          <Select label="Operator" value={String(node.op)} options={Object.entries(SET_OP_WORDS)} invalid={bad("op")} onChange={(o) => set("op", o)} />
          <Words label="Values" values={(node.values as string[]) ?? []} invalid={bad("values")} onChange={(v) => set("values", v)} />
          <Common field={String(node.kind)} onPick={(v) => set("values", [...new Set([...((node.values as string[]) ?? []), v])])} />
        </div>
      );
    case "age":
      return (
        <div className="row">
          <Num label="From age" value={node.min} invalid={bad("min")} onChange={(v) => set("min", v)} />
          <Num label="To age" value={node.max} invalid={bad("max")} onChange={(v) => set("max", v)} />
          <Check label="Include unknown age" value={node.include_unknown} fallback={true} onChange={(v) => set("include_unknown", v)} />
        </div>
      );
    case "gender":
      return (
        <div className="row">
          <Select label="Gender" value={String(node.value)} options={[["any", "any"], ["female", "female"], ["male", "male"]]} onChange={(v) => set("value", v)} />
        </div>
      );
    case "distance":
      return (
        <div className="row">
          <Num label="Latitude" value={node.lat} step="any" invalid={bad("lat")} onChange={(v) => set("lat", v)} />
          <Num label="Longitude" value={node.lon} step="any" invalid={bad("lon")} onChange={(v) => set("lon", v)} />
          <Num label="Within km" value={node.within_km} step="any" invalid={bad("within_km")} onChange={(v) => set("within_km", v)} />
        </div>
      );
    case "activity":
      return (
        <div className="rows">
          <div className="row">
            <EventType value={String(node.event_type ?? "")} invalid={bad("event_type")} onChange={(v) => set("event_type", v)} />
            <Select label="Compared" value={String(node.op ?? "gte")} options={Object.entries(COMPARISON_WORDS)} invalid={bad("op")} onChange={(o) => set("op", o)} />
            <Num label="Times" value={node.value ?? 1} step="any" invalid={bad("value")} onChange={(v) => set("value", v)} />
            <Select label="Measure" value={String(node.measure ?? "count")} options={Object.entries(MEASURE_WORDS)} onChange={(m) => set("measure", m === "count" && node.measure === undefined ? undefined : m)} />
          </div>
          <Filters value={(node.filters as Record<string, Json>) ?? undefined} eventType={String(node.event_type ?? "")} invalid={bad("filters")} onChange={(f) => set("filters", f)} />
          <Window value={node.window as Node | undefined} invalid={bad("window")} onChange={(w) => set("window", w)} />
        </div>
      );
    case "recency":
      return (
        <div className="row">
          <Words label="Event types (empty: any)" values={(node.event_types as string[]) ?? []} invalid={bad("event_types")}
            onChange={(v) => set("event_types", v.length || node.event_types !== undefined ? v : undefined)} />
          <Select label="When" value={String(node.op)} options={Object.entries(RECENCY_WORDS)} onChange={(o) => set("op", o)} />
          <Num label="Days" value={node.days} invalid={bad("days")} onChange={(v) => set("days", v)} />
        </div>
      );
    case "lead_time":
      return (
        <div className="rows">
          <div className="row">
            <Num label="At most days before the event" value={node.max_days} invalid={bad("max_days")} onChange={(v) => set("max_days", v)} />
            <EventType value={String(node.event_type ?? "")} placeholder="purchase" onChange={(v) => set("event_type", v || undefined)} />
          </div>
          <Window value={node.window as Node | undefined} invalid={bad("window")} onChange={(w) => set("window", w)} />
        </div>
      );
    case "score_change":
      return (
        <div className="row">
          <Num label="Over the last days" value={node.days} invalid={bad("days")} onChange={(v) => set("days", v)} />
          <Select label="Change" value={String(node.op ?? "")} options={[["", "(any change)"], ...Object.entries(COMPARISON_WORDS)]} onChange={(o) => set("op", o || undefined)} />
          {node.op !== undefined && <Num label="Points" value={node.value} step="any" invalid={bad("value")} onChange={(v) => set("value", v)} />}
          <Num label="Top (fastest risers)" value={node.top} optional invalid={bad("top")} onChange={(v) => set("top", v)} />
        </div>
      );
    case "journey_outcome": {
      const journey = catalog.journeys.find((j) => j.id === node.journey_id);
      return (
        <div className="rows">
          <div className="row">
            <Pick label="Journey" value={String(node.journey_id ?? "")} items={catalog.journeys} invalid={bad("journey_id")} onChange={(v) => set("journey_id", v)} />
            <Select label="Step" value={String(node.step_id ?? "")} options={[["", "(any step)"], ...(journey?.steps ?? []).map((s): [string, string] => [s.id, s.id]), ...(node.step_id && !journey?.steps?.some((s) => s.id === node.step_id) ? [[String(node.step_id), String(node.step_id)] as [string, string]] : [])]}
              onChange={(v) => set("step_id", v || undefined)} />
            <Select label="Outcome" value={String(node.outcome)} options={OUTCOMES.map((o) => [o, OUTCOME_NAMES[o]])} onChange={(v) => set("outcome", v)} />
            <Text label="Way" value={String(node.way ?? "")} placeholder="yes or no" onChange={(v) => set("way", v || undefined)} />
          </div>
          <Window value={node.window as Node | undefined} invalid={bad("window")} onChange={(w) => set("window", w)} />
        </div>
      );
    }
    case "in_segment":
    case "not_in_segment":
      return (
        <div className="row">
          <Pick label="Segment" value={String(node.segment_id ?? "")} items={catalog.segments} invalid={bad("segment_id")} onChange={(v) => set("segment_id", v)} />
        </div>
      );
    case "engagement":
      return (
        <div className="row">
          <Select label="Message step" value={String(node.message_step ?? "")} options={[["", "(choose)"], ...(catalog.messageSteps ?? []).map((m): [string, string] => [m, m])]}
            invalid={bad("message_step")} onChange={(v) => set("message_step", v)} />
          <Select label="Event" value={String(node.event)} options={["delivered", "opened", "clicked", "bounced"].map((e): [string, string] => [e, e])} onChange={(v) => set("event", v)} />
          <Text label="Link (optional)" value={String(node.link ?? "")} onChange={(v) => set("link", v || undefined)} />
          {node.event === "clicked" && <Common field="events.link" eventType="email_clicked" onPick={(v) => set("link", v)} />}
        </div>
      );
    case "in_list":
      return (
        <div className="row">
          <Pick label="List" value={String(node.list_id ?? "")} items={catalog.lists} invalid={bad("list_id")} onChange={(v) => set("list_id", v)} />
        </div>
      );
    default:
      return <p className="muted">{label}: edit this criterion ({String(node.kind)}) in the JSON view.</p>;
  }
}

/** An attribute: a field picked from the lake's (its type known), the comparisons that type takes, a value of that
 * type (a number, a date, yes / no, or text with the values that exist offered). */
function useLakeValues(field: string | null, eventType?: string): LakeValues | null {
  const ask = useContext(CatalogContext).values;
  const [found, setFound] = useState<LakeValues | null>(null);
  useEffect(() => {
    setFound(null);
    if (!field || !ask) return;
    let current = true;
    void ask(field, eventType).then((v) => current && setFound(v));
    return () => void (current = false);
  }, [field, eventType, ask]);
  return found;
}

function AttributeCriterion({ node, invalid, onChange }: Edit) {
  const fields = useContext(CatalogContext).fields ?? [];
  const field = String(node.field ?? "");
  const known = fields.find((f) => f.field === field);
  const type: FieldType | undefined = known?.type ?? (field.startsWith("attributes.") ? "text" : undefined);
  const op = String(node.op);
  const ops = attributeOps(type);  // what the field's type takes (an op written in the JSON view is kept, in words)
  const bad = (f: string) => invalid.has(f);
  const set = (f: string, value: Json | undefined) => onChange(setField(node, f, value));
  const pick = (to: string) => {
    const kind = fields.find((f) => f.field === to)?.type;
    const ops = attributeOps(kind).map(([o]) => o);
    const next: Node = { ...node, field: to, op: ops.includes(op) ? op : "eq" };
    onChange(retype(next, kind));
  };
  const many = ["between", "in", "not_in"].includes(op);
  return (
    <div className="rows">
      <div className="row">
        <FieldPick value={field} fields={fields} invalid={bad("field")} onChange={pick} />
        <Select label="Comparison" value={op} options={ops.some(([o]) => o === op) ? ops : [...ops, [op, ATTRIBUTE_OP_WORDS[op as keyof typeof ATTRIBUTE_OP_WORDS] ?? op]]} invalid={bad("op")}
          onChange={(o) => onChange(withOp(node, o))} />
        {many ? (
          <ValueList label={op === "between" ? "From, to" : "Values"} values={(node.values as Json[]) ?? []} numbers={type === "number"} invalid={bad("values")} onChange={(v) => set("values", v)} />
        ) : !op.startsWith("is_") ? (
          <TypedValue label="Value" type={type} value={node.value ?? ""} invalid={bad("value")} onChange={(v) => set("value", v)} />
        ) : null}
      </div>
      {type === "text" && !op.startsWith("is_") && (
        <Common field={field} onPick={(v) => (many ? set("values", [...new Set([...((node.values as Json[]) ?? []), v])]) : set("value", v))} />
      )}
      {(type === "number" || type === "date" || type === "time") && <Range field={field} />}
    </div>
  );
}

/** The node with its value(s) as the field's type holds them (50, not "50"). */
function retype(node: Node, type: FieldType | undefined): Node {
  const as = (v: Json): Json => {
    if (type === "number") return v === "" || v === null || Number.isNaN(Number(v)) ? v : Number(v);
    if (type === "yes_no") return v === true || v === "true";
    return typeof v === "string" || v === null ? v : String(v);
  };
  const next = { ...node };
  if (next.value !== undefined) next.value = as(next.value);
  if (Array.isArray(next.values)) next.values = next.values.map(as);
  return next;
}

/** A field of the lake's, by name: the data contract's, then the org's custom attributes. */
function FieldPick({ value, fields, invalid, onChange }: { value: string; fields: LakeField[]; invalid?: boolean; onChange: (f: string) => void }) {
  const [other, setOther] = useState(false);
  const custom = value.startsWith("attributes.") && !fields.some((f) => f.field === value);
  const options: [string, string][] = [
    ...fields.filter((f) => !f.custom && f.type !== "list").map((f): [string, string] => [f.field, fieldName(f.field)]),
    ...fields.filter((f) => f.custom).map((f): [string, string] => [f.field, fieldName(f.field)]),
    ["attributes.", "Another custom attribute…"],
  ];
  return (
    <>
      <Select label="Field" value={other || custom ? "attributes." : value} options={options} invalid={invalid}
        onChange={(f) => { setOther(f === "attributes."); if (f !== "attributes.") onChange(f); }} />
      {(other || custom) && (
        <Text label="Custom attribute" value={value.slice("attributes.".length)} placeholder="its key, e.g. favourite_genre" invalid={invalid}
          onChange={(k) => onChange(`attributes.${k}`)} />
      )}
    </>
  );
}

/** A value of the field's type: a number, a date, yes / no, or text. */
function TypedValue({ type, value, onChange, ...base }: Base & { type: FieldType | undefined; value: Json; onChange: (v: Json) => void }) {
  const id = useId();
  if (type === "yes_no") {
    return <Select {...base} value={String(value === true || value === "true")} options={[["true", "yes"], ["false", "no"]]} onChange={(v) => onChange(v === "true")} />;
  }
  if (type === "date" || type === "time") return <DateInput {...base} value={String(value ?? "").slice(0, 10)} onChange={(v) => onChange(v)} />;
  if (type === "number") {
    return (
      <Field id={id} {...base}>
        <input id={id} type="number" step="any" value={value === null || value === undefined ? "" : String(value)} aria-invalid={base.invalid || undefined}
          onChange={(e) => onChange(e.target.value === "" ? "" : Number(e.target.value))} />
      </Field>
    );
  }
  if (type === undefined) return <Value {...base} value={value} onChange={onChange} />;
  return <Text {...base} value={String(value ?? "")} onChange={(v) => onChange(v)} />;
}

/** The values most contacts have, each a button that takes it. */
function Common({ field, eventType, onPick }: { field: string; eventType?: string; onPick: (v: string) => void }) {
  const found = useLakeValues(field || null, eventType);
  const values = found?.values ?? [];
  if (!values.length) return null;
  return (
    <div className="common" role="group" aria-label={`Common values of ${fieldName(field)}`}>
      <span className="muted">Common:</span>
      {values.slice(0, 8).map((v) => (
        <button type="button" key={v.value} className="chip" onClick={() => onPick(v.value)} aria-label={`${v.value} (${v.contacts.toLocaleString("en")} contacts)`}>
          {v.value} <span className="muted">{v.contacts.toLocaleString("en")}</span>
        </button>
      ))}
    </div>
  );
}

/** A number's or a date's range in the lake. */
function Range({ field }: { field: string }) {
  const found = useLakeValues(field || null);
  if (!found || found.smallest === null || found.smallest === undefined) return null;
  const shown = (v: unknown) => (typeof v === "number" ? v.toLocaleString("en") : String(v).slice(0, 10));
  return <p className="muted hint">Contacts have {fieldName(field).toLowerCase()} from {shown(found.smallest)} to {shown(found.largest)}.</p>;
}

/** An event type, with the org's own event types offered. */
function EventType({ value, onChange, ...base }: { value: string; placeholder?: string; invalid?: boolean; onChange: (v: string) => void }) {
  const found = useLakeValues("events.event_type");
  const types = found?.values?.map((v) => v.value) ?? EVENT_TYPES;
  return <Text label="Event type" value={value} suggestions={types} {...base} onChange={onChange} />;
}

/** The node with `field` set to `value` (undefined: left out); every other field as it was. */
function setField(node: Node, field: string, value: Json | undefined): Node {
  const next = { ...node };
  if (value === undefined) delete next[field];
  else next[field] = value;
  return next;
}

function withOp(node: Node, op: string): Node {
  const next: Node = { ...node, op };
  const many = ["between", "in", "not_in"].includes(op);
  if (many && next.values === undefined) {
    next.values = next.value !== undefined && next.value !== "" ? [next.value] : [];
    delete next.value;
  } else if (!many && !op.startsWith("is_") && next.value === undefined) {
    next.value = Array.isArray(next.values) && next.values.length ? next.values[0] : "";
    delete next.values;
  } else if (op.startsWith("is_")) {
    delete next.value;
    delete next.values;
  }
  return next;
}

// ------------------------------------------------------------------------------------------ windows, filters

const WINDOWS: [string, string][] = [["", "all time"], ["last_days", "in the last … days"], ["days_ago", "exactly … days ago"], ["between", "between dates"], ["days_back", "from … days back on"]];

function Window({ value, invalid, onChange }: { value?: Node; invalid?: boolean; onChange: (w: Node | undefined) => void }) {
  const kind = value ? (WINDOWS.find(([k]) => k && k in value)?.[0] ?? "") : "";
  const id = useId();
  const field = value?.field;
  const withField = (w: Node) => (field !== undefined ? { ...w, field } : w);
  return (
    <div className="row">
      <Select label="Window" value={kind} options={WINDOWS} invalid={invalid}
        onChange={(k) => onChange(k === "" ? undefined : k === "between" ? withField({ between: [today(-30), today(0)] }) : withField({ [k]: 30 }))} />
      {kind === "between" && (
        <>
          <DateInput label="From date" value={String((value!.between as Json[])[0] ?? "")} onChange={(d) => onChange({ ...value!, between: [d, (value!.between as Json[])[1]] })} />
          <DateInput label="To date" value={String((value!.between as Json[])[1] ?? "")} onChange={(d) => onChange({ ...value!, between: [(value!.between as Json[])[0], d] })} />
        </>
      )}
      {(kind === "last_days" || kind === "days_ago") && <Num label="Days" value={value![kind]} onChange={(n) => onChange({ ...value!, [kind]: n ?? 0 })} />}
      {kind === "days_back" && (
        <>
          <label className="slider" htmlFor={id}>
            Days back <input id={id} type="range" min={0} max={730} value={Number(value!.days_back)} onChange={(e) => onChange({ ...value!, days_back: Number(e.target.value) })} />
          </label>
          <Num label="Days back, in days" hideLabel value={value!.days_back} onChange={(n) => onChange({ ...value!, days_back: n ?? 0 })} />
        </>
      )}
      {kind !== "" && <Text label="Date field" value={String(field ?? "")} placeholder="ts" onChange={(f) => onChange(f ? { ...value!, field: f } : without(value!, "field"))} />}
    </div>
  );
}

// Event fields whose values the lake can offer (GET /lake/values?field=events.FIELD)
const EVENT_FIELDS = new Set(["event_type", "channel", "link", "url", "bounce_type", "product_id", "production_ref", "event_ref", "sales_channel", "search_query", "campaign_id"]);

function Filters({ value, eventType, invalid, onChange }: { value?: Record<string, Json>; eventType?: string; invalid?: boolean; onChange: (f: Record<string, Json> | undefined) => void }) {
  const entries = Object.entries(value ?? {});
  const set = (rows: [string, Json][]) => onChange(rows.length || value !== undefined ? Object.fromEntries(rows) : undefined);
  return (
    <div className="filters" role="group" aria-label="Event filters" aria-invalid={invalid || undefined}>
      {entries.map(([key, v], i) => (
        <div className="row" key={i}>
          <Text label={`Filter ${i + 1} field`} value={key} onChange={(k) => set(entries.map((e, j) => (j === i ? [k, e[1]] : e)))} />
          {Array.isArray(v) ? (
            <ValueList label={`Filter ${i + 1} values`} values={v} onChange={(vs) => set(entries.map((e, j) => (j === i ? [e[0], vs] : e)))} />
          ) : (
            <Value label={`Filter ${i + 1} value`} value={v} onChange={(x) => set(entries.map((e, j) => (j === i ? [e[0], x] : e)))} />
          )}
          <button type="button" aria-label={`Remove filter ${i + 1}`} onClick={() => set(entries.filter((_, j) => j !== i))}>×</button>
          {EVENT_FIELDS.has(key) && !Array.isArray(v) && (
            <Common field={`events.${key}`} eventType={eventType || undefined} onPick={(x) => set(entries.map((e, j) => (j === i ? [e[0], x] : e)))} />
          )}
        </div>
      ))}
      <button type="button" onClick={() => set([...entries, [entries.length ? `properties.key${entries.length + 1}` : "link", ""]])}>+ filter</button>
    </div>
  );
}

function today(offsetDays: number): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

// ------------------------------------------------------------------------------------------ labelled controls

type Base = { label: string; hideLabel?: boolean; invalid?: boolean };

function Field({ label, hideLabel, children, id }: Base & { id: string; children: React.ReactNode }) {
  return (
    <span className="field">
      <label htmlFor={id} className={hideLabel ? "sr-only" : undefined}>{label}</label>
      {children}
    </span>
  );
}

export function Select({ value, options, onChange, ...base }: Base & { value: string; options: [string, string][] | readonly (readonly [string, string])[]; onChange: (v: string) => void }) {
  const id = useId();
  const known = options.some(([k]) => k === value);
  return (
    <Field id={id} {...base}>
      <select id={id} value={value} aria-invalid={base.invalid || undefined} onChange={(e) => onChange(e.target.value)}>
        {!known && <option value={value}>{value}</option>}
        {options.map(([k, text]) => <option key={k} value={k}>{text}</option>)}
      </select>
    </Field>
  );
}

function Text({ value, onChange, suggestions, placeholder, ...base }: Base & { value: string; suggestions?: string[]; placeholder?: string; onChange: (v: string) => void }) {
  const id = useId();
  return (
    <Field id={id} {...base}>
      <input id={id} type="text" value={value} placeholder={placeholder} list={suggestions ? `${id}-list` : undefined} aria-invalid={base.invalid || undefined} onChange={(e) => onChange(e.target.value)} />
      {suggestions && <datalist id={`${id}-list`}>{suggestions.map((s) => <option key={s} value={s} />)}</datalist>}
    </Field>
  );
}

function DateInput({ value, onChange, ...base }: Base & { value: string; onChange: (v: string) => void }) {
  const id = useId();
  return (
    <Field id={id} {...base}>
      <input id={id} type="date" value={value} aria-invalid={base.invalid || undefined} onChange={(e) => onChange(e.target.value)} />
    </Field>
  );
}

function Num({ value, onChange, step, ...base }: Base & { value: Json | undefined; step?: string; optional?: boolean; onChange: (v: number | undefined) => void }) {
  const id = useId();
  return (
    <Field id={id} {...base}>
      <input id={id} type="number" step={step ?? "1"} value={value === undefined || value === null ? "" : String(value)} aria-invalid={base.invalid || undefined}
        onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))} />
    </Field>
  );
}

function Check({ value, fallback, onChange, ...base }: Base & { value: Json | undefined; fallback: boolean; onChange: (v: boolean | undefined) => void }) {
  const id = useId();
  return (
    <span className="field check">
      <input id={id} type="checkbox" checked={value === undefined ? fallback : Boolean(value)} onChange={(e) => onChange(e.target.checked === fallback && value === undefined ? undefined : e.target.checked)} />
      <label htmlFor={id}>{base.label}</label>
    </span>
  );
}

/** A value as JSON has it: text, a number or true/false, with its type shown and kept. */
function Value({ value, onChange, ...base }: Base & { value: Json; onChange: (v: Json) => void }) {
  const type = typeof value === "number" ? "number" : typeof value === "boolean" ? "boolean" : "text";
  const id = useId();
  return (
    <span className="field value">
      <label htmlFor={id}>{base.label}</label>
      {type === "boolean" ? (
        <select id={id} value={String(value)} onChange={(e) => onChange(e.target.value === "true")}>
          <option value="true">yes</option>
          <option value="false">no</option>
        </select>
      ) : (
        <input id={id} type={type === "number" ? "number" : "text"} step="any" value={String(value ?? "")} aria-invalid={base.invalid || undefined}
          onChange={(e) => onChange(type === "number" ? (e.target.value === "" ? "" : Number(e.target.value)) : e.target.value)} />
      )}
      <select aria-label={`${base.label} type`} value={type} onChange={(e) => onChange(convert(value, e.target.value))}>
        <option value="text">text</option>
        <option value="number">number</option>
        <option value="boolean">yes/no</option>
      </select>
    </span>
  );
}

function convert(value: Json, to: string): Json {
  if (to === "number") return Number(value) || 0;
  if (to === "boolean") return value === true || value === "true";
  return value === null ? "" : String(value);
}

/** Words (tags, event types): comma-separated. */
function Words({ values, onChange, ...base }: Base & { values: string[]; onChange: (v: string[]) => void }) {
  return <Listed {...base} values={values} parse={(s) => s} onChange={(v) => onChange(v as string[])} />;
}

/** Values of one type (numbers when every one was a number), comma-separated. */
function ValueList({ values, onChange, numbers: typed, ...base }: Base & { values: Json[]; numbers?: boolean; onChange: (v: Json[]) => void }) {
  const numbers = typed ?? (values.length > 0 && values.every((v) => typeof v === "number"));
  return <Listed {...base} values={values} parse={(s) => (numbers && !Number.isNaN(Number(s)) ? Number(s) : s)} onChange={onChange} />;
}

/** A comma-separated list typed freely: the text is the marketer's while typing ("vip, " keeps its comma), the
 * values it parses to are the definition's. */
function Listed({ values, parse, onChange, ...base }: Base & { values: Json[]; parse: (s: string) => Json; onChange: (v: Json[]) => void }) {
  const id = useId();
  const read = (text: string) => text.split(",").map((s) => s.trim()).filter(Boolean).map(parse);
  const shown = values.map(String).join(", ");
  const [text, setText] = useState(shown);
  useEffect(() => {
    if (JSON.stringify(read(text)) !== JSON.stringify(values)) setText(shown);  // changed from outside (the JSON view)
  }, [shown]);  // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <Field id={id} {...base}>
      <input id={id} type="text" value={text} aria-invalid={base.invalid || undefined} placeholder="comma-separated"
        onChange={(e) => { setText(e.target.value); onChange(read(e.target.value)); }} />
    </Field>
  );
}

/** An id picked by name; an id the catalog does not know is shown as it is. */
function Pick({ value, items, onChange, ...base }: Base & { value: string; items: { id: string; name: string }[]; onChange: (v: string) => void }) {
  return <Select {...base} value={value} options={[["", "(choose)"], ...items.map((i): [string, string] => [i.id, i.name])]} onChange={onChange} />;
}
