"""Public request/response models of the native API, shared by the API and the SDK."""
