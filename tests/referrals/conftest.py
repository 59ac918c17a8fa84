from __future__ import annotations

import pytest

from doudi.accounts.services import create_user
from doudi.audit import context
from tests.conftest import DISTRICT, PASSWORD


def department_account(username: str, department: str, area_code: str = DISTRICT):
    with context.job("test department account"):
        user = create_user(username=username, password=PASSWORD, area_code=area_code,
                           roles=["department"])
        user.department = department
        user.save()
    return user


@pytest.fixture
def yibao(world):
    """屯溪区医保局's account."""
    return department_account("yibao", "医保")
