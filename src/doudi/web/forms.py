from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from doudi.accounts import lockout
from doudi.accounts.client_address import client_address
from doudi.accounts.models import User
from doudi.audit import context
from doudi.audit import services as audit
from doudi.audit.models import AuditEvent


class LoginForm(AuthenticationForm):
    """The password step; one client address may try only so many times a minute, and a
    locked account is refused whatever the password — with the same words as a wrong password
    or an unknown name, and after the same password hashing, so the answer tells nobody which
    user names exist or are locked (accounts.lockout)."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "用户名"
        self.fields["password"].label = "密码"
        refused = lockout.refused_message()
        self.error_messages = {**self.error_messages, "invalid_login": refused,
                               "inactive": refused}

    def clean(self) -> dict:
        if not lockout.address_allowed(client_address(self.request)):
            raise ValidationError("登录尝试过于频繁，请一分钟后再试", code="rate")
        user = User.objects.filter(username=self.cleaned_data.get("username") or "").first()
        locked = user is not None and lockout.locked_until(user) is not None
        try:
            cleaned = super().clean()  # hashes the password for every name, known or not
        except ValidationError:
            if user is not None:
                lockout.register_failure(user)
            raise
        if locked:  # the right password of a locked account: refused as a wrong one
            self.user_cache = None
            audit.record(AuditEvent.LOGIN_FAILED, object_type="accounts.user",
                         object_id=user.pk, object_label=f"用户 {user.username}（账号锁定中）",
                         area_code=user.area_id or "",
                         actor=context.as_user(user, ip=client_address(self.request)))
            raise ValidationError(lockout.refused_message(), code="invalid_login")
        return cleaned
