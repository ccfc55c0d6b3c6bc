"""Segments: the definition model, its SQL compiler and evaluation over a QueryEngine."""
