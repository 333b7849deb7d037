"""hpalab's container runtime: a CRI server that runs containers as host processes."""
