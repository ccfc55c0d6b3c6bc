// The charts (Recharts), loaded only by the pages that draw them.
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

export function HistoryChart({ rows }: { rows: { at: string; members: number; joined: number; left: number }[] }) {
  const data = rows.map((r) => ({ ...r, when: r.at.slice(0, 16).replace("T", " ") }));
  return (
    <div className="chart" role="img" aria-label={`Members, joined and left over ${rows.length} evaluations`}>
      <ResponsiveContainer width="100%" height={240}>
        <LineChart data={data}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="when" fontSize={11} />
          <YAxis fontSize={11} />
          <Tooltip />
          <Legend />
          <Line type="monotone" dataKey="members" stroke="#2563eb" isAnimationActive={false} />
          <Line type="monotone" dataKey="joined" stroke="#16a34a" isAnimationActive={false} />
          <Line type="monotone" dataKey="left" stroke="#dc2626" isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

export function Funnel({ steps }: { steps: { step: string; entered: number; converted?: number | null }[] }) {
  return (
    <div className="chart" role="img" aria-label={`Contacts entering each of ${steps.length} steps`}>
      <ResponsiveContainer width="100%" height={Math.max(160, steps.length * 34)}>
        <BarChart data={steps} layout="vertical" margin={{ left: 40 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis type="number" fontSize={11} />
          <YAxis type="category" dataKey="step" fontSize={11} width={100} />
          <Tooltip />
          <Legend />
          <Bar dataKey="entered" fill="#2563eb" isAnimationActive={false} />
          <Bar dataKey="converted" fill="#16a34a" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
