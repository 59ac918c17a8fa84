"""Take an application through every step to its approval notice, each by the role the
workflow table names (a helper for tests whose subject comes after the decision)."""

from __future__ import annotations

import datetime as dt

from doudi.casework import services
from doudi.casework.models import Application


def approve_through(users, app: Application, day: dt.date) -> Application:
    """入户调查 → 核对 → 初审 → (公示) → 审批 → 书面通知, the approver as delegated."""
    app = services.act(by=users.village_assistant, application=app, action="record_visit",
                       data={"members_present": "户主", "living_conditions": "平房"}, day=day)
    app = services.act(by=users.town_officer, application=app, action="complete_verification",
                       day=day)
    app = services.act(by=users.town_officer, application=app, action="town_opinion",
                       opinion="符合条件", data={"recommendation": "eligible"}, day=day)
    if app.state == "publicity":
        day = app.publicity_ends_on
        app = services.act(by=users.town_officer, application=app, action="close_publicity",
                           day=day)
    approver = users.town_approver if services.delegated(app, day) else users.district_approver
    app = services.act(by=approver, application=app, action="approve", opinion="同意", day=day)
    return services.act(by=users.town_officer, application=app, action="issue_notice", day=day)
