import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The console is served beside the admin API on one origin (tern serve locally, CloudFront in AWS): no CORS,
// relative URLs. `npm run dev` proxies the API to a running `tern serve` (TERN_API, default 127.0.0.1:8000).
const api = process.env.TERN_API ?? "http://127.0.0.1:8000";
const apiPaths = ["segments", "previews", "lists", "content", "journeys", "exports", "destinations", "settings", "events", "imports", "config.json", "openapi.json"];

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 600 },
  server: { proxy: Object.fromEntries(apiPaths.map((p) => [`/${p}`, api])) },
  test: { environment: "jsdom", globals: true, include: ["src/**/*.test.tsx", "src/**/*.test.ts"] },
});
