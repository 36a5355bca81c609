"""Why an event failed to apply: its own data, the database's state, or something unexplained.

- A data error is deterministic: applying the same event again fails the same way, so it is
  dead-lettered at the first attempt and its projection moves on in the same pass.
- A transient error is the database's or the connection's, not the event's: the pass pauses and
  is tried again with the usual backoff, and the event is never dead-lettered for it.
- Anything else (a bug in a projection, say) gets one retry, then is dead-lettered, so an event of
  one tenant holds the others back by one retry interval at most.
"""

from __future__ import annotations

from enum import Enum

import asyncpg
from pydantic import ValidationError

# Failures of the database or the connection, not of the event: retried, never counted.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,  # TimeoutError and ConnectionError included
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.TransactionRollbackError,  # deadlocks, serialization failures
    asyncpg.InvalidCachedStatementError,
    asyncpg.OperatorInterventionError,  # statement timeouts (QueryCanceledError), shutdowns
    asyncpg.InsufficientResourcesError,
    asyncpg.ObjectNotInPrerequisiteStateError,
    asyncpg.IdleInTransactionSessionTimeoutError,
    asyncpg.UndefinedTableError,  # a rebuild swapping tables in
)

# What the event carries and a projection or its tables cannot hold. Checked before TRANSIENT:
# asyncpg's client-side DataError (a parameter it cannot encode) is also an InterfaceError.
DATA: tuple[type[BaseException], ...] = (
    ValidationError,
    ValueError,  # UnicodeError and asyncpg's client-side DataError included
    OverflowError,
    TypeError,
    KeyError,
    asyncpg.DataError,  # SQLSTATE class 22: overflows, truncations, untranslatable text
    asyncpg.IntegrityConstraintViolationError,  # class 23: a projection's own constraints
)


# Attempts at an event failing for an unexplained reason: the first and one retry.
UNEXPLAINED_ATTEMPTS = 2


class Kind(Enum):
    DATA = "data"
    TRANSIENT = "transient"
    UNEXPLAINED = "unexplained"


def classify(exc: BaseException) -> Kind:
    """Whose fault a failure to apply an event is."""
    if isinstance(exc, DATA):
        return Kind.DATA
    if isinstance(exc, TRANSIENT):
        return Kind.TRANSIENT
    return Kind.UNEXPLAINED
