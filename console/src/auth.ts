// Who the console asks as. /config.json says how: the local stack answers {"auth": "local", "orgs": [...]}
// (an org picker sets X-Tern-Org); a deployment writes {"auth": "cognito", "domain", "client_id"} beside the
// app, and the console signs in with the user pool's hosted UI (authorization code with PKCE) and sends the
// ID token, which the API's Cognito authorizer reads the org from.
import { useCredentials } from "./api";

export type Config =
  | { auth: "local"; orgs: string[] }
  | { auth: "cognito"; domain: string; client_id: string };

const ORG_KEY = "tern.org";
const TOKEN_KEY = "tern.id_token";
const VERIFIER_KEY = "tern.pkce_verifier";

export async function loadConfig(): Promise<Config> {
  const response = await fetch("/config.json");
  if (!response.ok) throw new Error(`the console's /config.json answered ${response.status}`);
  return response.json();
}

export function chosenOrg(config: Config): string | null {
  if (config.auth !== "local") return null;
  const saved = localStorage.getItem(ORG_KEY);
  return saved && config.orgs.includes(saved) ? saved : (config.orgs[0] ?? null);
}

export function chooseOrg(org: string): void {
  localStorage.setItem(ORG_KEY, org);
  useCredentials(() => ({ "X-Tern-Org": org }));
}

/** Ready to call the API: the org chosen, or signed in (false while the browser is sent to sign in). */
export async function signIn(config: Config): Promise<boolean> {
  if (config.auth === "local") {
    const org = chosenOrg(config);
    if (org) chooseOrg(org);
    return true;
  }
  const redirect = `${location.origin}/`;
  const code = new URLSearchParams(location.search).get("code");
  if (code) {
    const verifier = sessionStorage.getItem(VERIFIER_KEY) ?? "";
    const response = await fetch(`https://${config.domain}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "authorization_code", client_id: config.client_id, code, redirect_uri: redirect, code_verifier: verifier }),
    });
    if (!response.ok) throw new Error(`signing in failed: ${response.status}`);
    const tokens = await response.json();
    sessionStorage.setItem(TOKEN_KEY, tokens.id_token);
    sessionStorage.removeItem(VERIFIER_KEY);
    history.replaceState(null, "", `/${location.hash}`);
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token && !expired(token)) {
    useCredentials(() => ({ Authorization: token }));
    return true;
  }
  const verifier = random(64);
  sessionStorage.setItem(VERIFIER_KEY, verifier);
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  const query = new URLSearchParams({
    response_type: "code", client_id: config.client_id, redirect_uri: redirect, scope: "openid email profile",
    code_challenge_method: "S256", code_challenge: challenge,
  });
  location.assign(`https://${config.domain}/oauth2/authorize?${query}`);
  return false;
}

export function signOut(config: Config): void {
  sessionStorage.removeItem(TOKEN_KEY);
  if (config.auth === "cognito") {
    location.assign(`https://${config.domain}/logout?client_id=${config.client_id}&logout_uri=${encodeURIComponent(`${location.origin}/`)}`);
  }
}

function expired(token: string): boolean {
  try {
    const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return claims.exp * 1000 < Date.now() + 60_000;
  } catch {
    return true;
  }
}

function random(length: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(length))).slice(0, length);
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
