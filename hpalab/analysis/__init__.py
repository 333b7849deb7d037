"""hpalab.analysis."""
