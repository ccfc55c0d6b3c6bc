import { Background, Controls, Edge, Handle, MarkerType, Node, NodeProps, Position, ReactFlow, ReactFlowProvider, useReactFlow } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useEffect, useMemo } from "react";
import type { Schemas } from "../apiTypes";
import { JourneyDoc, STEP_KINDS, Step, layout, setWay, summary, wayLabel, ways } from "./model";

// A step's figures and a decision way's conversion, as GET /journeys/{id}/analytics answers them
export type StepFigures = Schemas["StepFigures"];
export type WayExperiment = Omit<Schemas["Variant"], "next"> & { next?: string | null };

type StepData = {
  step: Step; names: Record<string, string>; problems: string[]; figures?: StepFigures; selected: boolean;
  experiment: WayExperiment[]; isStart: boolean;
};

const SHOWN: (keyof StepFigures)[] = ["sent", "opened", "clicked", "bounced", "unsubscribed", "blocked", "capped", "deferred", "held_out", "exited", "stopped", "failed"];

function StepNode({ data }: NodeProps<Node<StepData>>) {
  const { step, names, problems, figures, experiment, isStart } = data;
  const out = ways(step);
  return (
    <div className={`step-node${problems.length ? " invalid" : ""}${data.selected ? " selected" : ""}`}>
      <Handle type="target" position={Position.Top} />
      <div className="step-kind">{isStart ? "▶ " : ""}{STEP_KINDS[step.kind]?.label ?? step.kind}</div>
      <div className="step-id">{step.id}</div>
      <div className="step-summary">{summary(step, names)}</div>
      {figures && (
        <dl className="step-figures" aria-label={`Figures of ${step.id}`}>
          <dt>entered</dt><dd>{(figures.entered ?? 0).toLocaleString("en")}</dd>
          {SHOWN.filter((k) => Number(figures[k] ?? 0) > 0).map((k) => (
            <span key={k}><dt>{String(k).replace("_", " ")}</dt><dd>{Number(figures[k]).toLocaleString("en")}</dd></span>
          ))}
          {Number(figures.waiting ?? 0) > 0 && <><dt>waiting</dt><dd>{figures.waiting!.toLocaleString("en")}</dd></>}
          {figures.converted !== null && figures.converted !== undefined && <><dt>converted</dt><dd>{figures.converted.toLocaleString("en")}</dd></>}
        </dl>
      )}
      {experiment.length > 0 && (
        <ul className="step-ways" aria-label={`Conversion by way at ${step.id}`}>
          {experiment.map((w) => (
            <li key={w.way}>
              {wayLabel(step, w.way)}: {w.conversion_rate === null ? "—" : `${(w.conversion_rate * 100).toFixed(1)}%`}
              {w.lift !== undefined && w.lift !== null && ` (lift ${(w.lift * 100).toFixed(0)}%, ${((w.lift_low ?? 0) * 100).toFixed(0)}…${((w.lift_high ?? 0) * 100).toFixed(0)}%)`}
            </li>
          ))}
        </ul>
      )}
      {problems.length > 0 && <ul className="step-problems">{problems.map((p, i) => <li key={i}>{p}</li>)}</ul>}
      <div className="step-handles">
        {out.map(([way], i) => (
          <Handle key={way} id={way} type="source" position={Position.Bottom} style={{ left: `${((i + 1) / (out.length + 1)) * 100}%` }} title={wayLabel(step, way)} />
        ))}
      </div>
    </div>
  );
}

const nodeTypes = { step: StepNode };

type Props = {
  doc: JourneyDoc;
  editable: boolean;
  selected: string | null;
  names: Record<string, string>;
  problems: Record<string, string[]>;
  figures: Record<string, StepFigures>;
  experiment: WayExperiment[];
  onSelect: (id: string | null) => void;
  onChange: (doc: JourneyDoc) => void;
};

/** The journey drawn: a node per step, an edge per way out. Connecting a way's handle to a step sets it. */
export default function Canvas(props: Props) {
  return (
    <ReactFlowProvider>
      <Flow {...props} />
    </ReactFlowProvider>
  );
}

function Flow({ doc, editable, selected, names, problems, figures, experiment, onSelect, onChange }: Props) {
  const at = useMemo(() => layout(doc), [doc]);
  const { fitView } = useReactFlow();
  const shape = doc.steps.map((s) => `${s.id}>${ways(s).map(([, t]) => t).join("/")}`).join(",") + (Object.keys(figures).length ? "+figures" : "");
  useEffect(() => {
    const timer = setTimeout(() => void fitView({ padding: 0.12, maxZoom: 0.9 }), 60);  // the whole journey in view as it grows
    return () => clearTimeout(timer);
  }, [shape, fitView]);
  const nodes: Node<StepData>[] = doc.steps.map((step) => ({
    id: step.id, type: "step", position: at[step.id], selected: step.id === selected,
    ariaLabel: `Step ${step.id}: ${STEP_KINDS[step.kind]?.label ?? step.kind}`,
    data: {
      step, names, problems: problems[step.id] ?? [], figures: figures[step.id], selected: step.id === selected, isStart: step.id === doc.start,
      experiment: experiment.filter((w) => w.step_id === step.id),
    },
  }));
  const edges: Edge[] = doc.steps.flatMap((step) =>
    ways(step).filter(([, target]) => target).map(([way, target]) => {
      const contacts = figures[step.id]?.ways?.find((w) => w.way === way)?.contacts;
      return {
        id: `${step.id}:${way}`, source: step.id, sourceHandle: way, target: target!, markerEnd: { type: MarkerType.ArrowClosed },
        label: contacts === undefined ? (way === "next" ? undefined : wayLabel(step, way)) : `${way === "next" ? "" : wayLabel(step, way) + ": "}${contacts.toLocaleString("en")}`,
        deletable: editable,
      };
    }),
  );
  const update = (id: string, change: (s: Step) => Step) => onChange({ ...doc, steps: doc.steps.map((s) => (s.id === id ? change(s) : s)) });
  return (
    <div className="canvas" role="application" aria-label="Journey canvas: the steps and their ways; configure the selected step beside it">
      <ReactFlow
        key={doc.steps.map((s) => s.id).join(",")}  // a step added, removed or renamed: drawn afresh (measured anew) rather than patched
        nodes={nodes} edges={edges} nodeTypes={nodeTypes} fitView fitViewOptions={{ padding: 0.12, maxZoom: 0.9 }} minZoom={0.2}
        nodesDraggable={false} nodesConnectable={editable} elementsSelectable
        onNodeClick={(_, node) => onSelect(node.id)} onPaneClick={() => onSelect(null)}
        onNodesChange={(changes) => changes.forEach((c) => c.type === "select" && c.selected && onSelect(c.id))}
        onConnect={(c) => c.source && c.sourceHandle && c.target && c.source !== c.target && update(c.source, (s) => setWay(s, c.sourceHandle!, c.target))}
        onEdgesDelete={(gone) => onChange(gone.reduce((d, e) => ({ ...d, steps: d.steps.map((s) => (s.id === e.source ? setWay(s, e.sourceHandle ?? "next", null) : s)) }), doc))}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
