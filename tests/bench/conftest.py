"""The benchmark test is marked `bench`: `make test PYTEST_ARGS='-m "not bench"'` leaves it out."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "bench: runs the benchmark suite at its quick size")
