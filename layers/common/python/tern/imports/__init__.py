"""Bringing definitions from other systems into Tern (Amazon Pinpoint: tern.imports.pinpoint)."""
