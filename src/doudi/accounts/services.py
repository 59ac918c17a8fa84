"""Account services: creating users with their area and roles (audited through the models)."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from doudi.accounts.models import User, UserRole
from doudi.accounts.roles import ROLES
from doudi.areas.models import Area


@transaction.atomic
def create_user(*, username: str, password: str, area_code: str, roles: list[str],
                full_name: str = "") -> User:
    area = Area.objects.filter(code=area_code.ljust(12, "0")).first()
    if area is None:
        raise ValidationError(f"区划 {area_code} 不存在")
    for code in roles:
        role = ROLES.get(code)
        if role is None:
            raise ValidationError(f"未知角色 {code}；可选: {', '.join(ROLES)}")
        if area.level not in role.levels:
            raise ValidationError(f"角色 {role.label} 不能设在{area.level_label}级区划")
    if not roles:
        raise ValidationError("至少指定一个角色")
    if User.objects.filter(username=username).exists():
        raise ValidationError(f"用户名 {username} 已存在")
    user = User(username=username, area=area, full_name=full_name)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    for code in roles:
        UserRole.objects.create(user=user, role=code)
    return user
