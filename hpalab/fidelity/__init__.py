"""``hpalab fidelity``: hpalab's engines against the real components, on the same inputs.

``running`` runs a scenario on ``hpalab cluster`` (the real HPA controller, the scripted
metrics ``backend``, the watches of ``recording``); ``replay`` feeds what the controller saw
through the engine, sync by sync, and compares the decisions.
"""
