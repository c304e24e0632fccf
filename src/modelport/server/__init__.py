"""Composition root: wires store, services, API, gateway and controller into one process."""
