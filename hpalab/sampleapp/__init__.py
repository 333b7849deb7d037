"""hpalab.sampleapp."""
