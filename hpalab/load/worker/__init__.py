"""The Locust side of the load driver: only ever imported inside a Locust process.

These modules import gevent and Locust, which monkey-patch the standard library; the main
hpalab process must never import them (it talks to them through :mod:`hpalab.load.driver`).
"""
