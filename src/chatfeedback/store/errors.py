"""Database errors as StoreError: one wrapper for functions and generators alike.

    @db_errors
    def iter_rows(store): ...   # an error while the caller iterates is a StoreError too

Every query of the store goes through :func:`db_errors` (or raises
:func:`database_error` itself), so that a driver's error reaches the user as one line
(``database error: ...``), never as a traceback, and is never swallowed.
"""

from __future__ import annotations

import functools
import inspect
import sqlite3
import sys
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar, cast

from sqlalchemy.exc import SQLAlchemyError

from ..errors import StoreError

P = ParamSpec("P")
T = TypeVar("T")


def is_driver_error(exc: BaseException) -> bool:
    """SQLAlchemy's errors and those of the DBAPI drivers read directly (raw cursors);
    psycopg's only once something loaded it (it is an optional extra)."""
    if isinstance(exc, (SQLAlchemyError, sqlite3.Error)):
        return True
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.Error)


def database_error(exc: BaseException) -> StoreError:
    """A driver's error (SQLAlchemy's, or a DBAPI's own) as a one-line StoreError."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return StoreError(f"database error: {reason[0] if reason else type(exc).__name__}")


def db_errors(function: Callable[P, T]) -> Callable[P, T]:
    """Turn driver errors raised by ``function`` into StoreError. For a generator function
    this covers the iteration too: its queries run only when the caller asks for rows."""
    if inspect.isgeneratorfunction(function):
        @functools.wraps(function)
        def generator(*args: P.args, **kwargs: P.kwargs) -> Iterator[Any]:
            try:
                yield from cast(Iterator[Any], function(*args, **kwargs))
            except Exception as exc:
                if is_driver_error(exc):
                    raise database_error(exc) from exc
                raise

        return cast(Callable[P, T], generator)

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            if is_driver_error(exc):
                raise database_error(exc) from exc
            raise

    return wrapper
