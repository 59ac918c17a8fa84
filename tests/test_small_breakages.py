"""Small breakages a working day found: the first-login password page, forms a role may not
use, untranslated history, deadlines in working days."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_first_login_password_page_lists_the_rules_and_says_why_once(client,
                                                                         users) -> None:
    user = users.village_assistant
    user.must_change_password = True
    user.save()
    page = client.post("/login/", {"username": user.username, "password": PASSWORD},
                       follow=True).content.decode()
    assert page.count("管理员重置了您的口令") == 1, page
    rules = re.search(r'<ul class="small" id="password-rules">(.*?)</ul>', page, re.S).group(1)
    assert "[" not in rules and "'" not in rules
    assert len(re.findall(r"<li>[^<]+</li>", rules)) >= 2
