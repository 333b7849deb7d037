"""hpalab.platforms.local."""
