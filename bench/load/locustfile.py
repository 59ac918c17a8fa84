"""A working morning of a district (屯溪区) against `doudi serve`: a locust scenario.

Prepare the database and the accounts first (bench/load/prepare.py, or
bench/load/prepare_province.py for a province with city and province staff too), serve it,
then:

    DOUDI_LOAD_DATA=/tmp/doudi-load-data locust -f bench/load/locustfile.py --headless \
        -H http://127.0.0.1:8000 -u 50 -r 5 -t 10m --csv /tmp/doudi-load-run

Who works (weights = accounts prepare.py makes: 28 + 14 + 8 = 50 users):

- 村协理员 VillageAssistant (28): household list, search by name and by full ID, open a
  household, the care task list, the visit form and a visit recorded through it (CSRF);
- 镇街经办/审批 TownStaff (14): the application work queue, an application opened and, where
  its step allows, advanced (核对完成, 初审意见, 批准 for approvers); the warnings assigned to the
  town, one opened and verified on site (核实); a household search;
- 区县 DistrictStaff (8): the home page, the monitoring dashboard, reports and figures, the
  payment runs, the district's warning list; once in the run a monitoring run is started
  (background worker) and its progress page polled until it ends, and once a month's roster is
  built (synchronous) and approved by another district user of the same district (双人复核),
  its page reread;
- 市 CityStaff and 省 ProvinceStaff (as many as users.json lists: prepare_province.py makes 2
  per focus city and 4 for the province, 上级监督 and 上级经办): the home page, 统计分析
  (/reports/ and its figure list) and the monitoring dashboard, each over their whole area.

Each user logs in with its own account (users.json); think time 3–10 s between pages. Every
request is named by page (`name=`), so the statistics are per page. A request fails when its
final status is not 2xx (redirects are followed), when it lands on the login page, or when a
POST answers with the page's error box (the action was refused).

Environment: DOUDI_LOAD_DATA (users.json, samples.json; default /tmp/doudi-load-data),
DOUDI_LOAD_MONITORING_AT / DOUDI_LOAD_PAYMENTS_AT: seconds after the start at which the
one-off monitoring run and payment run begin (default 120 and 240); DOUDI_LOAD_PAYMENT_MONTH
(YYYY-MM): the roster's month instead of the one the page offers; DOUDI_LOAD_LOG: a file for
one line per request (bench/load/window.py reads it).
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from pathlib import Path

from locust import HttpUser, between, events, task

DATA = Path(os.environ.get("DOUDI_LOAD_DATA", "/tmp/doudi-load-data"))
MONITORING_AT = float(os.environ.get("DOUDI_LOAD_MONITORING_AT", 120))
PAYMENTS_AT = float(os.environ.get("DOUDI_LOAD_PAYMENTS_AT", 240))
PAYMENT_MONTH = os.environ.get("DOUDI_LOAD_PAYMENT_MONTH", "")  # YYYY-MM; default: the page's

USERS = json.loads((DATA / "users.json").read_text())
SAMPLES = json.loads((DATA / "samples.json").read_text())
PASSWORD = USERS["password"]
ACCOUNTS = {kind: list(USERS.get(kind, [])) for kind in ("village", "town", "district", "city",
                                                         "province")}
for accounts in ACCOUNTS.values():
    random.Random(1).shuffle(accounts)

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ERROR_BOX = re.compile(r'class="error"[^>]*role="alert"|id="action-error"|id="visit-error"'
                       r'|<div class="error"')
HOUSEHOLD = re.compile(r'href="/households/(\d+)/"')
APPLICATION = re.compile(r'href="/applications/(\d+)/"')
WARNING = re.compile(r'href="/monitoring/warnings/(\d+)/"')
VISIT_FORM = re.compile(r'href="/care/persons/(\d+)/visit/"')
ACTION = re.compile(r'<input type="hidden" name="action" value="([a-z_]+)">')
MONTH = re.compile(r'name="month"[^>]*value="(\d{4}-\d{2})"|value="(\d{4}-\d{2})"[^>]*name="month"')
RUN_STATE = re.compile(r'id="run-state">([^<]+)<')

# the one-off district jobs of the morning, shared by all users of this locust process
STATE: dict[str, object] = {"started": time.monotonic(), "monitoring": None, "payments": None,
                            "monitoring_done": False, "payment_approved": False}


@events.test_start.add_listener
def _started(**_: object) -> None:
    STATE["started"] = time.monotonic()


# DOUDI_LOAD_LOG=FILE: one line per request (seconds since the start, page, ms, ok), so the
# figures of a window (e.g. after the morning's logins) can be computed afterwards
LOG = (open(os.environ["DOUDI_LOAD_LOG"], "w", buffering=1)  # line-buffered: nothing lost at exit
       if os.environ.get("DOUDI_LOAD_LOG") else None)


@events.request.add_listener
def _logged(name: str, response_time: float, exception: object = None, **_: object) -> None:
    if LOG is not None:
        LOG.write(f"{time.monotonic() - float(STATE['started']):.2f}\t{name}\t"  # type: ignore[arg-type]
                  f"{response_time:.1f}\t{0 if exception else 1}\n")


class DoudiUser(HttpUser):
    abstract = True
    wait_time = between(3, 10)
    kind = ""

    def on_start(self) -> None:
        self.account = ACCOUNTS[self.kind].pop(0)
        ACCOUNTS[self.kind].append(self.account)  # more users than accounts: share, do not die
        self.samples = SAMPLES.get(self.account["area"], [])
        self.csrf = ""
        self.households: list[str] = []
        login = self.page("GET", "/login/", "login page")
        self.client.post("/login/", name="login (POST)", allow_redirects=True, data={
            "username": self.account["username"], "password": PASSWORD,
            "csrfmiddlewaretoken": self._csrf(login)}, headers={"Referer": self._url("/login/")})

    def _url(self, path: str) -> str:
        return f"{self.host.rstrip('/')}{path}"

    def _csrf(self, response: object) -> str:
        found = CSRF.search(getattr(response, "text", "") or "")
        if found:
            self.csrf = found.group(1)
        return self.csrf or self.client.cookies.get("csrftoken", "")

    def page(self, method: str, path: str, name: str, data: dict | None = None,
             headers: dict | None = None) -> object:
        """One request, failed unless it ends in 2xx, off the login page, and (for a POST)
        without the page's error box."""
        headers = dict(headers or {})
        if method == "POST":
            data = {"csrfmiddlewaretoken": self.csrf or self.client.cookies.get("csrftoken", ""),
                    **(data or {})}
            headers.setdefault("Referer", self._url(path))
        with self.client.request(method, path, name=name, data=data, headers=headers,
                                 catch_response=True, allow_redirects=True) as response:
            text = response.text or ""
            if not 200 <= response.status_code < 300:
                response.failure(f"HTTP {response.status_code}")
            elif name != "login page" and "/login/" in response.url:
                response.failure("landed on the login page")
            elif method == "POST" and ERROR_BOX.search(text):
                found = re.search(r'class="error"[^>]*>([^<]{0,120})', text)
                response.failure(f"error box: {found.group(1) if found else '?'}")
            else:
                response.success()
            self._csrf(response)
        return response

    def find(self, label: str, query: str) -> None:
        r = self.page("GET", f"/households/?q={query}", label)
        self.households = HOUSEHOLD.findall(getattr(r, "text", "") or "") or self.households

    def open_household(self) -> None:
        if not self.households:
            r = self.page("GET", "/households/", "households: list")
            self.households = HOUSEHOLD.findall(getattr(r, "text", "") or "")
        if self.households:
            self.page("GET", f"/households/{random.choice(self.households)}/",
                      "household: detail")


class VillageAssistant(DoudiUser):
    """村协理员."""
    weight = 28
    kind = "village"

    @task(3)
    def household_list(self) -> None:
        r = self.page("GET", "/households/", "households: list")
        self.households = HOUSEHOLD.findall(getattr(r, "text", "") or "") or self.households

    @task(3)
    def search_by_name(self) -> None:
        if self.samples:
            self.find("households: search by name", random.choice(self.samples)[0])

    @task(3)
    def search_by_id(self) -> None:
        if self.samples:
            self.find("households: search by full ID", random.choice(self.samples)[1])

    @task(4)
    def household(self) -> None:
        self.open_household()

    @task(2)
    def care_tasks(self) -> None:
        self.page("GET", "/care/", "care: task list")

    @task(2)
    def record_visit(self) -> None:
        r = self.page("GET", "/care/", "care: task list")
        people = VISIT_FORM.findall(getattr(r, "text", "") or "")
        if not people:
            return
        person = random.choice(people[:20])
        self.wait()
        form = self.page("GET", f"/care/persons/{person}/visit/", "care: visit form")
        if "visit-form" not in (getattr(form, "text", "") or ""):
            return
        self.wait()  # filling the form in takes a while
        self.page("POST", f"/care/persons/{person}/visit/", "care: visit save", data={
            "visited_on": time.strftime("%Y-%m-%d"), "seen": "本人及家属",
            "living": "生活基本正常，住房安全", "health": "慢性病，按时服药", "safety": "无",
            "needs": "", "carer": "na", "place": "家中", "follow_up": "none", "programme": ""})


class TownStaff(DoudiUser):
    """镇街经办 / 镇街审批."""
    weight = 14
    kind = "town"

    @task(4)
    def work_queue(self) -> None:
        r = self.page("GET", "/applications/", "applications: work queue")
        ids = APPLICATION.findall(getattr(r, "text", "") or "")
        if not ids:
            return
        self.wait()
        app = random.choice(ids[:30])
        r = self.page("GET", f"/applications/{app}/", "application: detail")
        actions = set(ACTION.findall(getattr(r, "text", "") or ""))
        step = next((a for a in ("approve", "town_opinion", "complete_verification")
                     if a in actions), None)
        if step is None or random.random() < 0.5:  # not every opened case is acted on
            return
        self.wait()
        self.page("POST", f"/applications/{app}/act/", f"application: act ({step})", data={
            "action": step, "recommendation": "eligible",
            "opinion": "经入户调查和核对，情况属实，同意" if step != "complete_verification"
            else ""})

    @task(3)
    def warnings(self) -> None:
        r = self.page("GET", "/monitoring/warnings/?mine=1", "warnings: list (mine)")
        ids = WARNING.findall(getattr(r, "text", "") or "")
        if not ids:
            return
        self.wait()
        warning = random.choice(ids[:20])
        r = self.page("GET", f"/monitoring/warnings/{warning}/", "warning: detail")
        if 'name="action" value="verify"' not in (getattr(r, "text", "") or "") \
                or random.random() < 0.5:
            return
        self.wait()
        self.page("POST", f"/monitoring/warnings/{warning}/act/", "warning: verify", data={
            "action": "verify", "finding": "经入户核实，情况属实", "confirmed": "yes"})

    @task(2)
    def search(self) -> None:
        if self.samples:
            self.find("households: search by name", random.choice(self.samples)[0])
            self.wait()
            self.open_household()

    @task(1)
    def home(self) -> None:
        self.page("GET", "/", "home")


class DistrictStaff(DoudiUser):
    """区县经办 / 区县审批."""
    weight = 8
    kind = "district"

    def on_start(self) -> None:
        super().on_start()
        self.page("GET", "/", "home")

    @task(3)
    def home(self) -> None:
        self.page("GET", "/", "home")

    @task(3)
    def monitoring(self) -> None:
        self.page("GET", "/monitoring/", "monitoring: dashboard")
        self.jobs()

    @task(2)
    def reports(self) -> None:
        self.page("GET", "/reports/", "reports: dashboard")
        self.wait()
        self.page("GET", "/reports/list/", "reports: figures")
        self.jobs()

    @task(2)
    def payments(self) -> None:
        self.page("GET", "/payments/", "payments: runs")
        self.jobs()

    @task(2)
    def warnings(self) -> None:
        self.page("GET", "/monitoring/warnings/", "warnings: list (district)")

    @task(1)
    def search(self) -> None:
        if self.samples:
            self.find("households: search by full ID", random.choice(self.samples)[1])
            self.open_household()

    def jobs(self) -> None:
        """The morning's one-off jobs and their progress pages."""
        elapsed = time.monotonic() - float(STATE["started"])  # type: ignore[arg-type]
        if STATE["monitoring"] is None and elapsed >= MONITORING_AT:
            STATE["monitoring"] = "starting"
            r = self.page("POST", "/monitoring/run/", "monitoring: start run")
            found = re.search(r"/monitoring/runs/(\d+)/", getattr(r, "url", "") or "")
            STATE["monitoring"] = found.group(1) if found else "failed"
        elif isinstance(STATE["monitoring"], str) and STATE["monitoring"].isdigit() \
                and not STATE["monitoring_done"]:
            r = self.page("GET", f"/monitoring/runs/{STATE['monitoring']}/",
                          "monitoring: run progress", headers={"HX-Request": "true"})
            state = RUN_STATE.search(getattr(r, "text", "") or "")
            if state and state.group(1).strip() in ("失败", "已完成"):
                STATE["monitoring_done"] = True
                if state.group(1).strip() == "失败":
                    self.environment.events.request.fire(
                        request_type="JOB", name="monitoring: run", response_time=0,
                        response_length=0, context={}, response=None,
                        exception=RuntimeError("the monitoring run failed"))
        if STATE["payments"] is None and elapsed >= PAYMENTS_AT \
                and self.account["role"] in ("district_officer", "district_approver"):
            STATE["payments"] = "building"
            form = self.page("GET", "/payments/", "payments: runs")
            month = MONTH.search(getattr(form, "text", "") or "")
            chosen = PAYMENT_MONTH or (next(filter(None, month.groups())) if month
                                       else time.strftime("%Y-%m"))
            r = self.page("POST", "/payments/", "payments: build roster",
                          data={"month": chosen})
            found = re.search(r"/payments/(\d+)/", getattr(r, "url", "") or "")
            STATE["payments"] = (found.group(1), self.account["username"],
                                 self.account["area"]) if found else "failed"
        elif isinstance(STATE["payments"], tuple) \
                and STATE["payments"][2] == self.account["area"]:
            run, maker, _ = STATE["payments"]
            self.page("GET", f"/payments/{run}/", "payments: run page")
            if not STATE["payment_approved"] and maker != self.account["username"] \
                    and self.account["role"] == "district_approver":
                STATE["payment_approved"] = True
                self.page("POST", f"/payments/{run}/act/", "payments: approve run",
                          data={"action": "approve"})


class UpperStaff(DoudiUser):
    """市、省 staff (上级监督, 上级经办): figures over their whole area, nothing written."""
    abstract = True

    def on_start(self) -> None:
        super().on_start()
        self.page("GET", "/", f"home ({self.kind})")

    @task(3)
    def home(self) -> None:
        self.page("GET", "/", f"home ({self.kind})")

    @task(3)
    def reports(self) -> None:
        self.page("GET", "/reports/", f"reports: dashboard ({self.kind})")
        self.wait()
        self.page("GET", "/reports/list/", f"reports: figures ({self.kind})")

    @task(3)
    def monitoring(self) -> None:
        self.page("GET", "/monitoring/", f"monitoring: dashboard ({self.kind})")


class CityStaff(UpperStaff):
    """市 (prepare_province.py's ct01…); left out when users.json has none."""
    kind = "city"
    weight = max(len(ACCOUNTS["city"]), 1)
    abstract = not ACCOUNTS["city"]


class ProvinceStaff(UpperStaff):
    """省 (prepare_province.py's pv01…); left out when users.json has none."""
    kind = "province"
    weight = max(len(ACCOUNTS["province"]), 1)
    abstract = not ACCOUNTS["province"]
