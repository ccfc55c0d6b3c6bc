import type { Node } from "./builder/model";

export type Evaluation = { id: string; at: string; members: number; joined: number; left: number; elapsed_ms: number };
export type Refresh = "once" | { every: number; unit: "hours" | "days" };
export type Segment = {
  id: string; name: string; description?: string | null; where: Node; status: string; refresh: Refresh;
  readiness_hours: number; created_at: string; updated_at: string; latest: Evaluation | null; evaluating_since?: string | null;
};
export type Preview = { total: number; nodes: { path: string; kind: string; count: number }[]; sample: string[]; elapsed_ms?: number };
