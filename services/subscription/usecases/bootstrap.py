"""Wiring: the use cases over one pool, built once per process in the app's lifespan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from services.subscription.access.auth import Authenticator
from services.subscription.usecases.account import Account
from services.subscription.usecases.billing import Billing
from services.subscription.usecases.calls import Runner
from services.subscription.usecases.directory import Directory
from services.subscription.usecases.plans import Plans
from services.subscription.usecases.radius import Radius
from services.subscription.usecases.subscriptions import Subscriptions
from services.subscription.write.credentials import Credentials
from services.subscription.write.eventstore import EventStore
from services.subscription.write.handlers import Handlers
from services.subscription.write.unique_ids import UniqueIds


@dataclass(frozen=True)
class UseCases:
    """Everything the entry points call: who a token is, and every command by its use case."""

    auth: Authenticator
    directory: Directory
    subscriptions: Subscriptions
    account: Account
    plans: Plans
    billing: Billing
    radius: Radius


def bootstrap(
    pool: asyncpg.Pool,
    development_token: str | None = None,
    on_appended: Callable[[], None] | None = None,
) -> UseCases:
    """The use cases over the event store of `pool`; `on_appended` runs after each commit."""
    store = EventStore(pool)
    handlers = Handlers(store, on_appended)
    runner = Runner(store, handlers)
    return UseCases(
        auth=Authenticator(pool, development_token),
        directory=Directory(runner),
        subscriptions=Subscriptions(runner, handlers, UniqueIds(pool)),
        account=Account(runner),
        plans=Plans(runner),
        billing=Billing(runner, pool),
        radius=Radius(runner, handlers, Credentials(pool)),
    )
