"""Async invocations in a server process: the gateway's intake and the workers (docs/async.md)."""
