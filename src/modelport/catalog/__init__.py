"""Catalogs: framework presets from the vendor seeds, and the operator's plan/SKU catalog."""
