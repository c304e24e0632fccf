"""Pure domain: specs, states, records, errors. Imports nothing else of Modelport's."""
