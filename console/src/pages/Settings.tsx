import { useEffect, useId, useState } from "react";
import { API, answer } from "../api";
import { ErrorNote, n, useAction, when } from "../ui";
import type { AdAccount, Destination, FrequencyCap } from "../apiTypes";



type Cap = Required<FrequencyCap>;

/** The org's frequency cap across all journeys, and the webhook destinations exports and journeys deliver to. */
export default function Settings() {
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Destinations &amp; settings</h1>
      <FrequencyCap />
      <Destinations />
      <AdAccounts />
    </section>
  );
}

function FrequencyCap() {
  const [cap, setCap] = useState<Cap | null>(null);
  const [draft, setDraft] = useState<Cap>({ messages: 3, days: 7, channels: ["email", "sms"] });
  const action = useAction();
  useEffect(() => void answer(API.GET("/settings/frequency-cap")).then((a) => {
    const found = a.frequency_cap ? { channels: [], ...a.frequency_cap } : null;
    setCap(found);
    if (found) setDraft(found);
  }), []);
  const channel = (c: Cap["channels"][number], on: boolean) => setDraft({ ...draft, channels: on ? [...draft.channels, c] : draft.channels.filter((x) => x !== c) });
  return (
    <section aria-labelledby="cap-title" className="editor-card">
      <h2 id="cap-title">Frequency cap</h2>
      <p>{cap ? `Now: at most ${cap.messages} messages (${cap.channels.join(", ")}) to one contact in any ${cap.days} days, all journeys together.` : "No cap: each journey sends within its own limits."}</p>
      <div className="row">
        <NumberField label="At most messages" value={draft.messages} onChange={(v) => setDraft({ ...draft, messages: v })} />
        <NumberField label="In any days" value={draft.days} onChange={(v) => setDraft({ ...draft, days: v })} />
        {(["email", "sms"] as const).map((c) => (
          <label key={c} className="field check"><input type="checkbox" checked={draft.channels.includes(c)} onChange={(e) => channel(c, e.target.checked)} /> {c === "email" ? "e-mail" : "SMS"}</label>
        ))}
      </div>
      <div className="actions">
        <button type="button" className="primary" disabled={action.busy} onClick={() => action.run(async () => setCap(((await answer(API.PUT("/settings/frequency-cap", { body: draft }))).frequency_cap as Cap | null) ?? null), "Frequency cap saved")}>Save the cap</button>
        {cap && <button type="button" disabled={action.busy} onClick={() => action.run(async () => { await answer(API.DELETE("/settings/frequency-cap")); setCap(null); }, "Frequency cap removed")}>Remove the cap</button>}
      </div>
      <ErrorNote error={action.error} />
    </section>
  );
}

function Destinations() {
  const [destinations, setDestinations] = useState<Destination[]>([]);
  const [draft, setDraft] = useState({ name: "", url: "", secret: "", batch_size: 500 });
  const action = useAction();
  const load = () => answer(API.GET("/destinations")).then((a) => setDestinations(a.destinations));
  useEffect(() => void load(), []);
  return (
    <section aria-labelledby="destinations-title" className="editor-card">
      <h2 id="destinations-title">Webhook destinations</h2>
      <form className="row" onSubmit={(e) => { e.preventDefault(); action.run(async () => { await answer(API.POST("/destinations", { body: draft })); setDraft({ name: "", url: "", secret: "", batch_size: 500 }); await load(); }, "Destination added"); }}>
        <TextField label="Destination name" value={draft.name} onChange={(v) => setDraft({ ...draft, name: v })} />
        <TextField label="URL (https, public)" value={draft.url} onChange={(v) => setDraft({ ...draft, url: v })} />
        <TextField label="Signing secret (16+ characters, shown only now)" value={draft.secret} type="password" onChange={(v) => setDraft({ ...draft, secret: v })} />
        <NumberField label="Batch size" value={draft.batch_size} onChange={(v) => setDraft({ ...draft, batch_size: v })} />
        <button type="submit" className="primary" disabled={action.busy}>Add destination</button>
      </form>
      <ErrorNote error={action.error} />
      <table className="list">
        <thead><tr><th scope="col">Name</th><th scope="col">URL</th><th scope="col" className="num">Batch</th><th scope="col">Added</th><th scope="col">Signing secret</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
        <tbody>
          {destinations.map((d) => <DestinationRow key={d.id} destination={d} onChanged={load} />)}
          {destinations.length === 0 && <tr><td colSpan={6} className="muted">No destinations yet.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}

const NO_ACCOUNT = { name: "", ad_account_id: "", access_token: "", customer_id: "", login_customer_id: "", client_id: "", client_secret: "", refresh_token: "" };

/** The ad accounts segments fill audiences in: Meta (a system user's token) and Google Ads (an OAuth client and a
 * refresh token). Each is checked with the platform when added; its credentials are never shown again. */
function AdAccounts() {
  const [accounts, setAccounts] = useState<AdAccount[]>([]);
  const [platform, setPlatform] = useState<"meta" | "google">("meta");
  const [draft, setDraft] = useState(NO_ACCOUNT);
  const [replacing, setReplacing] = useState<AdAccount | null>(null);  // new credentials for this account, when set
  const action = useAction();
  const load = () => answer(API.GET("/ad-accounts")).then((a) => setAccounts(a.accounts));
  const renew = (a: AdAccount) => {
    setReplacing(a);
    setPlatform(a.platform);
    setDraft({ ...NO_ACCOUNT, name: a.name, ad_account_id: a.platform === "meta" ? `act_${a.account}` : "", customer_id: a.platform === "google" ? a.account : "", login_customer_id: a.login_account ?? "" });
  };
  useEffect(() => void load(), []);
  const field = (key: keyof typeof NO_ACCOUNT) => (v: string) => setDraft({ ...draft, [key]: v });
  const body = platform === "meta"
    ? { platform, name: draft.name, ad_account_id: draft.ad_account_id, access_token: draft.access_token }
    : { platform, name: draft.name, customer_id: draft.customer_id, client_id: draft.client_id, client_secret: draft.client_secret,
        refresh_token: draft.refresh_token, ...(draft.login_customer_id ? { login_customer_id: draft.login_customer_id } : {}) };
  return (
    <section aria-labelledby="ad-accounts-title" className="editor-card">
      <h2 id="ad-accounts-title">Ad accounts</h2>
      <p className="muted">Segments fill audiences in these accounts and keep them up to date after every refresh. Only hashed e-mail addresses, phone numbers and names leave Tern.</p>
      {replacing && <p>New credentials for <strong>{replacing.name}</strong>: they are checked with the platform before they replace the old ones. <button type="button" onClick={() => { setReplacing(null); setDraft(NO_ACCOUNT); }}>Cancel</button></p>}
      <form className="row" aria-label={replacing ? "New credentials" : "Connect an ad account"} onSubmit={(e) => {
        e.preventDefault();
        action.run(async () => {
          if (replacing) await answer(API.PUT("/ad-accounts/{account_id}/credentials", { params: { path: { account_id: replacing.id } }, body }));
          else await answer(API.POST("/ad-accounts", { body }));
          setDraft(NO_ACCOUNT);
          setReplacing(null);
          await load();
        }, replacing ? "Credentials replaced" : "Ad account connected");
      }}>
        <label className="field">Platform <select value={platform} disabled={!!replacing} onChange={(e) => setPlatform(e.target.value as "meta" | "google")}><option value="meta">Meta (Facebook, Instagram)</option><option value="google">Google Ads</option></select></label>
        <TextField label="Account name in Tern" value={draft.name} onChange={field("name")} />
        {platform === "meta" ? <>
          <TextField label="Ad account id (act_…)" value={draft.ad_account_id} onChange={field("ad_account_id")} />
          <TextField label="System user access token (shown only now)" value={draft.access_token} type="password" onChange={field("access_token")} />
        </> : <>
          <TextField label="Customer id (123-456-7890)" value={draft.customer_id} onChange={field("customer_id")} />
          <TextField label="Manager account id (if you sign in through one)" value={draft.login_customer_id} onChange={field("login_customer_id")} />
          <TextField label="OAuth client id" value={draft.client_id} onChange={field("client_id")} />
          <TextField label="OAuth client secret (shown only now)" value={draft.client_secret} type="password" onChange={field("client_secret")} />
          <TextField label="Refresh token (shown only now)" value={draft.refresh_token} type="password" onChange={field("refresh_token")} />
        </>}
        <button type="submit" className="primary" disabled={action.busy}>{replacing ? "Replace the credentials" : "Connect"}</button>
      </form>
      <ErrorNote error={action.error} />
      <table className="list">
        <caption className="sr-only">Connected ad accounts</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Platform</th><th scope="col">Account</th><th scope="col">Connected</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
        <tbody>
          {accounts.map((a) => (
            <tr key={a.id}>
              <td>{a.name}</td><td>{a.platform === "meta" ? "Meta" : "Google Ads"}</td><td>{a.platform_name}</td><td>{when(a.created_at)}</td>
              <td><button type="button" onClick={() => renew(a)} aria-label={`New credentials for ${a.name}`}>New credentials</button>{" "}
                <button type="button" disabled={action.busy} aria-label={`Disconnect ${a.name}`} onClick={() => {
                if (window.confirm(`Disconnect ${a.name}? Its audiences on the platform stay as they are.`)) {
                  action.run(async () => { await answer(API.DELETE("/ad-accounts/{account_id}", { params: { path: { account_id: a.id } } })); await load(); }, "Ad account disconnected");
                }
              }}>Disconnect</button></td>
            </tr>
          ))}
          {accounts.length === 0 && <tr><td colSpan={5} className="muted">No ad accounts connected yet.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}

/** One destination: its secret replaced (the old one keeps working for the hours chosen, so the receiver can switch
 * without losing a delivery), or the destination removed. */
function DestinationRow({ destination: d, onChanged }: { destination: Destination; onChanged: () => Promise<void> }) {
  const [replacing, setReplacing] = useState(false);
  const [secret, setSecret] = useState("");
  const [overlap, setOverlap] = useState(24);
  const action = useAction();
  const secretNote = !d.secret_rotated_at ? "Set when added"
    : d.previous_secret_until && new Date(d.previous_secret_until) > new Date() ? `Replaced ${when(d.secret_rotated_at)}; the old one works until ${when(d.previous_secret_until)}`
    : `Replaced ${when(d.secret_rotated_at)}`;
  return (
    <>
      <tr>
        <td>{d.name}</td><td>{d.url}</td><td className="num">{n(d.batch_size)}</td><td>{when(d.created_at)}</td><td>{secretNote}</td>
        <td>
          <button type="button" onClick={() => setReplacing(!replacing)} aria-expanded={replacing} aria-label={`Replace the secret of ${d.name}`}>Replace the secret</button>{" "}
          <button type="button" disabled={action.busy} onClick={() => {
            if (window.confirm(`Remove the destination ${d.name}? Exports and journeys can no longer deliver to it.`)) {
              action.run(async () => { await answer(API.DELETE("/destinations/{destination_id}", { params: { path: { destination_id: d.id } } })); await onChanged(); }, "Destination removed");
            }
          }} aria-label={`Remove ${d.name}`}>Remove</button>
          <ErrorNote error={action.error} />
        </td>
      </tr>
      {replacing && (
        <tr><td colSpan={6}>
          <form className="row" aria-label={`New secret for ${d.name}`} onSubmit={(e) => {
            e.preventDefault();
            action.run(async () => { await answer(API.POST("/destinations/{destination_id}/secret", { params: { path: { destination_id: d.id } }, body: { secret, overlap_hours: overlap } })); setSecret(""); setReplacing(false); await onChanged(); }, "Secret replaced");
          }}>
            <TextField label="New signing secret (16+ characters, shown only now)" value={secret} type="password" onChange={setSecret} />
            <NumberField label="Hours the old secret keeps working" value={overlap} onChange={setOverlap} />
            <button type="submit" className="primary" disabled={action.busy}>Replace the secret</button>
          </form>
        </td></tr>
      )}
    </>
  );
}

function TextField({ label, value, type, onChange }: { label: string; value: string; type?: string; onChange: (v: string) => void }) {
  const id = useId();
  return <span className="field"><label htmlFor={id}>{label}</label><input id={id} type={type ?? "text"} value={value} onChange={(e) => onChange(e.target.value)} /></span>;
}

function NumberField({ label, value, onChange }: { label: string; value: number; onChange: (v: number) => void }) {
  const id = useId();
  return <span className="field"><label htmlFor={id}>{label}</label><input id={id} type="number" min={1} value={value} onChange={(e) => onChange(Number(e.target.value))} /></span>;
}
