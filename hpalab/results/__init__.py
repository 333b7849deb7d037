"""hpalab.results."""
