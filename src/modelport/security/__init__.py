"""Secrets at rest and token handling: no I/O beyond the key file."""
