import pytest

from doudi.audit import context


@pytest.fixture(autouse=True)
def _system_actor():
    """Each test starts (and ends) with the system as the audit actor."""
    with context.acting(context.SYSTEM):
        yield
