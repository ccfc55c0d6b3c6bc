// The segment shapes the console reads, from the API's schemas (src/apiTypes.ts). The where-tree stays the
// builder's plain JSON (Node): it is edited by path, as the API names problems (where.all[0].not).
import type { Schemas } from "./apiTypes";
import type { Node } from "./builder/model";

export type Evaluation = Schemas["Evaluation"];
export type Refresh = Schemas["Segment"]["refresh"];
export type Segment = Omit<Schemas["Segment"], "where"> & { where: Node };
export type Preview = Schemas["Preview"];
