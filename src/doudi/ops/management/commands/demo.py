"""doudi demo [--no-serve] [--reset] [--households N] [--seed S] [--today YYYY-MM-DD] [--port P]
doudi demo advance --days N

Builds the demo in the embedded SQLite database — the one every `doudi` command uses when
neither DATABASE_URL nor DOUDI_SQLITE is set ($DOUDI_HOME/doudi.sqlite3), so after the demo
`doudi monitor`, `doudi import`, `doudi audit verify` … act on it. It builds only into a new or
empty database, or one an earlier demo made (marked, see `doudi.ops.demo_clock`); a database
holding other data is refused, never overwritten. The demo: the real division tree of 屯溪区
and Guangdong, demo users at every level, a synthetic 屯溪区 (20,000 households by default,
`doudi.synth`) with
its economic facts and the 低保 / 边缘 / 支出型 / 特困 enrolments the rules give for most of
those who qualify; the district's department feeds (CSV, Excel, Parquet, with dirty rows) go to
the import inbox (settings.FEEDS_INBOX) and its files with the planted cases' truth to
DOUDI_HOME/synthetic. Then serves the UI and API. The shipped policy parameters come with the
migrations (policy 0002).

The demo is computed back from its build day (IDs, ages, enrolment dates, deadlines): with
`--today` the same seed gives the same demo whatever the calendar says, and the demo's clock is
set to that day. `doudi demo advance --days N` moves the demo's clock on (for training: walk a
whole 公示 period, a month's roster); it is refused on any database that is not a demo.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from doudi.accounts.models import User
from doudi.accounts.services import create_user
from doudi.areas import importer
from doudi.audit import context
from doudi.core import clock
from doudi.ops import demo_clock
from doudi.policy.services import parameter_set
from doudi.programmes import catalogue
from doudi.registry.categories import CATEGORIES
from doudi.synth import cli
from doudi.synth.feeds.layouts import LAYOUTS
from doudi.synth.load_enrolments import load_enrolments
from doudi.synth.loader import load
from doudi.synth.writer import DIRT_FILE

LABELS = {code: c.label for code, c in CATEGORIES.items()}
DEMO_PASSWORD = "Doudi-demo-2026"
DEMO_DISTRICT = "341002"
DEMO_TOWN = "341002102"  # 黎阳镇
DEMO_USERS = [
    # username, area, roles, 说明
    ("district", DEMO_DISTRICT, ["district_approver"], "屯溪区民政局 区县审批"),
    ("district2", DEMO_DISTRICT, ["district_approver"], "屯溪区民政局 区县审批(第二人复核)"),
    ("admin", DEMO_DISTRICT, ["district_admin"], "屯溪区民政局 区县业务管理员(政策参数)"),
    ("town", DEMO_TOWN, ["town_approver"], "黎阳镇 镇街审批"),
    ("village", None, ["village_assistant"], "黎阳镇下属村(社区) 村协理员"),
    ("auditor", DEMO_DISTRICT, ["audit_admin"], "屯溪区 审计管理员"),
    ("sysadmin", DEMO_DISTRICT, ["sysadmin"], "屯溪区 系统管理员"),
    ("security", DEMO_DISTRICT, ["security_admin"], "屯溪区 安全管理员"),
    ("supervisor", "3410", ["supervisor"], "黄山市 上级监督(只读)"),
    ("city", "3410", ["upper_officer"], "黄山市 上级经办(接收区县报表)"),
    ("rural", DEMO_DISTRICT, ["rural_staff"], "屯溪区 乡村振兴工作人员(防返贫监测户，只读)"),
]


class Command(BaseCommand):
    help = "构建演示数据库并启动服务 / build the demo database and serve it"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", choices=["advance"],
                            help="advance: 调整演示时钟（与 --days 同用）")
        parser.add_argument("--days", type=int, help="advance: 演示时钟前进的天数（负数为后退）")
        parser.add_argument("--no-serve", action="store_true", help="只构建，不启动服务")
        parser.add_argument("--reset", action="store_true", help="删除并重建演示数据库")
        parser.add_argument("--households", type=int, default=20_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--today", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                            help="演示的“今天”：同一 --seed 与 --today 总是得到同样的演示数据")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, **o) -> None:  # noqa: ANN002, ANN003
        if o["action"] == "advance":
            self._advance(o["days"])
            return
        if connection.vendor != "sqlite":
            raise CommandError("演示数据库只使用内嵌 SQLite")
        if o["reset"]:
            self._remove()
        call_command("migrate", verbosity=0, interactive=False)
        if User.objects.filter(username="district").exists() and demo_clock.is_demo():
            self.stdout.write("演示数据库已存在（--reset 可重建；doudi demo advance 调整演示时钟）")
        elif _holds_data():
            raise CommandError(_not_a_demo())
        else:
            demo_clock.mark_demo()
            if o["today"]:
                with context.job("demo"):
                    demo_clock.set_today(o["today"])
            self._build(o["households"], o["seed"])
        self.stdout.write(f"演示数据库：{demo_clock.settings_name()}（今天：{clock.today()}）；"
                          "不设 DATABASE_URL、DOUDI_SQLITE 时，doudi 的各命令都作用于它")
        self._print_users()
        if not o["no_serve"]:
            # the demo shows the API's schema and documentation page (/api/docs), unless
            # DOUDI_API_DOCS=0 says otherwise; a production server hides them by default
            if os.environ.get("DOUDI_API_DOCS") != "0":
                settings.DOUDI_API_DOCS = True
            call_command("serve", host=o["host"], port=o["port"])

    def _advance(self, days: int | None) -> None:
        if not days:
            raise CommandError("请用 --days N 指定演示时钟前进的天数，"
                               "如 doudi demo advance --days 7")
        try:
            with context.job("demo advance"):
                day = demo_clock.advance(days)
        except demo_clock.DemoError as exc:
            raise CommandError(str(exc)) from exc
        ahead = (day - clock.real_today()).days
        self.stdout.write(f"演示时钟已调到 {day}（比日历{'超前' if ahead >= 0 else '落后'} "
                          f"{abs(ahead)} 天）；运行中的演示服务几秒内即按新日期办理")

    def _remove(self) -> None:
        """--reset: delete the demo database and its files — only a demo's, or an empty one."""
        name = settings.DATABASES["default"]["NAME"]
        if os.path.exists(name) and _holds_data() and not demo_clock.is_demo():
            raise CommandError(_not_a_demo())
        shutil.rmtree(settings.EXCHANGE_DIR, ignore_errors=True)  # the old demo's batches
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            try:
                os.remove(name + suffix)
            except FileNotFoundError:
                pass
        clock.forget()

    def _build(self, households: int, seed: int, today: dt.date | None = None) -> None:
        """The demo of `seed`, computed back from `today` (the demo clock's day by default)."""
        started = time.monotonic()
        today = today or clock.today()
        with context.job("demo"):
            report = importer.load_shipped("all")
            if not report.ok:
                raise CommandError("区划导入失败: " + "; ".join(map(str, report.errors[:5])))
            self.stdout.write(f"行政区划: {report.created} 个（屯溪区 + 广东省）")
            for username, area, roles, _ in DEMO_USERS:
                if area:  # the village assistant's village is chosen once households are in
                    create_user(username=username, password=DEMO_PASSWORD, area_code=area,
                                roles=roles)
            district = User.objects.get(username="district")
        out, inbox = settings.HOME / "synthetic", settings.FEEDS_INBOX
        _clear(out, inbox)
        run = cli.run(DEMO_DISTRICT, households, seed, out, today, xlsx=True,
                      parameters=parameter_set(), feeds_dir=inbox)
        population = run.district.population
        with context.job("demo synthetic population", user=district):
            loaded = load(population.households, population.persons, today)
            enrolled = load_enrolments(run.district.enrolments, population.households,
                                       population.persons)
        with context.job("demo"):
            village = _demo_village()
            for username, area, roles, _ in DEMO_USERS:
                if not area:
                    create_user(username=username, password=DEMO_PASSWORD,
                                area_code=village, roles=roles)
        with context.job("demo care groups", user=district):
            # before monitoring, which reads them (a 孤儿 may be owed a subsidy)
            grouped = _care_groups(district, village, today)
        with context.job("demo department data", user=district):
            imported = _import_feeds(inbox, district)
        with context.job("demo applications", user=district):
            applications = _applications(out / "truth.parquet", today)
        with context.job("demo payments", user=district):
            from doudi.benefits.services import build_run

            roster = build_run(by=district, month=today.replace(day=1), area_code=DEMO_DISTRICT)
        with context.job("demo monitoring", user=district):
            from doudi.monitoring import services as monitoring

            watched = monitoring.execute(monitoring.start_run(by=district, trigger="cli",
                                                              as_of=today))
        with context.job("demo care", user=district):
            visits = _care(district, today)
        counts = "，".join(f"{LABELS[k]} {v}" for k, v in enrolled.counts.items())
        self.stdout.write(
            f"家庭: {loaded.households} 户，人员: {loaded.persons} 人；在保：{counts}；"
            f"部门数据 {len(LAYOUTS)} 类 {run.summary['feed_rows']:,} 行 → {inbox}"
            f"（已导入 CSV {imported:,} 行，Excel 与 Parquet 留在收件箱供试用）；"
            f"埋点案例 {sum(run.summary['truth'].values()):,} 个 → {out / 'truth.parquet'}；"
            f"办理中的申请 {applications} 件；保障对象 {enrolled.enrollments} 个，"
            f"本月花名册 {roster.lines} 人次待审核；监测预警 {watched.created} 条待核实；"
            f"村协理员所在村探访对象 {grouped} 人，本月探访任务 {visits} 条"
            f"（{time.monotonic() - started:.1f} 秒）"
        )

    def _print_users(self) -> None:
        self.stdout.write(f"演示账号（密码均为 {DEMO_PASSWORD}）:")
        for username, _, _, note in DEMO_USERS:
            user = User.objects.filter(username=username).select_related("area").first()
            if user:
                self.stdout.write(f"  {username:<11} {note}（{user.area.name} {user.area.code}）")


# How far each demo application has come: the steps taken after intake.
DEMO_STEPS = (
    (),
    ("record_visit",),
    ("record_visit", "complete_verification"),
    ("record_visit", "complete_verification", "town_opinion"),
    ("record_visit", "complete_verification", "town_opinion", "close_publicity"),
    ("record_visit", "complete_verification", "town_opinion", "close_publicity", "approve",
     "issue_notice"),
)


def _applications(truth_file: Path, today: dt.date) -> int:
    """Applications for the 应保未保 households of 黎阳镇 the truth file names — as if
    monitoring had found them — at every step, some past their deadline, so the town's and
    the village's work queues have items."""
    import polars as pl

    from doudi.casework import services, workflow
    from doudi.registry.models import Household, Person

    town = User.objects.get(username="town")
    cases = (pl.read_parquet(truth_file)
             .filter((pl.col("kind") == "uncovered_eligible")
                     & pl.col("programme").is_in(list(catalogue.category_setting()))
                     & pl.col("area_code").str.starts_with(DEMO_TOWN))
             .unique("household_number", keep="first", maintain_order=True).head(24))
    opinions = {"town_opinion": "经入户调查和核对，家庭收入低于低保标准，符合条件",
                "approve": "经审核，同意"}
    made = 0
    for n, case in enumerate(cases.iter_rows(named=True)):
        household = Household.objects.get(number=case["household_number"])
        steps = DEMO_STEPS[n % len(DEMO_STEPS)]
        day = today - dt.timedelta(days=4 + 2 * n)
        programme = case["programme"]
        # a programme applied for member by member is for the person monitoring found
        app = services.create_application(
            by=town, household=household, programme=programme, channel="warning",
            applicant=Person.objects.filter(id_number=case["id_number"]).first()
            if catalogue.get(programme).level == catalogue.MEMBER else None,
            reason=f"监测预警：符合{catalogue.label(programme)}条件，尚未纳入",
            submitted_on=day)
        for i, action in enumerate(steps):
            if app.state not in workflow.BY_ACTION[action].source:
                continue  # e.g. no 公示 for 低保边缘
            day = min(today, day + dt.timedelta(days=1 + i % 3))
            data = {"members_present": "户主及家人", "living_conditions": "住房简陋，无稳定收入"} \
                if action == "record_visit" else {"recommendation": "eligible"}
            if action == "close_publicity" and app.publicity_ends_on:
                day = max(day, app.publicity_ends_on)
            app = services.act(by=town, application=app, action=action, day=day, data=data,
                               opinion=opinions.get(action, ""))
        made += 1
    return made


def _holds_data() -> bool:
    """Does the (migrated) database hold anyone's work: accounts or households?"""
    from doudi.registry.models import Household

    return User.objects.exists() or Household.objects.exists()


def _not_a_demo() -> str:
    return (f"数据库 {demo_clock.settings_name()} 已有数据且不是演示数据库：演示不会写入或删除它。"
            "请另设 DOUDI_HOME（或 DOUDI_SQLITE）指向一个新位置再运行 doudi demo")


def _demo_village() -> str:
    """The village assistant's village: of 黎阳镇's villages, one with a 分散供养特困 person to
    visit if any has one, the one with the most households among them — so the assistant has
    people to visit and applications to investigate."""
    from django.db.models import Count

    from doudi.areas.models import Area
    from doudi.registry.models import CategoryAssignment, Household

    tekun = set(CategoryAssignment.objects.filter(
        category=catalogue.TEKUN, end_date__isnull=True, area_code__startswith=DEMO_TOWN)
        .values_list("area_code", flat=True))
    counts = (Household.objects.filter(area_code__startswith=DEMO_TOWN)
              .values_list("area_code").annotate(n=Count("id")).order_by("area_code"))
    ranked = sorted(counts, key=lambda row: (row[0] not in tekun, -row[1], row[0]))
    if ranked:
        return ranked[0][0]
    return Area.objects.filter(code__startswith=DEMO_TOWN, level=5).order_by("code")[0].code


# Who a demo puts in each care group that is a fact (not a programme status) when the
# village assistant's village has nobody in it: (youngest age, oldest age, sex or "").
CARE_GROUP_PEOPLE = {
    "orphan": (0, 17, ""), "de_facto_unsupported": (0, 17, ""),
    "child_in_hardship": (0, 17, ""), "left_behind_child": (0, 15, ""),
    "left_behind_elderly": (60, 120, ""), "left_behind_woman": (18, 59, "F"),
}


def _care_groups(district: User, village: str, today: dt.date) -> int:
    """People in every care group in the village assistant's village (探访对象): where the
    synthetic population gave the village none, the demo records the fact for a resident of
    the right age (the first by registry order, so the same seed gives the same people).
    分散供养特困 is a programme status and comes only from the rules' enrolments. The number of
    the village's people in a care group."""
    from doudi.care import plans
    from doudi.registry import services as registry
    from doudi.registry.models import CategoryAssignment, Person

    residents = list(Person.objects.filter(
        memberships__household__area_code=village, memberships__end_date__isnull=True,
        death_date__isnull=True).distinct().order_by("id"))
    grouped = {code: set(CategoryAssignment.objects.filter(
        category=code, end_date__isnull=True, area_code=village)
        .values_list("person_id", flat=True)) for code in CARE_GROUP_PEOPLE}
    taken = set().union(*grouped.values())
    for group in plans.GROUPS.values():
        if group.category not in CARE_GROUP_PEOPLE or grouped[group.category]:
            continue
        low, high, sex = CARE_GROUP_PEOPLE[group.category]
        person = next((p for p in residents if p.pk not in taken
                       and low <= p.age_on(today) <= high and sex in ("", p.sex)), None)
        if person is None:
            continue
        registry.assign_category(by=district, category=group.category, person=person,
                                 start_date=today.replace(day=1) - dt.timedelta(days=90),
                                 note="演示数据")
        taken.add(person.pk)
    categories = [g.category for g in plans.GROUPS.values()]
    return CategoryAssignment.objects.filter(
        category__in=categories, end_date__isnull=True, area_code=village,
        person__isnull=False).values("person_id").distinct().count()


def _care(district: User, today: dt.date) -> int:
    """This month's visit tasks, and the district's institutions (beds as a district might
    report them) so the nursing-bed ratio shows."""
    from doudi.care import services as care
    from doudi.care.models import Institution

    for name, town, beds, nursing, operator in (
            ("屯溪区社会福利院", "341002001000", 180, 110, "public"),
            ("黎阳镇敬老院", DEMO_TOWN + "000", 60, 24, "public"),
            ("屯光镇敬老院", "341002100000", 48, 16, "public"),
            ("康馨养老院", "341002002000", 150, 72, "private")):
        care.save_institution(by=district, institution=Institution(), name=name,
                              kind="welfare_home" if "福利院" in name else "nursing_home"
                              if "敬老院" in name else "elderly_home", operator=operator,
                              beds=beds, nursing_beds=nursing, staff=beds // 6,
                              nursing_staff=beds // 10, area_code=town)
    _facilities(district, today)
    return care.generate_tasks(today, DEMO_DISTRICT).created


def _facilities(district: User, today: dt.date) -> None:
    """A few facilities of each group with their services, a 敬老院 improvement project under
    way and this year's nursing-bed targets, so the 设施 pages have something to show."""
    from doudi.areas.models import Area
    from doudi.care import services as care
    from doudi.care.models import Facility, ImprovementProject, Institution

    villages = list(Area.objects.filter(code__startswith=DEMO_TOWN, level=5)
                    .order_by("code").values_list("code", flat=True)[:3])
    if not villages:
        return
    start = today.replace(month=1, day=1)
    for kind, name, area, facts, offered in (
            ("day_care", "黎阳镇社区日间照料中心", villages[0],
             {"operator": "public_private", "capacity": "30", "staff": "6"}, ("助餐", "日间托养")),
            ("happiness_home", "黎阳镇农村幸福院", villages[-1],
             {"operator": "public", "capacity": "12", "staff": "2"}, ("助餐", "文体娱乐")),
            ("mental_rehab", "屯溪区精康融合服务站", DEMO_TOWN + "000",
             {"operator": "public", "capacity": "20", "staff": "4"}, ("职业康复", "心理疏导")),
            ("minor_protection", "黎阳镇未成年人保护工作站", DEMO_TOWN + "000",
             {"staff": "3"}, ("监护评估", "关爱帮扶")),
            ("village_service", "村级综合服务中心", villages[0],
             {"floor_area": "650", "staff": "3"}, ("便民服务", "儿童之家"))):
        row = care.save_facility(by=district, facility=Facility(), kind=kind, name=name,
                                 area_code=area, **facts)
        for service in offered:
            care.add_service(by=district, facility=row, name=service, started_on=start)
    home = Institution.objects.filter(name="黎阳镇敬老院").first()
    if home is not None:
        project = care.save_project(by=district, project=ImprovementProject(), institution=home,
                                    name="黎阳镇敬老院适老化改造", plan="护理型床位改造、消防喷淋",
                                    year=today.year, budget_fen=80_000_000, new_nursing_beds=12)
        care.advance_project(by=district, project=project, action="start", day=start)
        care.advance_project(by=district, project=project, action="progress", progress="45",
                             spent_fen=32_000_000)
    for town, target in ((DEMO_TOWN + "000", 20), ("341002100000", 10)):
        if Area.objects.filter(code=town, level=4).exists():
            care.set_bed_target(by=district, town_code=town, year=today.year, target=target)


def _import_feeds(inbox: Path, user: User) -> int:
    """Import the CSV of every synthetic feed, as a bureau would on its first day."""
    from doudi.exchange.feed_types import load_shipped
    from doudi.exchange.imports import import_file
    from doudi.exchange.models import FeedType

    load_shipped()  # the shipped types as this release has them
    rows = 0
    for layout in LAYOUTS:
        feed = FeedType.objects.get(key=layout.key)
        out = import_file(feed, inbox / f"{layout.file_stem}.csv", user=user, channel="cli",
                          source=f"演示：{layout.department}", period="")
        rows += out.counts.get("good", 0)
    return rows


def _clear(out: Path, inbox: Path) -> None:
    """Remove an earlier demo's synthetic files: its output directory, and in the inbox only
    the files the synthetic feeds are written as (anything else a user put there stays)."""
    shutil.rmtree(out, ignore_errors=True)
    names = {DIRT_FILE} | {f"{layout.file_stem}.{ext}" for layout in LAYOUTS
                           for ext in ("csv", "parquet", "xlsx")}
    for name in names:
        (inbox / name).unlink(missing_ok=True)
