"""Take an application through the workflow's steps, each by the role the table names (a
helper for tests whose subject comes at or after the decision)."""

from __future__ import annotations

import datetime as dt

from doudi.casework import services
from doudi.casework.models import Application


def to_decision(users, app: Application, day: dt.date) -> Application:
    """入户调查 → 核对 → 初审 → (公示): the application waits for 审批, on `app.decision_day`."""
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
    app.decision_day = day
    return app


def approve(users, app: Application) -> Application:
    """审批 by the town approver where delegated, the district approver otherwise."""
    day = app.decision_day
    approver = users.town_approver if services.delegated(app, day) else users.district_approver
    return services.act(by=approver, application=app, action="approve", opinion="同意", day=day)


def approve_through(users, app: Application, day: dt.date) -> Application:
    """The whole way to the 书面通知 of an approval."""
    app = approve(users, to_decision(users, app, day))
    return services.act(by=users.town_officer, application=app, action="issue_notice",
                        day=app.decided_on)
