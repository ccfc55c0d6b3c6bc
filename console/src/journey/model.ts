// A journey definition's steps as the canvas edits them (docs/JOURNEY-FORMAT.md): plain JSON, each step's ways
// out (next, yes / no, branches[i], else) the edges, the API's paths (steps[2].timeout) mapped to the steps.
// The types are the API's own (JourneyDefinition's schema): a step kind the API adds fails tsc until each
// Record and switch over the kinds below handles it.
import type { Schemas } from "../apiTypes";
import { without } from "../builder/model";

export type JourneyDoc = Schemas["JourneyDefinition"];
export type Step = JourneyDoc["steps"][number];
export type StepKind = Step["kind"];
type OfKind<K extends StepKind> = Extract<Step, { kind: K }>;

export const STEP_KINDS: { [K in StepKind]: { label: string; make: (id: string) => OfKind<K> } } = {
  send_email: { label: "Send an e-mail", make: (id) => ({ id, kind: "send_email", content_id: "" }) },
  send_sms: { label: "Send an SMS", make: (id) => ({ id, kind: "send_sms", content_id: "" }) },
  branch_on_event: { label: "Wait for a click, open or bounce", make: (id) => ({ id, kind: "branch_on_event", message_step: "", event: "clicked", timeout: "P1D" }) },
  wait_for: { label: "Wait for a time", make: (id) => ({ id, kind: "wait_for", duration: "P1D" }) },
  wait_until: { label: "Wait until a date", make: (id) => ({ id, kind: "wait_until", at: nextMorning() }) },
  split: { label: "Yes / no split", make: (id) => ({ id, kind: "split", condition: { kind: "consents", op: "has_all", values: ["sms_marketing"] } }) },
  multi_split: { label: "Multi-way split", make: (id) => ({ id, kind: "multi_split", branches: [{ condition: { kind: "gender", value: "female" } }] }) },
  random_split: { label: "Random split (A/B)", make: (id) => ({ id, kind: "random_split", branches: [{ percent: 50 }, { percent: 50 }] }) },
  holdout: { label: "Holdout (control group)", make: (id) => ({ id, kind: "holdout", percent: 10 }) },
  update_contact: { label: "Update the contact", make: (id) => ({ id, kind: "update_contact", field: "tags", action: "add", value: "" }) },
  webhook: { label: "Call a webhook", make: (id) => ({ id, kind: "webhook", destination_id: "" }) },
  end: { label: "End", make: (id) => ({ id, kind: "end" }) },
};

function nextMorning(): string {
  const d = new Date(Date.now() + 86_400_000);
  return `${d.toISOString().slice(0, 10)}T09:00:00+00:00`;
}

/** Where a switch over the step kinds ends when every kind is handled: tsc refuses a kind left out. */
function unknownKind(step: never): never {
  throw new Error(`unknown step kind ${JSON.stringify(step)}`);
}

/** The ways out of a step, in order, each with the step it leads to (or null: the path ends). */
export function ways(step: Step): [string, string | null][] {
  const branches = (list: { next?: string | null }[]) => list.map((b, i): [string, string | null] => [`branches[${i}]`, b.next ?? null]);
  switch (step.kind) {
    case "end":
      return [];
    case "branch_on_event":
    case "split":
      return [["yes", step.yes ?? null], ["no", step.no ?? null]];
    case "multi_split":
      return [...branches(step.branches ?? []), ["else", step.else ?? null]];
    case "random_split":
      return branches(step.branches ?? []);
    case "wait_until": // a time from a field: a contact whose field holds none takes no_value
      return step.from !== undefined && step.from !== null ? [["next", step.next ?? null], ["no_value", step.no_value ?? null]] : [["next", step.next ?? null]];
    case "send_email":
    case "send_sms":
    case "wait_for":
    case "update_contact":
    case "webhook":
    case "holdout":
      return [["next", step.next ?? null]];
    default:
      return unknownKind(step);
  }
}

export function wayLabel(step: Step, way: string): string {
  if (way === "held_out") return "held out";
  if (way === "no_value") return "no time";
  const m = /^branches\[(\d+)\]$/.exec(way);
  if (m && step.kind === "random_split") return `${step.branches[Number(m[1])]?.percent}%`;
  if (m) return `branch ${Number(m[1]) + 1}`;
  return way;
}

/** The step with its way `way` leading to `target` (null: nowhere). */
export function setWay(step: Step, way: string, target: string | null): Step {
  const m = /^branches\[(\d+)\]$/.exec(way);
  if (m && (step.kind === "random_split" || step.kind === "multi_split")) {
    const branches = (step.branches as { next?: string | null }[]).map((b, i) => (i === Number(m[1]) ? withField(b, "next", target) : b));
    return { ...step, branches } as Step;
  }
  return withField(step, way, target);
}

function withField<T extends object>(o: T, field: string, value: unknown): T {
  return value === null || value === undefined ? without(o, field) : ({ ...o, [field]: value } as T);
}

/** A new step id of the kind not yet taken: email, email_2, ... */
const ID_BASES: Record<StepKind, string> = {
  send_email: "email", send_sms: "sms", branch_on_event: "clicked", wait_for: "wait", wait_until: "hold", random_split: "ab",
  multi_split: "route", update_contact: "update", split: "split", holdout: "holdout", webhook: "webhook", end: "end",
};

export function freshId(doc: JourneyDoc, kind: StepKind): string {
  const base = ID_BASES[kind];
  const taken = new Set(doc.steps.map((s) => s.id));
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}_${i}`)) return `${base}_${i}`;
}

/** Rename a step and every reference to it (ways, start, message_step of branches and engagement conditions). */
export function renameStep(doc: JourneyDoc, from: string, to: string): JourneyDoc {
  const swap = <T,>(v: T): T => {
    if (Array.isArray(v)) return v.map(swap) as T;
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, ["next", "yes", "no", "else", "no_value", "message_step"].includes(k) && x === from ? to : swap(x)])) as T;
    return v;
  };
  return { ...doc, start: doc.start === from ? to : doc.start, steps: doc.steps.map((s) => (s.id === from ? { ...swap(s), id: to } : swap(s))) };
}

/** Remove a step: ways that led to it end there instead. */
export function removeStep(doc: JourneyDoc, id: string): JourneyDoc {
  const steps = doc.steps.filter((s) => s.id !== id).map((s) => ways(s).reduce((acc, [way, target]) => (target === id ? setWay(acc, way, null) : acc), s));
  return { ...doc, steps, start: doc.start === id ? (steps[0]?.id ?? "") : doc.start };
}

/** Where each step sits: rows by distance from the start (the first way found), unreachable steps in a row below. */
export function layout(doc: JourneyDoc): Record<string, { x: number; y: number }> {
  const byId = new Map(doc.steps.map((s) => [s.id, s]));
  const depth = new Map<string, number>();
  const queue: string[] = [];
  if (byId.has(doc.start)) {
    depth.set(doc.start, 0);
    queue.push(doc.start);
  }
  for (let next = 0; next < queue.length; next++) {
    const id = queue[next];
    for (const [, target] of ways(byId.get(id)!)) {
      if (target && byId.has(target) && !depth.has(target)) {
        depth.set(target, depth.get(id)! + 1);
        queue.push(target);
      }
    }
  }
  const rows = new Map<number, string[]>();
  const last = Math.max(-1, ...depth.values()) + 1;
  const found = new Set(queue);
  for (const id of [...queue, ...doc.steps.map((s) => s.id).filter((id) => !found.has(id))]) {  // ways' order: yes left of no
    const row = depth.get(id) ?? last;
    rows.set(row, [...(rows.get(row) ?? []), id]);
  }
  const at: Record<string, { x: number; y: number }> = {};
  for (const [row, ids] of rows) ids.forEach((id, i) => (at[id] = { x: (i - (ids.length - 1) / 2) * 290, y: row * 190 }));
  return at;
}

/** The step a problem's path names: steps[3].timeout -> 3; the journey's own fields -> null. */
export function stepOf(path: string): number | null {
  const m = /^steps\[(\d+)\]/.exec(path);
  return m ? Number(m[1]) : null;
}

/** What a step does, in a line. */
export function summary(step: Step, names: Record<string, string>): string {
  switch (step.kind) {
    case "send_email":
    case "send_sms":
      return names[step.content_id] ?? (step.content_id || "no content chosen");
    case "branch_on_event":
      return `${step.event} on ${step.message_step || "?"}${step.link ? ` (${step.link})` : ""}, up to ${step.timeout}`;
    case "wait_for":
      return `for ${step.duration}`;
    case "wait_until":
      return step.at ? `until ${step.at}` : `until ${step.from}${step.offset ? ` ${step.offset}` : ""}`;
    case "holdout":
      return `${step.percent}% held out`;
    case "update_contact":
      return `${step.action} ${step.field.replace(/s$/, "")} “${step.value}”`;
    case "webhook":
      return names[step.destination_id] ?? (step.destination_id || "no destination chosen");
    case "split":
    case "multi_split":
      return step.after ? `after ${step.after}` : "as the contact gets here";
    case "random_split":
    case "end":
      return "";
    default:
      return unknownKind(step);
  }
}
