"""One way to print a benchmark result: figure, baseline from the same run, ratio, target."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Result:
    """A measured figure next to the baseline measured in the same run."""

    name: str
    figure: float
    unit: str
    baseline_name: str
    baseline: float
    target: str
    met: bool

    @property
    def ratio(self) -> float:
        return self.figure / self.baseline if self.baseline else float("inf")


def machine() -> str:
    """A one-line description of the machine the figures were measured on."""
    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}"


def emit(result: Result) -> None:
    """Print a human line and a JSON line (for the README table) for one result."""
    status = "MET" if result.met else "NOT MET"
    print(
        f"{result.name}: {result.figure:,.4g} {result.unit} | baseline ({result.baseline_name}) "
        f"{result.baseline:,.4g} {result.unit} | ratio {result.ratio:,.3g} | target {result.target} | {status}"
    )
    print("RESULT " + json.dumps({**asdict(result), "ratio": result.ratio, "machine": machine()}))


class Hog:
    """A CPU hog on another core for the duration of a `with` block (what survives load)."""

    def __enter__(self) -> Hog:
        self.proc = subprocess.Popen([sys.executable, "-c", "while 1: pass"])
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()


def load() -> str:
    """The machine's load average over the last minute, for the figures' context."""
    return f"load average {os.getloadavg()[0]:.1f}"


def span(values: list[float], fmt: str = "{:.4f}") -> str:
    """A range of repeated figures, `low-high` (one number when they agree)."""
    return fmt.format(min(values)) if min(values) == max(values) else f"{fmt.format(min(values))}-{fmt.format(max(values))}"
