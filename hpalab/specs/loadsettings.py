"""``spec.load``: what the load sends and how, in the open or the closed user model."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from hpalab.specs.base import SpecModel
from hpalab.specs.profiles import AnyStage, Arrivals, LevelStage, Stage
from hpalab.specs.units import Duration


class Endpoint(SpecModel):
    """A request the load sends, with its share of the traffic."""

    path: str = Field("/", pattern=r"^/", description="URL path, starting with /")
    method: Literal["GET", "POST", "PUT", "DELETE"] = Field("GET", description="HTTP method")
    weight: int = Field(1, ge=1, description="relative share of requests")


class LoadSettings(SpecModel):
    """The offered load: a profile (by file or inline) and how it is delivered."""

    profile: str | None = Field(
        None, description="a LoadProfile file, relative to the experiment file"
    )
    stages: list[Stage] | None = Field(
        None, min_length=1, description="inline stages instead of a profile file"
    )
    arrivals: Arrivals | None = Field(None, description="default: the profile's arrivals")
    model: Literal["open", "closed"] = Field(
        "open",
        description="open: the profile's requests/s arrive regardless of responses; closed: "
        "the stages give users (users: instead of rps:), each waits for its response, then "
        "thinks",
    )
    think_time: Duration | None = Field(
        None,
        ge=0,
        description="closed model: wait between a user's tasks (> 0); default: the "
        "locustfile's wait_time",
    )
    locustfile: str | None = Field(
        None,
        description="your locustfile, relative to the experiment file: each arrival (open "
        "model) or each user (closed model) runs the tasks of its User class, by their weights",
    )
    user_class: str | None = Field(
        None, description="the User class of the locustfile; default: its only one"
    )
    endpoints: list[Endpoint] = Field(
        default_factory=lambda: [Endpoint()],
        min_length=1,
        description="requests to send, with weights",
    )
    workers: int = Field(
        0, ge=0, le=64, description="Locust worker processes; 0 = one process, no master"
    )
    timeout: Duration = Field(10.0, gt=0, description="request timeout; a timed-out request fails")
    shortfall_tolerance: float = Field(
        0.05, gt=0, lt=1, description="achieved vs offered tolerance over any 10 s window"
    )

    @model_validator(mode="after")
    def _one_source(self) -> LoadSettings:
        if (self.profile is None) == (self.stages is None):
            raise ValueError("give exactly one of profile (a file) or stages (inline)")
        if self.user_class is not None and self.locustfile is None:
            raise ValueError("userClass needs a locustfile (the file that defines the class)")
        if self.locustfile is not None and self.endpoints != [Endpoint()]:
            raise ValueError(
                "endpoints and locustfile are both set: the locustfile's tasks choose the "
                "requests; remove endpoints"
            )
        if self.model == "open" and self.think_time:  # 0s: what older lock files write
            raise ValueError("thinkTime is for the closed model: set model: closed or remove it")
        if self.model == "closed" and self.think_time == 0:
            raise ValueError(
                "thinkTime must be > 0 in the closed model: users that never think measure "
                "only how fast the app answers"
            )
        if self.model == "closed" and self.think_time is None and self.locustfile is None:
            raise ValueError(
                "the closed model needs a think time: set thinkTime (or a locustfile whose "
                "User class has a wait_time)"
            )
        # the stages' unit against the model is checked where the stage's line is known:
        # hpalab.cli.specfiles.load_problems
        return self


def stage_unit_problem(stage: AnyStage, model: str) -> str | None:
    """Why ``stage`` does not fit the load ``model`` (levels in rps for open, users for
    closed), or ``None``."""
    if not isinstance(stage, LevelStage) or stage.rps is None:
        return None  # ramp, sine, trace and a bare hold give numbers in either unit
    if model == "closed" and not stage.in_users:
        return (
            f"a {stage.type} stage in requests/s, but the closed model's stages are in users: "
            "write users: instead of rps:"
        )
    if model == "open" and stage.in_users:
        return f"a {stage.type} stage in users: set spec.load.model: closed, or write rps:"
    return None
