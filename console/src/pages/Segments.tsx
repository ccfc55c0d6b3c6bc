import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { API, answer } from "../api";
import type { Segment } from "../types";
import { ErrorNote, Status, n, when } from "../ui";

const STATUSES = ["all", "draft", "live", "archived", "deleted"];

export default function Segments() {
  const [segments, setSegments] = useState<Segment[] | null>(null);
  const [status, setStatus] = useState("all");
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    answer(API.GET("/segments", { params: { query: status === "deleted" ? { include_deleted: true } : {} } }))
      .then((a) => setSegments(a.segments as unknown as Segment[]))
      .catch(setError);
  }, [status]);
  const shown = (segments ?? []).filter((s) => status === "all" || s.status === status);
  return (
    <section aria-labelledby="segments-title">
      <div className="title-row">
        <h1 id="segments-title">Segments</h1>
        <Link className="button primary" to="/segments/new">New segment</Link>
      </div>
      <div role="radiogroup" aria-label="Show segments" className="filters-bar">
        {STATUSES.map((s) => (
          <label key={s} className={status === s ? "chip on" : "chip"}>
            <input type="radio" name="status" value={s} checked={status === s} onChange={() => setStatus(s)} />
            {s}
          </label>
        ))}
      </div>
      <ErrorNote error={error} />
      {segments === null && !error ? <p className="muted">Loading…</p> : (
        <table className="list">
          <caption className="sr-only">Segments ({status})</caption>
          <thead>
            <tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col" className="num">Members</th><th scope="col">Last evaluation</th><th scope="col">Trend</th></tr>
          </thead>
          <tbody>
            {shown.map((s) => (
              <tr key={s.id}>
                <td><Link to={`/segments/${s.id}`}>{s.name}</Link></td>
                <td><Status value={s.status} /></td>
                <td className="num">{n(s.latest?.members)}</td>
                <td>{when(s.latest?.at)}</td>
                <td>{s.latest ? <Trend segment={s} /> : null}</td>
              </tr>
            ))}
            {shown.length === 0 && <tr><td colSpan={5} className="muted">No {status === "all" ? "" : status} segments yet.</td></tr>}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Trend({ segment }: { segment: Segment }) {
  const [values, setValues] = useState<number[] | null>(null);
  useEffect(() => {
    answer(API.GET("/segments/{segment_id}/history", { params: { path: { segment_id: segment.id }, query: { limit: 20 } } }))
      .then((a) => setValues(a.history.map((e) => e.members).reverse()))
      .catch(() => setValues([]));
  }, [segment.id]);
  if (!values || values.length < 2) return null;
  return <Sparkline values={values} label={`Members of ${segment.name} over the last ${values.length} evaluations, from ${n(values[0])} to ${n(values[values.length - 1])}`} />;
}

/** A line of members over the evaluations: a polyline (the list page need not load the charting library). */
function Sparkline({ values, label }: { values: number[]; label: string }) {
  const width = 120, height = 28;
  const low = Math.min(...values), high = Math.max(...values);
  const points = values.map((v, i) => `${(i / (values.length - 1)) * width},${height - 2 - ((v - low) / (high - low || 1)) * (height - 4)}`).join(" ");
  return (
    <svg className="sparkline" width={width} height={height} role="img" aria-label={label}>
      <polyline points={points} fill="none" stroke="#2563eb" strokeWidth={1.5} />
    </svg>
  );
}
