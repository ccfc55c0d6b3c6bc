// What the lake holds, for the editor's pickers: the fields with their types (GET /lake/fields) and a field's most
// common values with how many contacts have each (GET /lake/values). Each answer is asked once per page load; the
// API keeps it a quarter of an hour and answers 202 while still reading, so a pending answer is asked again.
import { API, answer, settle } from "../api";
import type { Answer, Schemas } from "../apiTypes";

export type LakeField = Answer<Schemas["LakeField"]>;
export type FieldType = LakeField["type"];
export type LakeValues = Answer<Schemas["LakeValues"]>;

const RETRY_MS = 1500;
const TRIES = 8;  // then the editor goes without: the lake is still being read
const values = new Map<string, Promise<LakeValues | null>>();
let fields: Promise<LakeField[]> | null = null;

/** The fields a criterion can compare: the data contract's, then the org's custom attributes once read. */
export function lakeFields(): Promise<LakeField[]> {
  fields ??= settle(() => answer(API.GET("/lake/fields")), undefined, RETRY_MS, TRIES).then((a) => a.fields).catch(() => { fields = null; return []; });
  return fields;
}

/** A field's most common values (or a number's range), null when the lake could not say. */
export function lakeValues(field: string, eventType?: string): Promise<LakeValues | null> {
  const key = `${field}#${eventType ?? ""}`;
  if (!values.has(key)) {
    const query = eventType ? { field, event_type: eventType } : { field };
    values.set(key, settle(() => answer(API.GET("/lake/values", { params: { query } })), undefined, RETRY_MS, TRIES).then((a) => (a.status === "done" ? a : null)).catch(() => null));
  }
  return values.get(key)!;
}

/** A field as a marketer reads it: "Lead score", "genre (custom)". */
export function fieldName(field: string): string {
  if (field.startsWith("attributes.")) return `${field.slice("attributes.".length).replace(/_/g, " ")} (custom)`;
  const words = field.replace(/^events\./, "").replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
