"""The E2E TIR dialect: TIR's model-endpoint API (create, read, actions, plans) at /tir."""
