import { useEffect, useState } from "react";
import { API, answer, api } from "../api";
import type { Schemas } from "../apiTypes";
import { ErrorNote, n, useAction, when } from "../ui";

type ListRecord = Schemas["List"];
type Report = Schemas["ListReport"];

/** Static lists: upload a CSV (contact_id or email column), see what it matched. */
export default function Lists() {
  const [lists, setLists] = useState<ListRecord[]>([]);
  const [name, setName] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [report, setReport] = useState<Report | null>(null);
  const action = useAction();
  const load = () => answer(API.GET("/lists")).then((a) => setLists(a.lists));
  useEffect(() => void load(), []);
  const upload = () => action.run(async () => {
    const text = await file!.text();
    const answer = await api<Report>("POST", `/lists?name=${encodeURIComponent(name || file!.name.replace(/\.[^.]+$/, ""))}`, { raw: text, contentType: "text/csv" });
    setReport(answer);
    await load();
  }, "List imported");
  return (
    <section aria-labelledby="lists-title">
      <h1 id="lists-title">Lists</h1>
      <form className="row" onSubmit={(e) => { e.preventDefault(); upload(); }}>
        <label>List name <input value={name} onChange={(e) => setName(e.target.value)} placeholder="from the file's name" /></label>
        <label>CSV file <input type="file" accept=".csv,text/csv" onChange={(e) => setFile(e.target.files?.[0] ?? null)} /></label>
        <button type="submit" className="primary" disabled={!file || action.busy}>Upload</button>
      </form>
      <p className="muted">A CSV with a <code>contact_id</code> or <code>email</code> column; comma, semicolon or tab separated (Excel's CSV files read as saved), at most 6 MB.</p>
      <ErrorNote error={action.error} />
      {report && (
        <section aria-labelledby="report-title" className="report">
          <h2 id="report-title">Imported “{report.name}”</h2>
          <dl className="facts">
            <dt>Rows</dt><dd>{n(report.rows)}</dd>
            <dt>Matched</dt><dd>{n(report.matched)}</dd>
            <dt>Unknown</dt><dd>{n(report.unknown)}</dd>
            <dt>Duplicates</dt><dd>{n(report.duplicates)}</dd>
            <dt>Bad rows</dt><dd>{n(report.bad_rows)}</dd>
            <dt>Read as</dt><dd>keyed by {report.key}, “{report.separator === "\t" ? "tab" : report.separator}” separated{report.bom ? ", with a byte-order mark" : ""}</dd>
          </dl>
          {report.bad_row_details.length > 0 && (
            <table className="list">
              <caption>Bad rows</caption>
              <thead><tr><th scope="col">Line</th><th scope="col">Why</th></tr></thead>
              <tbody>{report.bad_row_details.map((b) => <tr key={b.line}><td>{b.line}</td><td>{b.reason}</td></tr>)}</tbody>
            </table>
          )}
          {report.unknown_rows.length > 0 && <p>Not contacts of this organisation: {report.unknown_rows.slice(0, 20).map((r) => `${r.value} (line ${r.line})`).join(", ")}{report.unknown_rows.length > 20 ? " …" : ""}</p>}
        </section>
      )}
      <h2>Imported lists</h2>
      <table className="list">
        <thead><tr><th scope="col">Name</th><th scope="col" className="num">Matched</th><th scope="col" className="num">Rows</th><th scope="col">Imported</th></tr></thead>
        <tbody>
          {lists.map((l) => <tr key={l.id}><td>{l.name}</td><td className="num">{n(l.matched)}</td><td className="num">{n(l.rows)}</td><td>{when(l.created_at)}</td></tr>)}
          {lists.length === 0 && <tr><td colSpan={4} className="muted">No lists yet.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}
