"""``hpalab tune``: search spec fields in simulation, keep the Pareto front, confirm for real."""
