"""DeepInfra's deployment API (seed 002) as a thin translation onto the endpoint service."""
