// The API's own shapes, generated in the build from its OpenAPI document (src/api/schema.d.ts, `npm run types`;
// `make console` writes src/api/openapi.json first): a backend change the console does not follow fails `tsc`.
import type { Readable } from "openapi-typescript-helpers";
import type { components } from "./api/schema";

export type Schemas = components["schemas"];
/** A schema as a call's answer reads it (openapi-fetch's view of it: a fixed-length pair read as a list). */
export type Answer<T> = Readable<T>;
export type Destination = Schemas["Destination"];
export type AdAccount = Schemas["AdAccount"];
export type Audience = Schemas["Audience"];
export type FrequencyCap = Schemas["FrequencyCap"];
export type Outcome = Schemas["JourneyOutcomeCriterion"]["outcome"];

/** Every journey outcome a segment can select, in a marketer's words: a Record, so an outcome the API adds and
 * this list lacks fails the type check. */
export const OUTCOME_NAMES: Record<Outcome, string> = {
  processed: "processed", sent: "sent", opened: "opened", clicked: "clicked", bounced: "bounced",
  unsubscribed: "unsubscribed", stopped: "stopped", blocked: "blocked", exited: "exited", failed: "failed",
  held_out: "held out (control group)", branched: "went a way of a decision", deferred: "waited for the send window",
  capped: "held back by the frequency cap", outside_window: "missed the send window", converted: "converted",
  no_date: "had no date to wait for",
};
export const OUTCOMES = Object.keys(OUTCOME_NAMES) as Outcome[];
