"""The in-process API of the integration tests, for the RADIUS tests."""

from tests.integration.conftest import app_transport, client_for, settings

__all__ = ["app_transport", "client_for", "settings"]
