"""Needs (behov) reported by clinical lines and municipalities."""
