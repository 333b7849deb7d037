"""How `hpalab explain` shows the Kubernetes version it decided like."""

from __future__ import annotations

from typing import Any

from rich.console import Console


def print_versions(kube: dict[str, Any], data: dict[str, Any], console: Console) -> None:
    """The version line and, for --kubernetes-version, what differs from the spec's version
    and how the other version decides this sync where it decides differently."""
    gates = ", ".join(f"{k}={'on' if v else 'off'}" for k, v in kube["gates"].items())
    console.print(f"[bold]Kubernetes {kube['version']}[/bold] ({gates})", highlight=False)
    other = kube.get("compared_with")
    if other is None:
        return
    console.print(f"[bold]Against {other['version']}[/bold]:", highlight=False)
    for line in other["differences"] or ["no HPA behaviour the engine models differs"]:
        console.print(f"  {line}", highlight=False)
    mine = {(c["type"], c["status"], c["reason"]) for c in data["conditions"]}
    theirs = [c for c in other["conditions"] if (c["type"], c["status"], c["reason"]) not in mine]
    if other["desired_replicas"] == data["desired_replicas"] and not theirs:
        console.print("  this sync decides the same in both versions", highlight=False)
        return
    if other["desired_replicas"] != data["desired_replicas"]:
        console.print(
            f"  in {other['version']}: desired replicas {other['desired_replicas']}",
            highlight=False,
        )
    for c in theirs:
        console.print(f"  in {other['version']}: {c['type']}={c['status']} {c['reason']}")
