"""hpalab.load."""
