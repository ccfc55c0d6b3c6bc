import { useEffect, useState } from "react";
import { get } from "../api";
import { ErrorNote, Status, when } from "../ui";

type ContentRecord = { id: string; name: string; channel: string; status: string; subject?: string; updated_at: string };

export default function Content() {
  const [content, setContent] = useState<ContentRecord[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => void get<{ content: ContentRecord[] }>("/content").then((a) => setContent(a.content)).catch(setError), []);
  return (
    <section aria-labelledby="content-title">
      <h1 id="content-title">Content</h1>
      <ErrorNote error={error} />
      <table className="list">
        <thead><tr><th scope="col">Name</th><th scope="col">Channel</th><th scope="col">Status</th><th scope="col">Changed</th></tr></thead>
        <tbody>
          {content.map((c) => <tr key={c.id}><td>{c.name}</td><td>{c.channel}</td><td><Status value={c.status} /></td><td>{when(c.updated_at)}</td></tr>)}
          {content.length === 0 && <tr><td colSpan={4} className="muted">No content yet.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}
