"""pytest fixtures for Chalk's end-to-end tests (see chalk_harness.py).

    def test_something(server):            # a fresh chalk-server per test
        assert server.client().ping()

    def test_other(server_factory):        # servers with extra config
        srv = server_factory(requirepass="secret", appendfsync="always")
"""
import pytest

from chalk_harness import start_server


@pytest.fixture
def server():
    with start_server() as srv:
        yield srv


@pytest.fixture
def server_factory():
    started = []

    def make(**config):
        ctx = start_server(**config)
        srv = ctx.__enter__()
        started.append(ctx)
        return srv

    yield make
    errors = []
    for ctx in reversed(started):
        try:
            ctx.__exit__(None, None, None)
        except AssertionError as e:
            errors.append(e)
    if errors:
        raise errors[0]
