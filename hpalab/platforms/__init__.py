"""hpalab.platforms."""
