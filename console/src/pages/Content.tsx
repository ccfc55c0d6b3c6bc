import { useEffect, useId, useState } from "react";
import { API, ApiError, Problem, answer } from "../api";
import type { Schemas } from "../apiTypes";
import { ErrorNote, Status, useAction, when } from "../ui";

type ContentRecord = Schemas["Content"];
type Draft = Schemas["ContentDraft"];
const EMPTY: Draft = { name: "", channel: "email", status: "draft", subject: "", body: "", text: "", from_address: "", purpose: "marketing" };

/** E-mail and SMS content: personalised with {{field|fallback}}, previewed for a chosen contact. */
export default function Content() {
  const [content, setContent] = useState<ContentRecord[]>([]);
  const [editing, setEditing] = useState<{ id: string | null; draft: Draft } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => answer(API.GET("/content")).then((a) => setContent(a.content)).catch(setError);
  useEffect(() => void load(), []);
  return (
    <section aria-labelledby="content-title">
      <div className="title-row">
        <h1 id="content-title">Content</h1>
        <div className="actions">
          <button type="button" className="primary" onClick={() => setEditing({ id: null, draft: { ...EMPTY } })}>New e-mail</button>
          <button type="button" onClick={() => setEditing({ id: null, draft: { ...EMPTY, channel: "sms" } })}>New SMS</button>
        </div>
      </div>
      <ErrorNote error={error} />
      {editing && <Editor key={editing.id ?? "new"} id={editing.id} start={editing.draft} onDone={() => { setEditing(null); void load(); }} />}
      <table className="list">
        <thead><tr><th scope="col">Name</th><th scope="col">Channel</th><th scope="col">Status</th><th scope="col">Changed</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
        <tbody>
          {content.map((c) => (
            <tr key={c.id}>
              <td>{c.name}</td><td>{c.channel === "email" ? "e-mail" : "SMS"}</td><td><Status value={c.status} /></td><td>{when(c.updated_at)}</td>
              <td><button type="button" onClick={() => setEditing({ id: c.id, draft: c })} aria-label={`Edit ${c.name}`}>Edit</button></td>
            </tr>
          ))}
          {content.length === 0 && <tr><td colSpan={5} className="muted">No content yet.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}

function Editor({ id, start, onDone }: { id: string | null; start: Draft; onDone: () => void }) {
  const [draft, setDraft] = useState<Draft>(start);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [contact, setContact] = useState("");
  const [shown, setShown] = useState<Schemas["RenderedContent"] | null>(null);
  const action = useAction();
  const preview = useAction();
  const email = draft.channel === "email";
  const body = (): Draft => ({
    name: draft.name, channel: draft.channel, status: draft.status,
    ...(email ? { subject: draft.subject || undefined, body: draft.body || undefined, from_address: draft.from_address || undefined, purpose: draft.purpose ?? "marketing" } : {}), text: draft.text || undefined,
  });
  const problem = (field: string) => problems.find((p) => p.path === field)?.message;
  const field = (name: keyof Draft, label: string, multiline = false) => (
    <Field label={label} value={String(draft[name] ?? "")} problem={problem(name)} multiline={multiline} onChange={(v) => setDraft({ ...draft, [name]: v })} />
  );
  const save = () => action.run(async () => {
    setProblems([]);
    try {
      if (id) await answer(API.PUT("/content/{content_id}", { params: { path: { content_id: id } }, body: body() }));
      else await answer(API.POST("/content", { body: body() }));
    } catch (e) {
      if (e instanceof ApiError) setProblems(e.problems);
      throw e;
    }
    onDone();
  }, "Content saved");
  return (
    <section className="editor-card" aria-label={id ? `Edit ${start.name}` : `New ${email ? "e-mail" : "SMS"}`}>
      <h2>{id ? `Edit ${start.name}` : `New ${email ? "e-mail" : "SMS"}`}</h2>
      {field("name", "Content name")}
      {email && field("from_address", "From (an address at one of your sending domains; empty: the stack's own)")}
      {email && field("subject", "Subject")}
      {email && field("body", "HTML body", true)}
      {field("text", email ? "Plain text (optional)" : "Text", true)}
      {email && <label className="field check"><input type="checkbox" checked={draft.purpose === "transactional"} onChange={(e) => setDraft({ ...draft, purpose: e.target.checked ? "transactional" : "marketing" })} /> Transactional (something the contact asked for, such as a ticket: no unsubscribe link)</label>}
      <label className="field check"><input type="checkbox" checked={draft.status === "ready"} onChange={(e) => setDraft({ ...draft, status: e.target.checked ? "ready" : "draft" })} /> Ready to send</label>
      <p className="muted">Personalise with <code>{"{{first_name|there}}"}</code>, <code>{"{{attributes.KEY}}"}</code>, <code>{"{{entry_event.FIELD}}"}</code>.{email && <> Every e-mail shows an unsubscribe link and your postal address: place them with <code>{"{{unsubscribe_url}}"}</code> and <code>{"{{org.postal_address}}"}</code>, or Tern adds them at the end.</>}</p>
      <ErrorNote error={action.error} />
      <div className="actions">
        <button type="button" className="primary" disabled={action.busy} onClick={save}>Save content</button>
        {id && <button type="button" className="danger" onClick={() => action.run(async () => { await answer(API.DELETE("/content/{content_id}", { params: { path: { content_id: id } } })); onDone(); }, "Content deleted")}>Delete</button>}
        <button type="button" onClick={onDone}>Close</button>
      </div>
      <div className="row">
        <Field label="Preview for contact" value={contact} onChange={setContact} />
        <button type="button" disabled={!contact || preview.busy} onClick={() => preview.run(async () => setShown(await answer(API.POST("/content/preview", { body: { content: body(), contact_id: contact } }))), "Preview ready")}>Preview</button>
      </div>
      <ErrorNote error={preview.error} />
      {shown && (
        <div className="preview" aria-label="Preview">
          {shown.subject !== null && shown.subject !== undefined && <p><strong>Subject:</strong> <span data-testid="preview-subject">{shown.subject}</span></p>}
          {shown.body && <iframe title="E-mail body preview" sandbox="" srcDoc={shown.body} />}
          {shown.text && <pre aria-label="Text preview">{shown.text}</pre>}
        </div>
      )}
    </section>
  );
}

function Field({ label, value, problem, multiline, onChange }: { label: string; value: string; problem?: string; multiline?: boolean; onChange: (v: string) => void }) {
  const id = useId();
  const common = { id, value, "aria-invalid": Boolean(problem) || undefined, "aria-describedby": problem ? `${id}-p` : undefined };
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {multiline ? <textarea rows={6} {...common} onChange={(e) => onChange(e.target.value)} /> : <input {...common} onChange={(e) => onChange(e.target.value)} />}
      {problem && <span id={`${id}-p`} className="problem" role="alert">{problem}</span>}
    </div>
  );
}
