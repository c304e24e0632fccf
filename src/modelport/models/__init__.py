"""The model repository (uploaded files in an object store) and fetching model files onto a
replica's host (repository, Hugging Face), cached by content."""
