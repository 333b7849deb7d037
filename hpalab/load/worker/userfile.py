"""The user's locustfile inside a load process: its User class, its tasks by weight, and
the outcome of one task as hpalab counts it.

A task is hpalab's unit of load when a locustfile is given: in the open model each scheduled
arrival runs one task (chosen by the task weights, in a fixed interleaved order) on a pooled
user instance; in the closed model Locust's own users run the tasks and think in between.
Each task is timed from its start to its end and counted as one request: a response when
every request in it succeeded, a failure otherwise.

Imported only inside Locust processes (it imports Locust, which patches the standard
library through gevent), and by ``python -m hpalab.load.worker.inspect``.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import gevent
from locust import FastHttpUser, TaskSet, User, constant
from locust.exception import InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately

from hpalab.load.arrivals import EndpointCycle
from hpalab.load.job import LoadJob
from hpalab.load.recording import Recorder
from hpalab.specs.loadsettings import Endpoint

MARKED_FAILED = 599
"""Status of a task a locustfile marked failed although its response was not an error."""


class LocustfileError(Exception):
    """A locustfile that cannot be used, at ``line`` of ``file`` when known."""

    def __init__(self, message: str, *, file: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.file, self.line = message, file, line


def import_locustfile(path: str) -> ModuleType:
    """Import ``path`` as Locust imports a locustfile (its directory on ``sys.path``).

    Raises:
        LocustfileError: a missing file, or an error while importing it, at its line.
    """
    file = Path(path)
    if not file.is_file():
        raise LocustfileError("file not found", file=path)
    spec = importlib.util.spec_from_file_location(f"locustfile_{file.stem}", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(file.parent))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        message = f"SyntaxError: {error.msg}"
        raise LocustfileError(message, file=path, line=error.lineno) from None
    except Exception as error:  # whatever the user's module raises while importing
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == str(file)]
        line = frames[-1].lineno if frames else None
        message = f"{type(error).__name__}: {error}"
        raise LocustfileError(message, file=path, line=line) from None
    return module


def find_user_class(module: ModuleType, name: str | None, *, file: str) -> type[User]:
    """The User class ``name`` of ``module``, or its only non-abstract User class."""
    found = {
        key: value
        for key, value in vars(module).items()
        if inspect.isclass(value) and issubclass(value, User) and not value.abstract
    }
    names = ", ".join(sorted(found)) or "none"
    if name is not None:
        if name not in found:
            raise LocustfileError(f"no User class {name!r} (its User classes: {names})", file=file)
        return found[name]
    if len(found) != 1:
        raise LocustfileError(
            f"{len(found)} User classes ({names}): name the one to run in spec.load.userClass",
            file=file,
        )
    return next(iter(found.values()))


@dataclass(frozen=True)
class TaskTable:
    """A User class's tasks: names, callables and weights, in the class's order."""

    names: tuple[str, ...]
    functions: tuple[Callable[[Any], Any], ...]
    weights: tuple[int, ...]

    @classmethod
    def of(cls, user_class: type[User], *, file: str) -> TaskTable:
        """The tasks of ``user_class`` (``@task`` methods or a ``tasks`` list or dict)."""
        names: list[str] = []
        functions: list[Callable[[Any], Any]] = []
        weights: list[int] = []
        listed: list[Any] = list(user_class.tasks)
        for task in listed:
            if inspect.isclass(task) and issubclass(task, TaskSet):
                raise LocustfileError(
                    f"{user_class.__name__} has a TaskSet task ({task.__name__}); hpalab runs "
                    "@task methods and functions: move its tasks onto the User class",
                    file=file,
                )
            if task in functions:
                weights[functions.index(task)] += 1  # Locust lists a task once per weight
                continue
            functions.append(task)
            names.append(getattr(task, "__name__", repr(task)))
            weights.append(1)
        if not functions:
            raise LocustfileError(f"{user_class.__name__} has no tasks", file=file)
        return cls(tuple(names), tuple(functions), tuple(weights))

    @classmethod
    def of_endpoints(cls, endpoints: tuple[Endpoint, ...]) -> TaskTable:
        """One task per endpoint (a request to its path), weighted as the endpoint."""

        def request(endpoint: Endpoint) -> Callable[[Any], Any]:
            return lambda user: user.client.request(
                endpoint.method, endpoint.path, name=endpoint.path
            )

        return cls(
            tuple(f"{e.method} {e.path}" for e in endpoints),
            tuple(request(e) for e in endpoints),
            tuple(e.weight for e in endpoints),
        )

    def cycle(self) -> EndpointCycle:
        """Task ``k`` of an arrival sequence: weights interleaved, exact over a period."""
        return EndpointCycle.from_weights(list(self.weights))


@dataclass(frozen=True)
class UserFile:
    """The User class a job's locustfile names, and its tasks."""

    user_class: type[User]
    tasks: TaskTable

    @classmethod
    def of(cls, job: LoadJob) -> UserFile | None:
        """The job's locustfile (``None`` without one); raises :class:`LocustfileError`."""
        if job.locustfile is None:
            return None
        module = import_locustfile(job.locustfile)
        user_class = find_user_class(module, job.user_class, file=job.locustfile)
        return cls(user_class, TaskTable.of(user_class, file=job.locustfile))

    def user(self, environment: Any, host: str) -> User:
        """A new instance of the User class, sending to ``host``."""
        self.user_class.host = host
        return self.user_class(environment)


def mean_wait_s(user_class: type[User], *, samples: int = 2000) -> float | None:
    """The mean of the class's ``wait_time`` (sampled), or ``None`` when it needs a running
    user (``constant_pacing``, ``constant_throughput``)."""
    stand_in = SimpleNamespace()
    try:
        values = [float(user_class.wait_time(stand_in)) for _ in range(samples)]  # type: ignore[arg-type]
    except Exception:  # a wait_time that reads the user's own state
        return None
    return sum(values) / len(values)


class TaskProbe:
    """Stands in for a client's request event: remembers how the current task's requests
    ended, instead of feeding Locust's statistics."""

    def __init__(self) -> None:
        self.status = 0
        self.failed = False

    def reset(self) -> None:
        self.status, self.failed = 0, False

    def fire(self, **meta: Any) -> None:
        response = meta.get("response")
        code = int(getattr(response, "status_code", 0) or 0)
        if meta.get("exception") is not None and not self.failed:
            self.failed = True
            self.status = code if code >= 400 or code == 0 else MARKED_FAILED
        elif not self.failed:
            self.status = code

    def outcome(self, *, raised: bool) -> int:
        """The task's status as one request: its first failure, else its last response."""
        if raised and not self.failed:
            return MARKED_FAILED if self.status else 0
        if not self.failed and self.status == 0:
            return 200  # a task without HTTP requests that did not fail
        return self.status


def probed(user: User) -> TaskProbe:
    """Install a :class:`TaskProbe` as ``user``'s client's request event (once)."""
    client = getattr(user, "client", None)
    probe = getattr(client, "request_event", None)
    if isinstance(probe, TaskProbe):
        return probe
    probe = TaskProbe()
    if client is not None:
        client.request_event = probe
    return probe


class TaskRunner:
    """Runs one task of a locustfile's user, timed and counted as one request by the load
    process's recorder (the runtime's :class:`~hpalab.load.recording.Recorder`)."""

    def __init__(self, recorder: Recorder, clock: Any) -> None:
        self.recorder, self.clock = recorder, clock
        self._errors_shown: set[str] = set()

    def run(
        self, user: User, task: Callable[[Any], Any], name: str, *, late_s: float = 0.0
    ) -> None:
        probe = probed(user)
        probe.reset()
        recorder, clock = self.recorder, self.clock
        clock.started.wait()
        started = clock.now()
        if started < 0:  # closed-model users spawn before the profile starts
            gevent.sleep(-started)
            started = clock.now()
        recorder.sent(started, max(0.0, late_s))
        raised = False
        try:
            task(user)
        except (RescheduleTask, RescheduleTaskImmediately, InterruptTaskSet):
            pass  # Locust's own control flow: the task ended
        except Exception as error:  # the locustfile's task failed; counted, not fatal
            raised = True
            self._show(name, error)
        except BaseException:
            recorder.cancelled()  # the user is being stopped (closed model ramp-down)
            raise
        ended = clock.now()
        latency_ms = (ended - started) * 1000.0
        status = probe.outcome(raised=raised)
        recorder.ended(ended, latency_ms, status)
        recorder.task(name, ended, latency_ms, failed=status == 0 or status >= 400)

    def _show(self, name: str, error: Exception) -> None:
        kind = f"{name}: {type(error).__name__}"
        if kind not in self._errors_shown:  # once per task and error type, on stderr
            self._errors_shown.add(kind)
            print(f"task {kind}: {error}", file=sys.stderr, flush=True)


def endpoints_user_class() -> type[User]:
    """A FastHttpUser for the closed model without a locustfile (tasks from endpoints)."""
    return type("EndpointsUser", (FastHttpUser,), {"abstract": True, "concurrency": 1})


def closed_user_class(
    base: type[User],
    table: TaskTable,
    *,
    host: str,
    think_s: float | None,
    run: Callable[[User, Callable[[Any], Any], str], None],
) -> type[User]:
    """``base`` with each task run through ``run(user, task, name)`` (which times and counts
    it) and, with ``think_s``, a constant think time instead of its ``wait_time``."""

    def recorded(task: Callable[[Any], Any], name: str) -> Callable[[Any], None]:
        def task_of(user: User) -> None:
            run(user, task, name)

        task_of.__name__ = name
        return task_of

    tasks: list[Any] = [
        recorded(task, name)
        for task, name, weight in zip(table.functions, table.names, table.weights, strict=True)
        for _ in range(weight)
    ]
    attrs: dict[str, Any] = {"tasks": tasks, "host": host, "abstract": False}
    if think_s is not None:
        attrs["wait_time"] = constant(think_s)
    user_class: type[User] = type("ClosedModelUser", (base,), attrs)
    user_class.tasks = tasks  # Locust's metaclass also adds the base's own, unrecorded tasks
    return user_class
