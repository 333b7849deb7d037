"""hpalab.specs."""
