"""What every CLI command needs: the settings, a unit of work, and turning domain errors into exit status 2."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from fulfil.config import Settings, get_settings
from fulfil.db import make_engine, make_session_factory, unit_of_work
from fulfil.errors import FulfilError


@contextmanager
def session_for(settings: Settings | None = None) -> Iterator[Session]:
    """A committed-at-the-end session on the configured database."""
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def reporting_errors(handler: Callable[[Any], int]) -> Callable[[Any], int]:
    """Wrap a handler so a domain error prints its message on stderr and exits 2, with no traceback."""

    def run(args: Any) -> int:
        try:
            return handler(args)
        except FulfilError as exc:
            print(f"fulfil: error: {exc.message}", file=sys.stderr)
            if exc.details:
                print(f"fulfil: details: {exc.details}", file=sys.stderr)
            return 2

    return run
