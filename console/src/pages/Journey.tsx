import { useEffect, useState } from "react";
import { useParams } from "react-router-dom";
import { get } from "../api";
import { ErrorNote, Status } from "../ui";

export default function Journey() {
  const { id = "" } = useParams();
  const [journey, setJourney] = useState<any>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => void get(`/journeys/${id}`).then(setJourney).catch(setError), [id]);
  if (!journey) return error ? <ErrorNote error={error} /> : <p className="muted">Loading…</p>;
  return (
    <section aria-labelledby="journey-title">
      <div className="title-row"><h1 id="journey-title">{journey.name}</h1><Status value={journey.status} /></div>
      <pre>{JSON.stringify(journey, null, 2)}</pre>
    </section>
  );
}
