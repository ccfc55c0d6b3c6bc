import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { get } from "../api";
import { ErrorNote, Status, when } from "../ui";

type JourneyRecord = { id: string; name: string; status: string; mode?: string; updated_at: string };

export default function Journeys() {
  const [journeys, setJourneys] = useState<JourneyRecord[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => void get<{ journeys: JourneyRecord[] }>("/journeys").then((a) => setJourneys(a.journeys)).catch(setError), []);
  return (
    <section aria-labelledby="journeys-title">
      <h1 id="journeys-title">Journeys</h1>
      <ErrorNote error={error} />
      <table className="list">
        <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Changed</th></tr></thead>
        <tbody>
          {journeys.map((j) => <tr key={j.id}><td><Link to={`/journeys/${j.id}`}>{j.name}</Link></td><td><Status value={j.status} /></td><td>{when(j.updated_at)}</td></tr>)}
          {journeys.length === 0 && <tr><td colSpan={3} className="muted">No journeys yet.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}
