"""Dataset storage: the one place that touches the filesystem or fsspec for datasets."""
