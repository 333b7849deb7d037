"""Locust and gevent never enter the main process."""

import subprocess
import sys

CHECK = """
import sys
import hpalab.cli.main, hpalab.cli.load, hpalab.load, hpalab.load.driver
bad = sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent'))
print(','.join(bad))
"""


def test_importing_the_cli_and_driver_does_not_import_locust_or_gevent():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_locust_modules_do_import_locust():
    # The check above can fail: the worker side really does pull Locust in.
    code = "import sys, hpalab.load.worker.runtime; print('gevent' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
