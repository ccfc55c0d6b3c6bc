"""The application layer: each thing Tern does that spans parts, written once and called by the API and the
functions alike (refresh a segment, preview one, run a journey, start and run jobs)."""
