import { useEffect, useRef, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { API, answer } from "../api";
import type { Answer, Schemas } from "../apiTypes";
import { ErrorNote, Status, useAction, when } from "../ui";

type JourneyRecord = Answer<Schemas["Journey"]>;

export default function Journeys() {
  const [journeys, setJourneys] = useState<JourneyRecord[]>([]);
  const [error, setError] = useState<unknown>(null);
  const navigate = useNavigate();
  const action = useAction();
  useEffect(() => void answer(API.GET("/journeys")).then((a) => setJourneys(a.journeys)).catch(setError), []);
  const [making, setMaking] = useState(false);
  const [name, setName] = useState("");
  const [audience, setAudience] = useState("");
  const [segments, setSegments] = useState<Answer<Schemas["Segment"]>[]>([]);
  const [emails, setEmails] = useState<Answer<Schemas["Content"]>[]>([]);
  const [first, setFirst] = useState("");
  const chosen = useRef(false);  // the marketer picked a first e-mail (or none): the default never overrides it
  useEffect(() => {
    if (!making) return;
    void answer(API.GET("/segments")).then((a) => setSegments(a.segments.filter((s) => s.status === "live")));
    void answer(API.GET("/content")).then((a) => {
      const found = a.content.filter((c) => c.channel === "email");
      setEmails(found);
      if (!chosen.current) setFirst((found.find((c) => c.status === "ready") ?? found[0])?.id || "");
    });
  }, [making]);
  // A journey starts at its entry with its first message connected: the audience enters, the e-mail goes, the path ends.
  const steps = (): Schemas["JourneyDefinition"]["steps"] =>
    first ? [{ id: "email", kind: "send_email", content_id: first, next: "end" }, { id: "end", kind: "end" }] : [{ id: "end", kind: "end" }];
  const create = () => action.run(async () => {
    const made = await answer(API.POST("/journeys", { body: { name, audience, start: first ? "email" : "end", steps: steps() } }));
    navigate(`/journeys/${made.id}`);
  }, "Journey created");
  return (
    <section aria-labelledby="journeys-title">
      <div className="title-row">
        <h1 id="journeys-title">Journeys</h1>
        <button type="button" className="primary" onClick={() => setMaking(true)} disabled={making}>New journey</button>
      </div>
      {making && (
        <form className="editor-card" aria-label="New journey" onSubmit={(e) => { e.preventDefault(); create(); }}>
          <label className="field">Journey name <input value={name} onChange={(e) => setName(e.target.value)} required /></label>
          <label className="field">Audience (a live segment)
            <select value={audience} onChange={(e) => setAudience(e.target.value)} required>
              <option value="">(choose)</option>
              {segments.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
            </select>
          </label>
          <label className="field">First e-mail
            <select value={first} onChange={(e) => { chosen.current = true; setFirst(e.target.value); }}>
              <option value="">(none yet: start with an empty path)</option>
              {emails.map((c) => <option key={c.id} value={c.id}>{c.name}{c.status === "ready" ? "" : " (not ready yet)"}</option>)}
            </select>
          </label>
          <div className="actions">
            <button type="submit" className="primary" disabled={action.busy || !name || !audience}>Create and open the canvas</button>
            <button type="button" onClick={() => setMaking(false)}>Cancel</button>
          </div>
        </form>
      )}
      <ErrorNote error={error ?? action.error} />
      <table className="list">
        <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Started</th><th scope="col">Changed</th></tr></thead>
        <tbody>
          {journeys.map((j) => <tr key={j.id}><td><Link to={`/journeys/${j.id}`}>{j.name}</Link></td><td><Status value={j.status} /></td><td>{when(j.started_at)}</td><td>{when(j.updated_at)}</td></tr>)}
          {journeys.length === 0 && <tr><td colSpan={4} className="muted">No journeys yet.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}
