"""hpalab.collectors."""
