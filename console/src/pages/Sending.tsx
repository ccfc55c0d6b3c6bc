import { useEffect, useId, useState } from "react";
import { API, answer } from "../api";
import type { Answer, Schemas } from "../apiTypes";
import { ErrorNote, useAction, when } from "../ui";

type Sender = Answer<Schemas["Sender"]>;
type Topic = Schemas["ConsentTopic"];
type Messages = Required<Schemas["MessageSettings"]>;
type SmsSender = Schemas["SmsSender"];

const STATUS: Record<Sender["status"], string> = {
  pending: "Waiting for its DNS records", verified: "Verified: ready to send", failed: "Amazon SES could not verify it",
};

/** Where the org's messages come from and what they say of it: sending domains (with the DNS records to publish),
 * the postal address and consent topics every e-mail and the preference page show, and the org's SMS number. */
export default function Sending() {
  return (
    <section aria-labelledby="sending-title">
      <h1 id="sending-title">Sending</h1>
      <Domains />
      <MessagesCard />
      <SmsCard />
    </section>
  );
}

function Domains() {
  const [senders, setSenders] = useState<Sender[]>([]);
  const [domain, setDomain] = useState("");
  const action = useAction();
  const load = () => answer(API.GET("/senders")).then((a) => setSenders(a.senders));
  useEffect(() => void load(), []);
  return (
    <section aria-labelledby="domains-title" className="editor-card">
      <h2 id="domains-title">Sending domains</h2>
      <p className="muted">Your e-mails come from addresses at these domains. Add one, then publish its DNS records at your DNS host; Amazon SES verifies it when it finds them.</p>
      <form className="row" onSubmit={(e) => { e.preventDefault(); action.run(async () => { await answer(API.POST("/senders", { body: { domain } })); setDomain(""); await load(); }, "Domain added: publish its DNS records"); }}>
        <TextField label="Domain (e.g. news.example.com)" value={domain} onChange={setDomain} />
        <button type="submit" className="primary" disabled={action.busy || !domain}>Add domain</button>
      </form>
      <ErrorNote error={action.error} />
      {senders.length === 0 && <p className="muted">No sending domains yet.</p>}
      {senders.map((s) => (
        <article key={s.domain} aria-label={`Domain ${s.domain}`} className="sender">
          <h3>{s.domain} <span className={`status ${s.status}`}>{STATUS[s.status]}</span></h3>
          <p className="muted">Bounces return to {s.mail_from_domain}{s.mail_from_status === "SUCCESS" ? " (found)" : " (its records are not found yet)"}. Checked {when(s.checked_at)}.</p>
          {s.status !== "verified" || s.mail_from_status !== "SUCCESS" ? (
            <table className="list" aria-label={`DNS records for ${s.domain}`}>
              <thead><tr><th scope="col">Type</th><th scope="col">Name</th><th scope="col">Value</th><th scope="col">What it is for</th></tr></thead>
              <tbody>
                {s.records.map((r) => <tr key={r.type + r.name + r.value}><td>{r.type}</td><td><code>{r.name}</code></td><td><code>{r.value}</code></td><td>{r.purpose}{r.required ? "" : " (optional)"}</td></tr>)}
              </tbody>
            </table>
          ) : null}
          <div className="actions">
            <button type="button" disabled={action.busy} onClick={() => action.run(async () => { await answer(API.GET("/senders/{domain}", { params: { path: { domain: s.domain } } })); await load(); }, `Checked ${s.domain}`)}>Check again</button>
            <button type="button" className="danger" disabled={action.busy} onClick={() => action.run(async () => { await answer(API.DELETE("/senders/{domain}", { params: { path: { domain: s.domain } } })); await load(); }, `${s.domain} removed`)}>Remove</button>
          </div>
        </article>
      ))}
    </section>
  );
}

function MessagesCard() {
  const [draft, setDraft] = useState<Messages>({ postal_address: "", language: "en", topics: [] });
  const action = useAction();
  useEffect(() => void answer(API.GET("/settings/messages")).then((m) => setDraft({ language: "en", topics: [], ...m, postal_address: m.postal_address ?? "" })), []);
  const topic = (i: number, change: Partial<Topic>) => setDraft({ ...draft, topics: draft.topics.map((t, j) => (j === i ? { ...t, ...change } : t)) });
  const save = () => action.run(async () => {
    await answer(API.PUT("/settings/messages", { body: { ...draft, postal_address: draft.postal_address || null } }));
  }, "Saved: the next messages show it");
  return (
    <section aria-labelledby="messages-title" className="editor-card">
      <h2 id="messages-title">What every e-mail shows</h2>
      <Area label="Postal address (shown in every marketing e-mail)" value={draft.postal_address ?? ""} onChange={(v) => setDraft({ ...draft, postal_address: v })} />
      <h3>Topics on the preference page</h3>
      <p className="muted">What a recipient can choose to receive: the consent it records, and its name in the page's language ({draft.language}).</p>
      {draft.topics.map((t, i) => (
        <div className="row" key={i}>
          <TextField label="Consent" value={t.consent} onChange={(v) => topic(i, { consent: v })} />
          <TextField label="Name recipients see" value={t.names[draft.language] ?? ""} onChange={(v) => topic(i, { names: { ...t.names, [draft.language]: v } })} />
          <button type="button" onClick={() => setDraft({ ...draft, topics: draft.topics.filter((_, j) => j !== i) })}>Remove topic</button>
        </div>
      ))}
      <div className="actions">
        <button type="button" onClick={() => setDraft({ ...draft, topics: [...draft.topics, { consent: "", channel: "email", names: { [draft.language]: "" } }] })}>Add a topic</button>
        <button type="button" className="primary" disabled={action.busy} onClick={save}>Save</button>
      </div>
      <ErrorNote error={action.error} />
    </section>
  );
}

function SmsCard() {
  const [sender, setSender] = useState<SmsSender | null>(null);
  const [identity, setIdentity] = useState("");
  const action = useAction();
  useEffect(() => void answer(API.GET("/settings/sms-sender")).then((a) => setSender(a.sms_sender ?? null)), []);
  return (
    <section aria-labelledby="sms-title" className="editor-card">
      <h2 id="sms-title">Texts</h2>
      <p>{sender ? `Your texts go from ${sender.phone_number}; a STOP to it is recorded on your own opt-out list.` : "Your texts go from the stack's own number, whose opt-outs are shared by every organisation sending from it."}</p>
      <form className="row" onSubmit={(e) => { e.preventDefault(); action.run(async () => setSender((await answer(API.PUT("/settings/sms-sender", { body: { origination_identity: identity } }))).sms_sender ?? null), "SMS number saved"); }}>
        <TextField label="Your number or pool in AWS End User Messaging (phone-… or pool-…)" value={identity} onChange={setIdentity} />
        <button type="submit" className="primary" disabled={action.busy || !identity}>Use it</button>
        {sender && <button type="button" disabled={action.busy} onClick={() => action.run(async () => { await answer(API.DELETE("/settings/sms-sender")); setSender(null); }, "SMS number removed")}>Stop using it</button>}
      </form>
      <ErrorNote error={action.error} />
    </section>
  );
}

function TextField({ label, value, onChange }: { label: string; value: string; onChange: (v: string) => void }) {
  const id = useId();
  return <span className="field"><label htmlFor={id}>{label}</label><input id={id} value={value} onChange={(e) => onChange(e.target.value)} /></span>;
}

function Area({ label, value, onChange }: { label: string; value: string; onChange: (v: string) => void }) {
  const id = useId();
  return <div className="field"><label htmlFor={id}>{label}</label><textarea id={id} rows={3} value={value} onChange={(e) => onChange(e.target.value)} /></div>;
}
