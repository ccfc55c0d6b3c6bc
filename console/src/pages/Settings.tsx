import { useEffect, useState } from "react";
import { get } from "../api";
import { ErrorNote } from "../ui";

export default function Settings() {
  const [destinations, setDestinations] = useState<{ id: string; name: string; url: string }[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => void get("/destinations").then((a) => setDestinations(a.destinations)).catch(setError), []);
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Destinations &amp; settings</h1>
      <ErrorNote error={error} />
      <h2>Webhook destinations</h2>
      <ul>{destinations.map((d) => <li key={d.id}>{d.name}: {d.url}</li>)}</ul>
    </section>
  );
}
