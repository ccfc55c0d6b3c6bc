import { describe, expect, it } from "vitest";
import { JourneyDoc, type Step, freshId, layout, removeStep, renameStep, setWay, stepOf, ways } from "./model";

const CLASSIC: JourneyDoc = {
  name: "Product launch", start: "announce", steps: [
    { id: "announce", kind: "send_email", content_id: "c1", next: "clicked" },
    { id: "clicked", kind: "branch_on_event", message_step: "announce", event: "clicked", timeout: "P1D", yes: "launch", no: "end" },
    { id: "launch", kind: "wait_until", at: "2026-12-08T10:00:00+01:00", next: "text" },
    { id: "text", kind: "send_sms", content_id: "c2", next: "end" },
    { id: "end", kind: "end" },
  ],
};

describe("a journey's steps as a graph", () => {
  it("reads every kind's ways in order", () => {
    expect(ways(CLASSIC.steps[1])).toEqual([["yes", "launch"], ["no", "end"]]);
    expect(ways({ id: "r", kind: "random_split", branches: [{ percent: 60, next: "a" }, { percent: 40 }] })).toEqual([["branches[0]", "a"], ["branches[1]", null]]);
    expect(ways({ id: "m", kind: "multi_split", branches: [{ condition: { kind: "gender", value: "female" }, next: "a" }], else: "b" })).toEqual([["branches[0]", "a"], ["else", "b"]]);
    expect(ways({ id: "e", kind: "end" })).toEqual([]);
  });

  it("sets and clears a way without touching the rest", () => {
    const split: Step = { id: "r", kind: "random_split", branches: [{ percent: 60, next: "a" }, { percent: 40 }] };
    expect(setWay(split, "branches[1]", "b")).toMatchObject({ branches: [{ percent: 60, next: "a" }, { percent: 40, next: "b" }] });
    expect(setWay(CLASSIC.steps[0], "next", null)).toEqual({ id: "announce", kind: "send_email", content_id: "c1" });
  });

  it("renames a step everywhere it is named, and removes one leaving its ways open", () => {
    const renamed = renameStep(CLASSIC, "announce", "mail");
    expect(renamed.start).toBe("mail");
    expect(renamed.steps[1]).toMatchObject({ message_step: "mail" });
    expect(renamed.steps[0].id).toBe("mail");
    const removed = removeStep(CLASSIC, "launch");
    expect(removed.steps.map((s) => s.id)).toEqual(["announce", "clicked", "text", "end"]);
    expect(removed.steps[1]).not.toHaveProperty("yes");
  });

  it("follows a field wait's no_value way: renamed with its target, cleared when the target goes", () => {
    const doc: JourneyDoc = { name: "Reminder", start: "hold", steps: [
      { id: "hold", kind: "wait_until", from: "entry_event.event_start", offset: "-P1D", next: "remind", no_value: "sorry" },
      { id: "remind", kind: "send_email", content_id: "c1" },
      { id: "sorry", kind: "send_email", content_id: "c2" },
    ] };
    expect(ways(doc.steps[0])).toEqual([["next", "remind"], ["no_value", "sorry"]]);
    expect(renameStep(doc, "sorry", "apology").steps[0]).toMatchObject({ no_value: "apology" });
    expect(removeStep(doc, "sorry").steps[0]).not.toHaveProperty("no_value");
    expect(ways({ id: "w", kind: "wait_until", at: "2026-12-08T10:00:00+01:00", next: "a" })).toEqual([["next", "a"]]);
  });

  it("lays rows out from the start, a branch's yes left of its no", () => {
    const at = layout(CLASSIC);
    expect(at.announce.y).toBe(0);
    expect(at.clicked.y).toBeGreaterThan(at.announce.y);
    expect(at.launch.y).toBe(at.end.y);
    expect(at.launch.x).toBeLessThan(at.end.x);
    expect(at.text.y).toBeGreaterThan(at.launch.y);
  });

  it("names fresh ids and maps problem paths to steps", () => {
    expect(freshId(CLASSIC, "send_email")).toBe("email");
    expect(freshId({ ...CLASSIC, steps: [...CLASSIC.steps, { id: "email", kind: "send_email", content_id: "" }] }, "send_email")).toBe("email_2");
    expect(stepOf("steps[3].send_sms.content_id")).toBe(3);
    expect(stepOf("audience")).toBeNull();
  });
});
