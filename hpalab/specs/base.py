"""The base of every spec model: strict, camelCase in YAML, unknown keys refused."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

API_VERSION = "hpalab/v1"


class SpecModel(BaseModel):
    """Strict model: YAML keys are camelCase (like Kubernetes), unknown keys are errors."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
    )

    def to_yaml_dict(self) -> dict[str, Any]:
        """The model as YAML-ready data: camelCase keys, durations as strings, no nulls."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Metadata(SpecModel):
    """``metadata`` of a spec file."""

    name: str = Field(
        min_length=1,
        max_length=63,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="name of the experiment or profile: lower-case letters, digits and '-' "
        "(a Kubernetes DNS label), used in run directory names and resource labels",
    )
    description: str | None = Field(None, description="free text shown in reports")
    labels: dict[str, str] = Field(
        default_factory=dict, description="free key/value labels recorded in the manifest"
    )


class Header(SpecModel):
    """The fields every hpalab file starts with."""

    api_version: Literal["hpalab/v1"] = Field(description="always hpalab/v1", alias="apiVersion")
    kind: str = Field(description="Experiment or LoadProfile")
    metadata: Metadata = Field(description="name and labels")
