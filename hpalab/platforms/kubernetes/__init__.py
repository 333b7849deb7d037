"""hpalab.platforms.kubernetes."""
