"""Vendor-compatible APIs (E2E TIR, DeepInfra, Tensormesh): thin translations onto the services.

Each dialect is a FastAPI app with its vendor's URL shapes and error envelope; the server mounts
it under its prefix. A dialect has no storage or lifecycle of its own: what it needs to answer in
its vendor's shape is kept in the endpoint spec's `extensions[<dialect>]`.
"""
