from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import timezone

from doudi.accounts import lockout
from doudi.accounts.models import User


class LoginForm(AuthenticationForm):
    """The password step; a locked account is refused before its password is even tried, and
    one client address may try only so many times a minute (accounts.lockout)."""

    error_messages = {
        "invalid_login": "用户名或密码错误",
        "inactive": "该账号已停用",
    }

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "用户名"
        self.fields["password"].label = "密码"

    def clean(self) -> dict:
        ip = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        if not lockout.address_allowed(ip):
            raise ValidationError("登录尝试过于频繁，请一分钟后再试", code="rate")
        user = User.objects.filter(username=self.cleaned_data.get("username") or "").first()
        if user is not None:
            until = lockout.locked_until(user)
            if until is not None:
                raise ValidationError(
                    f"连续登录失败次数过多，账号已锁定至 {timezone.localtime(until):%H:%M}，"
                    "可稍后再试或联系系统管理员解锁", code="locked")
        try:
            return super().clean()
        except ValidationError:
            if user is not None:
                lockout.register_failure(user)
            raise
