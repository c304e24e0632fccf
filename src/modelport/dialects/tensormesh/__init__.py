"""Tensormesh's model API (seed 003) over Modelport endpoints; see docs/dialects/tensormesh.md."""
