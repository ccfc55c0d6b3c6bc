import { Suspense, lazy, useEffect, useState } from "react";
import { HashRouter, NavLink, Route, Routes } from "react-router-dom";
import { Config, chooseOrg, chosenOrg, loadConfig, signIn, signOut } from "./auth";
import { Announcer } from "./ui";

// Route-split: the first load carries the shell and the segment pages; the canvas and the charts come when used.
const Segments = lazy(() => import("./pages/Segments"));
const SegmentEditor = lazy(() => import("./pages/SegmentEditor"));
const Segment = lazy(() => import("./pages/Segment"));
const Lists = lazy(() => import("./pages/Lists"));
const Content = lazy(() => import("./pages/Content"));
const Journeys = lazy(() => import("./pages/Journeys"));
const Journey = lazy(() => import("./pages/Journey"));
const Settings = lazy(() => import("./pages/Settings"));
const Sending = lazy(() => import("./pages/Sending"));

export function App() {
  const [config, setConfig] = useState<Config | null>(null);
  const [ready, setReady] = useState(false);
  const [org, setOrg] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    loadConfig()
      .then(async (c) => {
        setConfig(c);
        setOrg(chosenOrg(c));
        setReady(await signIn(c));
      })
      .catch((e) => setError(String(e.message ?? e)));
  }, []);
  if (error) return <p role="alert" className="fatal">{error}</p>;
  if (!config || !ready) return <p className="muted">Signing in…</p>;
  return (
    <HashRouter>
      <Announcer />
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>Skip to content</a>
      <header className="top">
        <span className="brand">Tern</span>
        <nav aria-label="Main">
          <NavLink to="/">Segments</NavLink>
          <NavLink to="/lists">Lists</NavLink>
          <NavLink to="/content">Content</NavLink>
          <NavLink to="/journeys">Journeys</NavLink>
          <NavLink to="/sending">Sending</NavLink>
          <NavLink to="/settings">Destinations &amp; settings</NavLink>
        </nav>
        {config.auth === "local" ? (
          <label className="org">
            Organisation
            <select value={org ?? ""} onChange={(e) => { chooseOrg(e.target.value); setOrg(e.target.value); }}>
              {config.orgs.map((o) => <option key={o} value={o}>{o}</option>)}
            </select>
          </label>
        ) : (
          <button type="button" onClick={() => signOut(config)}>Sign out</button>
        )}
      </header>
      <main id="main" tabIndex={-1} key={org ?? ""}>
        <Suspense fallback={<p className="muted">Loading…</p>}>
          <Routes>
            <Route path="/" element={<Segments />} />
            <Route path="/segments/new" element={<SegmentEditor />} />
            <Route path="/segments/:id/edit" element={<SegmentEditor />} />
            <Route path="/segments/:id" element={<Segment />} />
            <Route path="/lists" element={<Lists />} />
            <Route path="/content" element={<Content />} />
            <Route path="/journeys" element={<Journeys />} />
            <Route path="/journeys/:id" element={<Journey />} />
            <Route path="/sending" element={<Sending />} />
            <Route path="/settings" element={<Settings />} />
            <Route path="*" element={<p>There is no such page.</p>} />
          </Routes>
        </Suspense>
      </main>
    </HashRouter>
  );
}
