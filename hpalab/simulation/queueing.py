"""A replica as a queue: ``c`` worker slots, a FIFO queue with a limit, a service time.

This is how the sample app with ``spec.app.concurrency`` behaves (and a thread-pool server in
general): a request takes the first free slot; when every slot is busy it waits in line; when
``queue_limit`` requests already wait it is refused at once (HTTP 503). With ``c = 1`` and
exponential service it is M/M/1/K, with a constant service time M/D/1/K (Poisson arrivals).

Service in arrival order on ``c`` slots follows the Kiefer–Wolfowitz recursion: request ``k``
starts at ``max(arrival_k, earliest slot free time)`` and holds that slot for its service
time. Start times never decrease, so the requests waiting at time ``t`` are those accepted
with a start after ``t``. Pure code; the random generator is passed in.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceTime:
    """How long a request holds its slot (seconds).

    ``mean_s`` alone is a constant; ``exponential`` draws from an exponential distribution of
    that mean; ``samples`` (a calibrated empirical distribution) draws uniformly from them.
    """

    mean_s: float
    exponential: bool = False
    samples: tuple[float, ...] = ()

    def draw(self, rng: random.Random) -> float:
        if self.samples:
            return self.samples[int(rng.random() * len(self.samples))]
        if self.exponential:
            return rng.expovariate(1.0 / self.mean_s)
        return self.mean_s


class ReplicaQueue:
    """The worker slots and waiting line of one replica.

    ``concurrency`` None means no slot limit (every request starts at once).
    """

    __slots__ = (
        "_constant",
        "_free",
        "_limit",
        "_service",
        "_waiting",
        "busy_s",
        "last_done_s",
        "served",
    )

    def __init__(
        self, *, concurrency: int | None, queue_limit: int | None, service: ServiceTime
    ) -> None:
        self._free: list[float] | None = None if concurrency is None else [-math.inf] * concurrency
        self._limit = queue_limit
        self._service = service
        self._constant = None if service.exponential or service.samples else service.mean_s
        self._waiting: deque[float] = deque()
        self.busy_s = 0.0
        """Total service time of the accepted requests (slot-seconds)."""
        self.served = 0
        """Accepted requests."""
        self.last_done_s = -math.inf
        """When the last accepted request completes."""

    def offer(self, arrival_s: float, rng: random.Random) -> float | None:
        """Completion time of a request arriving at ``arrival_s``, or None when refused."""
        served: list[float] = []
        done: list[float] = []
        self.offer_many([arrival_s], rng, served=served, done=done, refused=[])
        return done[0] if done else None

    def offer_many(
        self,
        arrivals: list[float],
        rng: random.Random,
        *,
        served: list[float],
        done: list[float],
        refused: list[float],
    ) -> None:
        """Offer requests arriving at ``arrivals`` (in time order, after any offered before).

        Appends the arrival and completion time of each accepted request to ``served`` and
        ``done``, and the arrival of each refused one to ``refused``. One call per batch keeps
        the per-request cost to a few list operations (thousands of trials are simulated).
        """
        waiting, free = self._waiting, self._free
        limit = math.inf if self._limit is None else self._limit
        constant, draw = self._constant, self._service.draw
        if free is None and constant is not None and arrivals:
            # no slot limit and a constant service: nothing ever waits
            served.extend(arrivals)
            done.extend([a + constant for a in arrivals])
            self.busy_s += constant * len(arrivals)
            self.served += len(arrivals)
            self.last_done_s = max(self.last_done_s, done[-1])
            return
        busy, count, last = 0.0, 0, self.last_done_s
        for a in arrivals:
            while waiting and waiting[0] <= a:
                waiting.popleft()
            if len(waiting) >= limit:
                refused.append(a)
                continue
            service = constant if constant is not None else draw(rng)
            busy += service
            count += 1
            if free is None:
                finish = a + service
            else:
                earliest = min(free)
                slot = free.index(earliest)
                start = earliest if earliest > a else a
                if start > a:
                    waiting.append(start)
                finish = free[slot] = start + service
            last = max(last, finish)
            served.append(a)
            done.append(finish)
        self.busy_s += busy
        self.served += count
        self.last_done_s = last

    def waiting_at(self, t_s: float) -> int:
        """Requests waiting for a slot at ``t_s`` (not before the last arrival offered)."""
        return sum(1 for start in self._waiting if start > t_s)
