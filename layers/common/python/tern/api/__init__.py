"""The admin API: routes over the library, errors mapped to HTTP in one place (tern.api.routes)."""
