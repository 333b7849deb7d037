"""hpalab.report."""
