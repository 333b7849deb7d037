"""hpalab cluster: a real single-node Kubernetes built from pinned upstream modules."""
