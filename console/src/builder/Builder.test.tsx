// JSON -> controls -> JSON for every criterion kind: a definition shows its values in the controls, and setting a
// fresh criterion's controls to those values gives back the same definition (nothing lost, no option added).
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { useState } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { Builder, type Catalog, CatalogContext } from "./Builder";
import { KINDS, Node, problemsAt, replaceAt } from "./model";

const CITIES = [{ value: "Kraków", contacts: 1234 }, { value: "Warszawa", contacts: 980 }];
const CATALOG: Catalog = {
  segments: [{ id: "seg-1", name: "Hot leads" }],
  lists: [{ id: "list-1", name: "VIP guests" }],
  journeys: [{ id: "jrn-1", name: "Launch", steps: [{ id: "announce" }, { id: "clicked" }] }],
  fields: [
    { field: "city", type: "text", custom: false, contacts: null }, { field: "email", type: "text", custom: false, contacts: null },
    { field: "lead_score", type: "number", custom: false, contacts: null }, { field: "birth_date", type: "date", custom: false, contacts: null },
    { field: "attributes.vip", type: "yes_no", custom: true, contacts: 40 },
  ],
  values: async (field, eventType) =>
    field === "city" ? { status: "done", field, type: "text", values: CITIES }
      : field === "events.link" && eventType === "email_clicked" ? { status: "done", field, type: "text", values: [{ value: "https://shop.example.com/new", contacts: 77 }] }
      : null,
};

type Edit = [label: string, value: string] | [label: string, "click"];
type Case = { kind: string; json: Node; edits: Edit[]; shown: [string, string][] };

const CASES: Case[] = [
  { kind: "attribute", json: { kind: "attribute", field: "lead_score", op: "gt", value: 20 },
    edits: [["Field", "lead_score"], ["Comparison", "gt"], ["Value", "20"]], shown: [["Field", "lead_score"], ["Value", "20"]] },
  { kind: "attribute", json: { kind: "attribute", field: "city", op: "in", values: ["Warszawa", "Kraków"] },
    edits: [["Comparison", "in"], ["Values", "Warszawa, Kraków"]], shown: [["Values", "Warszawa, Kraków"]] },
  { kind: "attribute", json: { kind: "attribute", field: "attributes.vip", op: "eq", value: true },
    edits: [["Field", "attributes.vip"], ["Value", "true"]], shown: [["Field", "attributes.vip"], ["Value", "true"]] },
  { kind: "attribute", json: { kind: "attribute", field: "email", op: "is_empty" },
    edits: [["Field", "email"], ["Comparison", "is_empty"]], shown: [["Comparison", "is_empty"]] },
  { kind: "attribute", json: { kind: "attribute", field: "attributes.genre", op: "eq", value: "opera" },
    edits: [["Field", "attributes."], ["Custom attribute", "genre"], ["Value", "opera"]], shown: [["Custom attribute", "genre"], ["Value", "opera"]] },
  { kind: "tags", json: { kind: "tags", op: "has_all", values: ["vip", "opera"] },
    edits: [["Operator", "has_all"], ["Values", "vip, opera"]], shown: [["Values", "vip, opera"]] },
  { kind: "categories", json: { kind: "categories", op: "has_none", values: ["jazz"] },
    edits: [["Operator", "has_none"], ["Values", "jazz"]], shown: [["Values", "jazz"]] },
  { kind: "consents", json: { kind: "consents", op: "has_any", values: ["email_marketing", "sms_marketing"] },
    edits: [["Operator", "has_any"], ["Values", "email_marketing, sms_marketing"]], shown: [["Values", "email_marketing, sms_marketing"]] },
  { kind: "age", json: { kind: "age", min: 30, max: 40, include_unknown: false },
    edits: [["From age", "30"], ["To age", "40"], ["Include unknown age", "click"]], shown: [["From age", "30"], ["To age", "40"]] },
  { kind: "gender", json: { kind: "gender", value: "female" }, edits: [["Gender", "female"]], shown: [["Gender", "female"]] },
  { kind: "distance", json: { kind: "distance", lat: 50.06, lon: 19.94, within_km: 12.5 },
    edits: [["Latitude", "50.06"], ["Longitude", "19.94"], ["Within km", "12.5"]], shown: [["Within km", "12.5"]] },
  { kind: "activity", json: { kind: "activity", event_type: "email_clicked", window: { last_days: 7 }, filters: { link: "https://shop.example.com/new" } },
    edits: [["Event type", "email_clicked"], ["Days", "7"], ["click", "+ filter"] as unknown as Edit, ["Filter 1 value", "https://shop.example.com/new"]],
    shown: [["Event type", "email_clicked"], ["Filter 1 field", "link"]] },
  { kind: "activity", json: { kind: "activity", event_type: "purchase", measure: "sum:amount", op: "gte", value: 500, window: { between: ["2026-01-01", "2026-03-31"] } },
    edits: [["Measure", "sum:amount"], ["Times", "500"], ["Compared", "gte"], ["Window", "between"], ["From date", "2026-01-01"], ["To date", "2026-03-31"]],
    shown: [["From date", "2026-01-01"], ["To date", "2026-03-31"]] },
  { kind: "activity", json: { kind: "activity", event_type: "purchase", window: { days_back: 90, field: "event_start" } },
    edits: [["Window", "days_back"], ["Date field", "event_start"], ["Days back, in days", "90"]], shown: [["Date field", "event_start"]] },
  { kind: "activity", json: { kind: "activity", event_type: "purchase", op: "eq", value: 0, window: { days_ago: 3 } },
    edits: [["Compared", "eq"], ["Times", "0"], ["Window", "days_ago"], ["Days", "3"]], shown: [["Days", "3"]] },
  { kind: "recency", json: { kind: "recency", event_types: ["page_view", "purchase"], op: "not_within", days: 60 },
    edits: [["Event types (empty: any)", "page_view, purchase"], ["When", "not_within"], ["Days", "60"]], shown: [["Days", "60"]] },
  { kind: "lead_time", json: { kind: "lead_time", max_days: 2, event_type: "ticket", window: { last_days: 365 } },
    edits: [["At most days before the event", "2"], ["Event type", "ticket"], ["Window", "last_days"], ["Days", "365"]], shown: [["Event type", "ticket"]] },
  { kind: "score_change", json: { kind: "score_change", days: 30, op: "gt", value: 5, top: 100 },
    edits: [["Points", "5"], ["Top (fastest risers)", "100"]], shown: [["Top (fastest risers)", "100"]] },
  { kind: "journey_outcome", json: { kind: "journey_outcome", journey_id: "jrn-1", step_id: "clicked", outcome: "branched", way: "yes" },
    edits: [["Journey", "jrn-1"], ["Step", "clicked"], ["Outcome", "branched"], ["Way", "yes"]], shown: [["Journey", "jrn-1"], ["Way", "yes"]] },
  { kind: "in_segment", json: { kind: "in_segment", segment_id: "seg-1" }, edits: [["Segment", "seg-1"]], shown: [["Segment", "seg-1"]] },
  { kind: "not_in_segment", json: { kind: "not_in_segment", segment_id: "seg-1" }, edits: [["Segment", "seg-1"]], shown: [["Segment", "seg-1"]] },
  { kind: "in_list", json: { kind: "in_list", list_id: "list-1" }, edits: [["List", "list-1"]], shown: [["List", "list-1"]] },
];

let latest: Node | null = null;

function Harness({ start }: { start: Node }) {
  const [where, setWhere] = useState<Node>(start);
  latest = where;
  return (
    <CatalogContext.Provider value={CATALOG}>
      <Builder node={where} onChange={(w) => setWhere(w ?? { all: [] })} />
    </CatalogContext.Provider>
  );
}

function criterion() {
  return screen.getByRole("group", { name: /^1: / });
}

afterEach(() => {
  cleanup();
  latest = null;
});

describe("every criterion kind round-trips", () => {
  it("covers every kind the builder offers", () => {
    expect(new Set(CASES.map((c) => c.kind))).toEqual(new Set(Object.keys(KINDS)));
  });

  it.each(CASES.map((c, i) => [`${c.kind} #${i}`, c] as const))("%s: JSON shows in the controls", (_, c) => {
    render(<Harness start={{ all: [c.json] }} />);
    for (const [label, value] of c.shown) {
      expect((within(criterion()).getByLabelText(label, { exact: true }) as HTMLInputElement).value).toBe(value);
    }
    expect(latest).toEqual({ all: [c.json] });
  });

  it.each(CASES.map((c, i) => [`${c.kind} #${i}`, c] as const))("%s: the controls give the JSON", (_, c) => {
    render(<Harness start={{ all: [KINDS[c.kind].make()] }} />);
    // a fresh criterion of the kind, as the kind menu makes it: set every control the case names
    for (const edit of c.edits) {
      const [label, value] = edit;
      if (label === "click") {
        fireEvent.click(within(criterion()).getByRole("button", { name: value }));
      } else if (value === "click") {
        fireEvent.click(within(criterion()).getByLabelText(label, { exact: true }));
      } else {
        fireEvent.change(within(criterion()).getByLabelText(label, { exact: true }), { target: { value } });
      }
    }
    expect(latest).toEqual({ all: [c.json] });
  });
});

describe("the editor knows the lake", () => {
  it("takes a number for a number field: typing 50 for lead_score is 50, not text", () => {
    render(<Harness start={{ all: [{ kind: "attribute", field: "city", op: "eq", value: "" }] }} />);
    fireEvent.change(within(criterion()).getByLabelText("Field", { exact: true }), { target: { value: "lead_score" } });
    fireEvent.change(within(criterion()).getByLabelText("Comparison", { exact: true }), { target: { value: "gte" } });
    fireEvent.change(within(criterion()).getByLabelText("Value", { exact: true }), { target: { value: "50" } });
    expect(latest).toEqual({ all: [{ kind: "attribute", field: "lead_score", op: "gte", value: 50 }] });
    const ops = within(criterion()).getByLabelText("Comparison", { exact: true }) as HTMLSelectElement;
    expect([...ops.options].map((o) => o.textContent)).toContain("at least");  // words, not codes
  });

  it("offers a text field's values that exist, with their contacts", async () => {
    render(<Harness start={{ all: [{ kind: "attribute", field: "city", op: "eq", value: "" }] }} />);
    const krakow = await within(criterion()).findByRole("button", { name: "Kraków (1,234 contacts)" });
    fireEvent.click(krakow);
    expect(latest).toEqual({ all: [{ kind: "attribute", field: "city", op: "eq", value: "Kraków" }] });
  });

  it("offers the links people clicked for an activity's link filter", async () => {
    render(<Harness start={{ all: [{ kind: "activity", event_type: "email_clicked", filters: { link: "" } }] }} />);
    fireEvent.click(await within(criterion()).findByRole("button", { name: "https://shop.example.com/new (77 contacts)" }));
    expect(latest).toEqual({ all: [{ kind: "activity", event_type: "email_clicked", filters: { link: "https://shop.example.com/new" } }] });
  });

  it("shows a problem in words at its criterion, once, without its path", () => {
    const problems = [{ path: "where.all[0].value", message: "expected a number, got \"x\"" }];
    render(
      <CatalogContext.Provider value={CATALOG}>
        <Builder node={{ all: [{ kind: "attribute", field: "lead_score", op: "gt", value: "x" }] }} problems={problems} onChange={() => undefined} />
      </CatalogContext.Provider>,
    );
    const shown = within(criterion()).getAllByRole("alert").map((a) => a.textContent);
    expect(shown).toEqual(['Value: expected a number, got "x"']);
    expect(document.body.textContent).not.toContain("where.all");
  });
});

describe("the tree", () => {
  it("groups, negates and removes by path, as the API names nodes", () => {
    const where: Node = { all: [{ kind: "tags", op: "has_any", values: ["a"] }, { not: { kind: "gender", value: "male" } }] };
    expect(replaceAt(where, "where.all[1].not", { kind: "gender", value: "female" })).toEqual({
      all: [{ kind: "tags", op: "has_any", values: ["a"] }, { not: { kind: "gender", value: "female" } }],
    });
    expect(replaceAt(where, "where.all[0]", null)).toEqual({ all: [{ not: { kind: "gender", value: "male" } }] });
  });

  it("puts a problem at the node it names, not at its parent", () => {
    const problems = [{ path: "where.all[1].not.value", message: "expected female, male or any" }, { path: "where", message: "top" }];
    expect(problemsAt(problems, "where.all[1].not")).toEqual([{ field: "value", message: "expected female, male or any" }]);
    expect(problemsAt(problems, "where.all[1]")).toEqual([]);
    expect(problemsAt(problems, "where")).toEqual([{ field: "", message: "top" }]);
  });

  it("shows each node's count and negates and removes from the keyboard", () => {
    render(<Harness start={{ all: [{ kind: "tags", op: "has_any", values: ["vip"] }] }} />);
    expect(screen.getByLabelText("Count of 1")).toHaveProperty("textContent", "…");
    fireEvent.click(screen.getByRole("button", { name: "Negate 1" }));
    expect(latest).toEqual({ all: [{ not: { kind: "tags", op: "has_any", values: ["vip"] } }] });
    fireEvent.click(screen.getByRole("button", { name: "Remove 1" }));
    expect(latest).toEqual({ all: [] });
    fireEvent.click(screen.getByRole("button", { name: "Add a group to Segment" }));
    expect(latest).toEqual({ all: [{ any: [] }] });
  });
});
