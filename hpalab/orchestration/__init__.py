"""hpalab.orchestration."""
