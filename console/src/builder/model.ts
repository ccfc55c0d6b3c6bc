// The segment definition's where-tree (docs/SEGMENT-FORMAT.md) as the builder edits it: plain JSON, kept as the
// marketer wrote it (an option left out stays out), addressed by the same paths the API names (where.all[0].not).

import type { Schemas } from "../apiTypes";
import type { FieldType } from "./lake";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Node = { [key: string]: Json };

export const GROUPS = ["all", "any", "not"] as const;
export type Group = (typeof GROUPS)[number];

export type KindSpec = { label: string; make: () => Node };

// Every criterion kind, with what a new one starts as (valid as made, so the count answers at once).
export const KINDS: Record<string, KindSpec> = {
  attribute: { label: "Attribute", make: () => ({ kind: "attribute", field: "city", op: "eq", value: "" }) },
  tags: { label: "Tags", make: () => ({ kind: "tags", op: "has_any", values: [] }) },
  categories: { label: "Categories", make: () => ({ kind: "categories", op: "has_any", values: [] }) },
  consents: { label: "Consents", make: () => ({ kind: "consents", op: "has_all", values: ["email_marketing"] }) },
  age: { label: "Age", make: () => ({ kind: "age", min: 18, max: 65 }) },
  gender: { label: "Gender", make: () => ({ kind: "gender", value: "any" }) },
  distance: { label: "Distance from a place", make: () => ({ kind: "distance", lat: 52.2297, lon: 21.0122, within_km: 25 }) },
  activity: { label: "Activity (did, how often)", make: () => ({ kind: "activity", event_type: "purchase", window: { last_days: 30 } }) },
  recency: { label: "Recency (when last)", make: () => ({ kind: "recency", event_types: ["purchase"], op: "within", days: 30 }) },
  lead_time: { label: "Lead time", make: () => ({ kind: "lead_time", max_days: 7 }) },
  score_change: { label: "Lead score change", make: () => ({ kind: "score_change", days: 30, op: "gt", value: 0 }) },
  journey_outcome: { label: "Journey outcome", make: () => ({ kind: "journey_outcome", journey_id: "", outcome: "clicked" }) },
  in_segment: { label: "In a segment", make: () => ({ kind: "in_segment", segment_id: "" }) },
  not_in_segment: { label: "Not in a segment", make: () => ({ kind: "not_in_segment", segment_id: "" }) },
  in_list: { label: "On a list", make: () => ({ kind: "in_list", list_id: "" }) },
};

// A journey's split conditions take what can be answered for one contact at one moment, plus engagement with
// an earlier message of the journey (docs/JOURNEY-FORMAT.md, Conditions).
export const ENGAGEMENT: KindSpec = { label: "Engagement with a message", make: () => ({ kind: "engagement", message_step: "", event: "clicked" }) };
export const CONDITION_KINDS = ["attribute", "tags", "categories", "consents", "age", "gender", "distance", "in_segment", "not_in_segment", "engagement"];

export function kindsFor(mode: "segment" | "condition"): Record<string, KindSpec> {
  if (mode === "segment") return KINDS;
  return Object.fromEntries(CONDITION_KINDS.map((k) => [k, k === "engagement" ? ENGAGEMENT : KINDS[k]]));
}

// Operators and measures in a marketer's words, as Records over the API's own values: a value the API adds and
// the console lacks fails the type check.
type AttributeOp = Schemas["AttributeCriterion"]["op"];
export const ATTRIBUTE_OP_WORDS: Record<AttributeOp, string> = {
  eq: "is", ne: "is not", gt: "more than", gte: "at least", lt: "less than", lte: "at most", between: "between",
  in: "is one of", not_in: "is none of", contains: "contains", starts_with: "starts with", is_empty: "is empty", is_not_empty: "is not empty",
};
const DATE_OP_WORDS: Partial<Record<AttributeOp, string>> = { eq: "on", ne: "not on", gt: "after", gte: "on or after", lt: "before", lte: "on or before", is_empty: "is unknown", is_not_empty: "is known" };
const OPS_BY_TYPE: Record<FieldType, AttributeOp[]> = {
  text: ["eq", "ne", "contains", "starts_with", "in", "not_in", "is_empty", "is_not_empty"],
  number: ["eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in", "is_empty", "is_not_empty"],
  date: ["eq", "ne", "gt", "gte", "lt", "lte", "between", "is_empty", "is_not_empty"],
  time: ["gt", "gte", "lt", "lte", "between", "is_empty", "is_not_empty"],
  yes_no: ["eq", "ne", "is_empty", "is_not_empty"],
  list: [],
};

/** The comparisons a field of `type` takes, in words (an unknown field: every one). */
export function attributeOps(type: FieldType | undefined): [string, string][] {
  const ops = type ? OPS_BY_TYPE[type] : (Object.keys(ATTRIBUTE_OP_WORDS) as AttributeOp[]);
  const dated = type === "date" || type === "time";
  return ops.map((op) => [op, (dated && DATE_OP_WORDS[op]) || ATTRIBUTE_OP_WORDS[op]]);
}

type Comparison = NonNullable<Schemas["ActivityCriterion"]["op"]>;
export const COMPARISON_WORDS: Record<Comparison, string> = { gte: "at least", gt: "more than", eq: "exactly", ne: "not exactly", lte: "at most", lt: "fewer than" };
export const COMPARISONS = Object.keys(COMPARISON_WORDS) as Comparison[];
export const SET_OP_WORDS: Record<Schemas["ListCriterion"]["op"], string> = { has_any: "has any of", has_all: "has all of", has_none: "has none of" };
export const MEASURE_WORDS: Record<NonNullable<Schemas["ActivityCriterion"]["measure"]>, string> = {
  count: "times", "sum:amount": "in total amount", "sum:quantity": "in total quantity", "distinct:order_id": "different orders", "distinct:event_ref": "different events",
};
export const RECENCY_WORDS: Record<Schemas["RecencyCriterion"]["op"], string> = { within: "in the last … days", not_within: "not in the last … days", days_ago: "exactly … days ago" };
export { OUTCOMES, OUTCOME_NAMES } from "../apiTypes";
// Offered until the lake's own event types are read (GET /lake/values?field=events.event_type)
export const EVENT_TYPES = [
  "purchase", "page_view", "search", "download", "form_submit", "email_sent", "email_delivered", "email_opened",
  "email_clicked", "email_bounced", "email_complained", "email_unsubscribed", "sms_sent", "sms_delivered", "score_changed", "journey_step",
];

/** A copy of `o` without `fields`. */
export function without<T extends object>(o: T, ...fields: string[]): T {
  const next = { ...o } as Record<string, unknown>;
  for (const f of fields) delete next[f];
  return next as T;
}

export function groupOf(node: Node): Group | null {
  for (const g of GROUPS) if (g in node && !("kind" in node)) return g;
  return null;
}

export function children(node: Node): Node[] {
  const g = groupOf(node);
  if (g === "not") return [node.not as Node];
  if (g) return node[g] as Node[];
  return [];
}

/** The path of a child, as the API writes it. */
export function childPath(path: string, node: Node, index: number): string {
  const g = groupOf(node);
  return g === "not" ? `${path}.not` : `${path}.${g}[${index}]`;
}

/** The tree with the node at `path` replaced (null removes it from its group). */
export function replaceAt(root: Node, path: string, replacement: Node | null): Node {
  const steps = parsePath(path);
  if (steps.length === 0) return replacement ?? { all: [] };
  const go = (node: Node, depth: number): Node => {
    const [key, index] = steps[depth];
    const last = depth === steps.length - 1;
    if (index === null) {
      const next = last ? replacement : go(node[key] as Node, depth + 1);
      return { ...node, [key]: next ?? KINDS.attribute.make() };
    }
    const list = [...(node[key] as Node[])];
    if (last) {
      if (replacement === null) list.splice(index, 1);
      else list[index] = replacement;
    } else list[index] = go(list[index], depth + 1);
    return { ...node, [key]: list };
  };
  return go(root, 0);
}

/** where.all[3].not -> [["all", 3], ["not", null]] (relative to the where-tree). */
export function parsePath(path: string): Array<[string, number | null]> {
  const parts = path.split(".").slice(1);
  return parts.map((part) => {
    const m = /^(\w+)\[(\d+)\]$/.exec(part);
    return m ? [m[1], Number(m[2])] : [part, null];
  });
}

/** Problems the API named, those at `path` itself (its fields included) but not its children's. */
export function problemsAt(problems: { path: string; message: string }[], path: string): { field: string; message: string }[] {
  return problems
    .filter((p) => p.path === path || (p.path.startsWith(path + ".") && !/^\.(all|any)\[|^\.not(\.|$)/.test(p.path.slice(path.length))))
    .map((p) => ({ field: p.path.slice(path.length + 1), message: p.message }));
}

export function describe(node: Node): string {
  const g = groupOf(node);
  if (g === "all") return "All of";
  if (g === "any") return "Any of";
  if (g === "not") return "Not";
  return node.kind === "engagement" ? ENGAGEMENT.label : (KINDS[String(node.kind)]?.label ?? String(node.kind));
}
