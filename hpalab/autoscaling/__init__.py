"""hpalab.autoscaling."""
