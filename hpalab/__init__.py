"""hpalab: reproducible experiments for Kubernetes HorizontalPodAutoscaler tuning."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hpalab")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"
