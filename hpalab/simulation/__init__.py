"""The simulation platform: the autoscaling pipeline as a discrete-event model in virtual time.

Public API::

    from hpalab.simulation import Calibration, calibrate_from_run, simulate_experiment

    result = simulate_experiment(loaded, out_dir=Path("reports"), calibration=Calibration())

The models (``promql``, ``queueing``, ``pods``, ``metrics``, ``trial``, ``recording``,
``schedule``, ``calibration``) are pure: no clock, no I/O. ``calibrate`` reads a real run
directory and ``rundir`` writes a simulated one. See docs/simulation.md.
"""

from hpalab.simulation.calibrate import calibrate_from_run
from hpalab.simulation.calibration import Calibration
from hpalab.simulation.rundir import SimulationResult, simulate_experiment

__all__ = ["Calibration", "SimulationResult", "calibrate_from_run", "simulate_experiment"]
