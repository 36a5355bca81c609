"""How FreeRADIUS (3.2, Debian's `freeradius`) runs on the radius read model: its settings,
the variables its configuration names, its command line.

FreeRADIUS answers routers from PostgreSQL alone (the radius schema this service keeps, the
subscription service's credentials), so logins go on while the API is down. Its configuration
is the project's (deploy/freeradius); it runs as `freeradius -f -l stdout -d <dir>`, in the
foreground under supervisor.py. Not -X: debug output prints passwords.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from pydantic import Field

from plumbing.settings import ServiceSettings

log = logging.getLogger(__name__)

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "freeradius"


class RadiusSettings(ServiceSettings):
    auth_port: int = Field(1812, alias="WISPGATE_RADIUS_AUTH_PORT", ge=1, le=65535)
    acct_port: int = Field(1813, alias="WISPGATE_RADIUS_ACCT_PORT", ge=1, le=65535)
    address: str = Field("*", alias="WISPGATE_RADIUS_ADDRESS")
    # The walled garden of a Suspended subscription's login: the router's address list that
    # reaches only the payment portal, and the rate (MikroTik rx/tx, i.e. upload/download).
    walled_garden_list: str = Field(
        "walled-garden", alias="WISPGATE_RADIUS_WALLED_GARDEN_LIST", pattern=r"^[\w.-]{1,64}$"
    )
    suspended_rate: str = Field(
        "256k/256k", alias="WISPGATE_RADIUS_SUSPENDED_RATE", pattern=r"^[0-9kKmMgG/ .]{1,80}$"
    )
    config_dir: Path = Field(CONFIG, alias="WISPGATE_RADIUS_CONFIG_DIR")
    # Where FreeRADIUS keeps its pid file; a temporary folder of its own by default.
    state_dir: Path | None = Field(None, alias="WISPGATE_RADIUS_STATE_DIR")
    binary: str = Field("freeradius", alias="WISPGATE_RADIUS_BINARY")
    # Seconds between looks at the NAS registry (a change restarts FreeRADIUS); 0: never.
    clients_poll: float = Field(5.0, alias="WISPGATE_RADIUS_CLIENTS_POLL", ge=0)
    # Seconds before FreeRADIUS is started again after it exited (PostgreSQL away at start).
    restart_delay: float = Field(2.0, alias="WISPGATE_RADIUS_RESTART_DELAY", gt=0)


def connection_string(dsn: str) -> tuple[str, str | None]:
    """DATABASE_URL as libpq takes it from rlm_sql's radius_db (a URI with a query: rlm_sql
    passes a value holding `=` to libpq as it is), without its password, which FreeRADIUS
    would log at start; the password goes to libpq through PGPASSWORD."""
    parts = urlsplit(dsn)
    query = dict(parse_qsl(parts.query))
    query.setdefault("application_name", "wispgate-radius")
    password = None if parts.password is None else unquote(parts.password)
    netloc = parts.netloc.rpartition("@")
    if password is not None:
        user = netloc[0].partition(":")[0]
        parts = parts._replace(netloc=f"{user}@{netloc[2]}")
    return urlunsplit(parts._replace(query=urlencode(query))), password


def environment(settings: RadiusSettings, state_dir: Path) -> dict[str, str]:
    """The variables deploy/freeradius names, beside the process's own."""
    database, password = connection_string(settings.dsn)
    secret = {"PGPASSWORD": password} if password is not None else {}
    return {
        **os.environ,
        **secret,
        "WISPGATE_RADIUS_DB": database,
        "WISPGATE_RADIUS_AUTH_PORT": str(settings.auth_port),
        "WISPGATE_RADIUS_ACCT_PORT": str(settings.acct_port),
        "WISPGATE_RADIUS_ADDRESS": settings.address,
        "WISPGATE_RADIUS_WALLED_GARDEN_LIST": settings.walled_garden_list,
        "WISPGATE_RADIUS_SUSPENDED_RATE": settings.suspended_rate,
        "WISPGATE_RADIUS_CONFIG_DIR": str(settings.config_dir),
        "WISPGATE_RADIUS_STATE_DIR": str(state_dir),
    }


def command(settings: RadiusSettings, binary: str) -> list[str]:
    """FreeRADIUS in the foreground, logging to stdout, with the project's configuration."""
    return [binary, "-f", "-l", "stdout", "-d", str(settings.config_dir)]


def installed(settings: RadiusSettings) -> str | None:
    """FreeRADIUS's binary, or None (logged: `make radius` installs it)."""
    binary = shutil.which(settings.binary)
    if binary is None:
        log.error(
            "FreeRADIUS is not installed (make radius installs it); no RADIUS answers",
            extra={"binary": settings.binary},
        )
    return binary
