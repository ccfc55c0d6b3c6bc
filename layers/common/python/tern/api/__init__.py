"""The admin API: a router per resource (tern.api.segments, ...), the app and its error mapping (tern.api.app)."""
