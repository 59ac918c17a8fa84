"""Permission matrix (权限矩阵): every URL and API route × every role × an in-area and an
out-of-area record. No out-of-area record is ever listed, shown, changed or exported.

The routes are generated from the URL configuration (web views and the Ninja API alike), not
hand-listed: a new route is in the matrix the day it appears. A route whose URL parameter the
matrix cannot fill fails the test until `KWARG_VALUES` learns it.

"In area" is the rule the product promises: `household.area_code.startswith(user.area.prefix)`.
Every world household gets a marker member with a unique name and ID tail, so a leak of any
household can be told apart from the in-area records the same page may rightly show.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import inspect
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Q
from django.forms.models import model_to_dict
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from python_calamine import CalamineWorkbook

from doudi.accounts import roles
from doudi.accounts.models import User
from doudi.accounts.roles import ROLES
from doudi.api.urls import api
from doudi.areas.scoping import in_scope
from doudi.audit import context
from doudi.audit.models import AuditEvent
from doudi.benefits.models import (
    BankLayout,
    Enrollment,
    EnrollmentEvent,
    PaymentLine,
    PaymentRun,
    Recalculation,
    ReviewTask,
)
from doudi.care.models import (
    Facility,
    FacilityService,
    FacilityUser,
    ImprovementProject,
    Institution,
    InstitutionResident,
    Visit,
    VisitorAssignment,
    VisitPhoto,
)
from doudi.casework.models import (
    Application,
    ApplicationEvent,
    FilingRecord,
    HomeVisit,
    OnlineRequest,
)
from doudi.community.models import Organisation
from doudi.core import clock, idnumber
from doudi.exchange.models import Consent, FeedBatch, FeedType, ImportJob, VerificationReport
from doudi.golive.caseload_files import REPORT_SCHEMA
from doudi.golive.models import GoliveImport
from doudi.monitoring.models import MonitoringRun, Warning
from doudi.placenames.models import NamingApplication
from doudi.policy.models import PolicyParameter
from doudi.referrals import services as referrals
from doudi.referrals.models import Referral
from doudi.registry import services
from doudi.registry.models import CategoryAssignment, Household, Membership, Observation, Person
from doudi.reports.models import Campaign, CampaignAssignment, CampaignSample, ReportInstance
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------------------------
# The matrix entries: how to fill a URL parameter, and what each known route promises.
# --------------------------------------------------------------------------------------------

@dataclass
class Record:
    """One world household with a marker member; `tokens` are the strings that identify it."""

    key: str
    household: Household
    marker: Person
    tokens: frozenset[str]
    # 部门数据 owned by the record's area, named after it so a page showing it can be told
    job: ImportJob | None = None
    batch: FeedBatch | None = None
    report: VerificationReport | None = None
    application: Application | None = None  # decided, so its notice prints
    # its application's decision filed for the district's review (备案), pending and selected
    filing_record: FilingRecord | None = None
    enrollment: Enrollment | None = None  # paid once, in a run owned by the village
    warning: Warning | None = None  # an open 主动发现 about the marker, handled by the town
    monitoring_run: MonitoringRun | None = None  # a run over the village, naming the household
    visit: Visit | None = None  # a visit to the marker
    institution: Institution | None = None  # an institution of the area, the marker resident
    # a 精康融合 station of the area named after the household, the marker its service user
    facility: Facility | None = None
    project: ImprovementProject | None = None  # an improvement project of the institution
    campaign: Campaign | None = None  # a campaign over the village with the household sampled
    filing: ReportInstance | None = None  # a report of the village's area naming the household
    naming: NamingApplication | None = None  # a naming application of the village
    organisation: Organisation | None = None  # an organisation of the village named after it
    account: User | None = None  # a village assistant's account named after the household
    referral: Referral | None = None  # a 转介 to 医保 about the marker, naming the household
    # a caseload dry run (上线迁移) of the record's district, its plan naming the household
    golive: GoliveImport | None = None

    @property
    def number(self) -> str:
        return self.household.number

    @property
    def area_code(self) -> str:
        return self.household.area_code


# URL parameter → the value pointing at a record. A route with a parameter not listed here
# fails the matrix: add the parameter (and, if it needs another capability, DETAIL_CAPABILITY).
KWARG_VALUES: dict[str, Callable[[Record], Any]] = {
    "household_id": lambda record: record.household.pk,
    "person_id": lambda record: record.marker.pk,
    "key": lambda record: POLICY_KEY,  # a policy parameter: the same for every record
    "job_id": lambda record: record.job.pk,
    "batch_id": lambda record: record.batch.pk,
    "report_id": lambda record: record.report.pk,
    "application_id": lambda record: record.application.pk,
    "filing_record_id": lambda record: record.filing_record.pk,
    "attachment_id": lambda record: record.application.attachments.get().pk,
    "request_id": lambda record: record.application.online_request.pk,
    "enrollment_id": lambda record: record.enrollment.pk,
    "run_id": lambda record: record.enrollment.lines.get().run_id,
    "warning_id": lambda record: record.warning.pk,
    # the record's warning is a 12345 ticket whose number carries the household number
    "ticket_no": lambda record: record.warning.ticket_no,
    "monitoring_run_id": lambda record: record.monitoring_run.pk,
    "visit_id": lambda record: record.visit.pk,
    "photo_id": lambda record: record.visit.photos.get().pk,
    "institution_id": lambda record: record.institution.pk,
    "facility_id": lambda record: record.facility.pk,
    "project_id": lambda record: record.project.pk,
    "campaign_id": lambda record: record.campaign.pk,
    "sample_id": lambda record: record.campaign.samples.get().pk,
    "filing_id": lambda record: record.filing.pk,
    "naming_id": lambda record: record.naming.pk,
    "organisation_id": lambda record: record.organisation.pk,
    "user_id": lambda record: record.account.pk,
    "feed_key": lambda record: FEED_KEY,  # a feed type: the same for every record (FEED_ROUTES)
    # a 推送名单: the same for every record (OUTBOUND_ROUTES)
    "list_key": lambda record: OUTBOUND_KEY,
    # a bank layout: the shipped default for every record (LAYOUT_ROUTES try an out-of-area one)
    "layout_id": lambda record: BankLayout.objects.get(code="default").pk,
    "referral_id": lambda record: record.referral.pk,
    "import_id": lambda record: record.golive.pk,
}

# Routes about one feed type (数据接口类型), shared by every area: GET 200 (upload form) for a
# holder of the capability; POST with an empty body 200 (form again) on the web, 422 (no file)
# on the API; 403 for everyone else.
FEED_KEY = "vehicle"
FEED_ROUTES: dict[str, str] = {
    "exchange_upload": roles.IMPORT_FEEDS,
    "api:push_batch": roles.IMPORT_FEEDS,
}

# Routes about one 推送名单 (outbound list), produced over the user's own area: the web download
# (POST) answers 200 with the file for a holder of the capability, 403 for anyone else; the API
# answers 200 only to a department account of the list's department (the matrix's has none:
# 403), 403 to everyone else. No answer may show an out-of-area record.
OUTBOUND_KEY = "medical_insurance_subsidy"
OUTBOUND_DEPARTMENT = "医保"
OUTBOUND_ROUTES: dict[str, str] = {
    "outbound_download": roles.PRODUCE_OUTBOUND,
    "api:pull_outbound": roles.PULL_OUTBOUND,
    "api:pull_outbound_changes": roles.PULL_OUTBOUND,
}

# Routes about one bank file layout (银行文件格式), kept by a district and used below it: the
# shipped layout answers a registry viewer 200 (a POST shows the refusal and changes nothing),
# others 403; a layout kept by an out-of-area county answers 404 (403 without the capability).
LAYOUT_ROUTES: dict[str, str] = {"bank_layout_edit": roles.VIEW_REGISTRY}

# Routes about one policy parameter (政策参数), shared by every area rather than owned by one:
# the capability that makes them answer (GET 200; POST with an empty body 200 with the form's
# reasons or 302 back to the page); 403 for everyone else. `Matrix.policy_values` also posts
# a valid value for every out-of-area county (refused, nothing written) and for the user's own
# area (written for an editor, refused for anyone else).
POLICY_KEY = "dibao.standard.urban"
PARAMETER_ROUTES: dict[str, str] = {
    "policy_detail": roles.VIEW_REGISTRY,
    "policy_value_add": roles.EDIT_POLICY,
    "policy_value_withdraw": roles.EDIT_POLICY,
}

# Detail routes: the capability that makes an in-area record answer 200 (default: view).
DETAIL_CAPABILITY = {
    "golive:caseload_import": roles.GO_LIVE,
    "golive:caseload_report": roles.GO_LIVE,
    "golive:caseload_real": roles.GO_LIVE,
    "person_reveal": roles.VIEW_FULL_PII,
    "personal_access": roles.VIEW_FULL_PII,
    "application_act": roles.EDIT_REGISTRY,
    "application_advance": roles.EDIT_REGISTRY,
    "application_request": roles.EDIT_REGISTRY,
    "application_pay": roles.EDIT_REGISTRY,
    "application_attach": roles.EDIT_REGISTRY,
    # 备案审查: reviewed by the district (a town never reviews its own decisions); the town
    # records the correction asked for, as it records a campaign's (an empty POST: the form's
    # reason on the household page)
    "filing_review": roles.REVIEW_FILING,
    "filing_correct": roles.EDIT_REGISTRY,
    "enrollment_change": roles.EDIT_REGISTRY,
    "enrollment_payee": (roles.REQUEST_PAYEE_CHANGE, roles.APPROVE_PAYEE_CHANGE),
    "consent_add": roles.EDIT_REGISTRY,
    "verification_request": roles.VERIFY,
    "verification_report": roles.VERIFY,
    "exchange_job": roles.IMPORT_FEEDS,
    "exchange_job_mapping": roles.IMPORT_FEEDS,
    "exchange_job_errors": roles.IMPORT_FEEDS,
    "exchange_batch": roles.IMPORT_FEEDS,
    "api:job_status": roles.IMPORT_FEEDS,
    "api:job_errors": roles.IMPORT_FEEDS,
    "online_accept": roles.EDIT_REGISTRY,
    "online_decline": roles.EDIT_REGISTRY,
    "online_verify": roles.EDIT_REGISTRY,
    "household_observation_add": roles.EDIT_REGISTRY,
    "household_observation_correct": roles.EDIT_REGISTRY,
    "household_observation_end": roles.EDIT_REGISTRY,
    "household_category_add": roles.EDIT_REGISTRY,
    "household_category_end": roles.EDIT_REGISTRY,
    "warning_act": roles.EDIT_REGISTRY,
    "visit_new": roles.EDIT_REGISTRY,
    "need_new": roles.EDIT_REGISTRY,
    "referral_new": roles.SEND_REFERRALS,
    "api:ticket_status": roles.HOTLINE,
    "rural_household": roles.VIEW_RURAL_WATCH,  # every world household is 防返贫-watched
    # an account page: for any of the three administrators (三员), each acting on their part
    "user_detail": (roles.MANAGE_USERS, roles.MANAGE_SECURITY, roles.VIEW_AUDIT),
}

# Routes that also answer for a record an active assignment gives the user (areas.scoping:
# `visible_to(user, assigned=True)`), by the key the assignment names: a campaign's sample
# (互查 by another town's officers, 第三方评估 by an evaluator) or a person (a visitor's). For an
# assigned record they answer 200 and show it masked — its number, masked names and IDs,
# never a full ID or a name in clear — whatever its area; every other route, and every other
# record, keeps the area rule. `ASSIGNMENT_LISTINGS` may list an assigned record, masked.
ASSIGNMENT_ROUTES: dict[str, str] = {
    "campaign_detail": "campaign",
    "campaign_sample": "campaign",
    "visit_new": "person",
    "visit_detail": "person",
    "visit_photo": "person",
}
ASSIGNMENT_LISTINGS = {"campaigns", "visitors"}
# The world's assignments (`records`): 黎阳镇's officers check 屯光镇's sample (互查), the
# evaluator (at the district) assesses 龙山社区's sample, the visitor (an account of 隆阜（3）社区)
# visits the marker of 龙山社区's household.
PEER_CHECKED, PEER_TOWN = "other_town_hh", "341002102"
EVALUATED, VISITED = "same_town_hh", "same_town_hh"

# Listing routes with a known gate: 200 for a holder of any listed capability (or for every
# logged-in user when the tuple is empty), 403 otherwise. Other listing routes must not fail.
LISTING_CAPABILITIES: dict[str, tuple[str, ...]] = {
    "home": (),
    "household_list": (roles.VIEW_REGISTRY,),
    "household_export": (roles.EXPORT_REGISTRY,),
    "audit_list": (roles.VIEW_AUDIT,),
    "user_list": (roles.MANAGE_USERS, roles.MANAGE_SECURITY, roles.VIEW_AUDIT),
    "user_new": (roles.MANAGE_USERS,),
    "golive:staff": (roles.MANAGE_USERS,),
    "account": (),
    "account_password": (),
    "account_totp": (),
    "api:list_households": (),
    "household_new": (roles.EDIT_REGISTRY,),
    "household_member_row": (roles.EDIT_REGISTRY,),
    "policy_list": (roles.VIEW_REGISTRY,),
    "rules_simulate": (roles.SIMULATE_RULES,),
    "exchange_home": (roles.IMPORT_FEEDS,),
    "outbound_home": (roles.PRODUCE_OUTBOUND,),
    "work_queue": (roles.VIEW_REGISTRY,),
    "publicity_list": (roles.VIEW_REGISTRY,),
    "documents_print": (roles.VIEW_REGISTRY,),
    "offices": (roles.EDIT_POLICY,),
    "reserve_fund": (roles.VIEW_REGISTRY,),
    "filing_reviews": (roles.VIEW_REGISTRY,),  # a town sees its own filings' outcome
    "payments": (roles.VIEW_REGISTRY,),
    "failed_payments": (roles.VIEW_REGISTRY,),
    "payee_changes": (roles.VIEW_REGISTRY,),
    "one_off_payments": (roles.VIEW_REGISTRY,),
    "recalculations": (roles.VIEW_REGISTRY,),
    "review_tasks": (roles.VIEW_REGISTRY,),
    "funds": (roles.VIEW_REGISTRY,),
    "exchange_type_new": (roles.MANAGE_FEEDS,),
    "bank_layouts": (roles.VIEW_REGISTRY,),
    "bank_layout_new": (roles.EDIT_POLICY,),
    "monitoring": (roles.VIEW_REGISTRY,),
    "warning_list": (roles.VIEW_REGISTRY,),
    "indicator_list": (roles.VIEW_REGISTRY,),
    "warning_report_discovery": (roles.EDIT_REGISTRY,),
    "warning_report_hotline": (roles.EDIT_REGISTRY,),
    "care_home": (roles.VIEW_REGISTRY,),
    "children": (roles.VIEW_REGISTRY,),
    "institutions": (roles.VIEW_REGISTRY,),
    "facilities": (roles.VIEW_REGISTRY,),
    "improvement_projects": (roles.VIEW_REGISTRY,),
    "bed_targets": (roles.VIEW_REGISTRY,),
    "home_care": (roles.VIEW_REGISTRY,),
    "cross_province": (roles.VIEW_REGISTRY,),
    "reports": (roles.VIEW_REGISTRY,),
    "report_list": (roles.VIEW_REGISTRY,),
    "performance": (roles.VIEW_REGISTRY,),
    "campaigns": (roles.VIEW_REGISTRY, roles.VIEW_ASSIGNED),
    "visitors": (roles.VIEW_REGISTRY, roles.VIEW_ASSIGNED),
    "filings": (roles.VIEW_REGISTRY,),
    "organisations": (roles.VIEW_REGISTRY,),
    "needs": (roles.VIEW_REGISTRY, roles.SERVE_NEEDS),
    "donations": (roles.VIEW_REGISTRY,),
    "consultations": (roles.VIEW_REGISTRY,),
    "points": (roles.VIEW_REGISTRY,),
    "placenames": (roles.VIEW_REGISTRY,),
    "rural_home": (roles.VIEW_RURAL_WATCH,),
    "referrals": (roles.VIEW_REGISTRY, roles.ANSWER_REFERRALS),
    "api:list_referrals": (roles.ANSWER_REFERRALS,),
    "golive:checklist": (roles.GO_LIVE,),
    "golive:caseload": (roles.GO_LIVE,),
    "golive:reconcile": (roles.GO_LIVE,),
}

# POST-only listing routes (actions on the user's own area): an empty POST is refused with 403
# for everyone without a listed capability, and answered (not 403, not 5xx) for a holder.
POST_GATES: dict[str, tuple[str, ...]] = {
    "exchange_inbox_import": (roles.IMPORT_FEEDS,),
    "indicator_tune": (roles.TUNE_INDICATORS,),
    "monitoring_run_start": (roles.RUN_MONITORING,),
    "care_generate": (roles.GENERATE_VISIT_TASKS,),
    "bulk_approve": (roles.VIEW_REGISTRY,),
    "boundaries": (roles.VIEW_REGISTRY,),  # a GET goes back to the place-name register
    "signs": (roles.VIEW_REGISTRY,),
}

# Routes that answer one referral (转介): a valid answer is taken (rolled back) only from the
# department account the referral is addressed to, in its area; 403 without the capability,
# 404 for any other (another department's, another area's); nothing changes when refused.
REFERRAL_ANSWER_ROUTES = {"api:answer_referral"}
# the department the matrix's referrals are addressed to, and the world's department account's
REFERRAL_KIND, REFERRAL_DEPARTMENT = "medical", "医保"

# Routes that register a household: (request body for a village and an ID number, the status
# of success). Each is posted a valid household in every out-of-area village (must be refused,
# nothing written) and in an in-area village (must succeed for an editor: the refusals are
# about the area, not a bad body).
def _api_household(area_code: str, id_number: str) -> dict:
    return {"area_code": area_code, "hukou_type": "urban", "address": "矩阵路1号",
            "members": [{"id_number": id_number, "name": "矩阵测试", "relation": "head"}]}


def _web_household(area_code: str, id_number: str) -> dict:
    return {"area_code": area_code, "hukou_type": "urban", "address": "矩阵路1号",
            "m-0-name": "矩阵测试", "m-0-id_number": id_number, "m-0-relation": "head",
            "m-0-labour_capacity": "full", "m-0-co_resident": "on"}


HOUSEHOLD_CREATORS: dict[str, tuple[Callable[[str, str], dict], int]] = {
    "api:create_household": (_api_household, 201),
    "household_new": (_web_household, 302),
}

# Listings of households: for a registry-view role the unfiltered listing is exactly the
# user's in-area households, and a search for an in-area marker finds exactly its household.
HOUSEHOLD_LISTINGS = {"household_list", "household_export", "api:list_households"}

# Pages open without login: the resident's 网上申请 form and its village list, and the
# 申请进度查询 pages (the look-up form answers every one of them while no case is open). The
# anonymous test checks they answer and show no record; an empty POST stores nothing;
# `test_case_status_opens_one_case_and_shows_no_record` opens each record's case.
PUBLIC_ROUTES = {"public_apply", "public_villages", "case_status", "case_status_withdraw",
                 "case_status_upload", "case_status_notice"}

# API operations (besides HOUSEHOLD_CREATORS) known to accept POST; Matrix.post_listing
# builds their bodies. Any other web POST is sent as an empty form.
API_POST_ROUTES = {"api:issue_token", "api:push_ticket", "api:sync_push_package",
                   "api:sync_push_warnings"}
# Sync routes (与上级监测平台同步): the capability, held by a person's role or by a 民政
# machine account (`platform_sync.access.may`); an empty POST is refused 403 without it, and
# 422 with it (no file, no rows), storing nothing.
SYNC_POSTS = {"api:sync_push_package": roles.SYNC_IMPORT,
              "api:sync_push_warnings": roles.SYNC_WARNINGS}

# Marker members: a unique name (and so masked name) and a unique ID sequence (so ID tail).
MARKERS = {
    "village_hh": ("司马青云", 300),
    "same_town_hh": ("诸葛明远", 310),
    "other_town_hh": ("上官红叶", 320),
    "guangdong_hh": ("慕容岭南", 330),
}


# --------------------------------------------------------------------------------------------
# Route discovery
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    name: str  # reversible, with its namespace: "household_detail", "api:get_household"
    pattern: str
    kwargs: tuple[str, ...]
    methods: frozenset[str]
    api: bool
    operation: bool = False  # a Ninja operation (as opposed to the API's docs and root)
    needs_auth: bool = False  # the Ninja operation carries an authenticator

    def __str__(self) -> str:
        return f"{self.name or '<unnamed>'} /{self.pattern} [{','.join(sorted(self.methods))}]"


def _nonlocals(func: Any) -> dict:
    try:
        return dict(inspect.getclosurevars(func).nonlocals)
    except TypeError:
        return {}


def _ninja_operations(callback: Any, name: str | None) -> list:
    path_view = _nonlocals(callback).get("self")
    operations = list(getattr(path_view, "operations", []))
    mine = [op for op in operations
            if (getattr(op, "url_name", None) or op.view_func.__name__) == name]
    return mine or operations


def _view_methods(callback: Any) -> frozenset[str]:
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return frozenset(m.upper() for m in view_class.http_method_names
                         if m not in ("head", "options") and hasattr(view_class, m))
    func = callback.func if isinstance(callback, functools.partial) else callback
    while func is not None:  # follow decorators down to require_http_methods, if any
        allowed = _nonlocals(func).get("request_method_list")
        if allowed is not None:
            return frozenset(m.upper() for m in allowed)
        func = getattr(func, "__wrapped__", None)
    return frozenset({"GET", "POST"})  # an undecorated view function answers any method


def _walk(patterns: list, prefix: str = "", namespace: str = "", kwargs: tuple = (),
          in_api: bool = False) -> Iterator[Route]:
    for entry in patterns:
        here = kwargs + tuple(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            ns = ":".join(n for n in (namespace, entry.namespace or "") if n)
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns, here,
                             in_api or entry.namespace == api.urls_namespace)
            continue
        assert isinstance(entry, URLPattern)
        name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
        operations = _ninja_operations(entry.callback, entry.name) if in_api else []
        if operations:
            methods = frozenset(m.upper() for op in operations for m in op.methods)
        else:
            methods = _view_methods(entry.callback)
        yield Route(name=name, pattern=prefix + str(entry.pattern), kwargs=here,
                    methods=methods, api=in_api, operation=bool(operations),
                    needs_auth=any(op.auth_callbacks for op in operations))


def discover_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def _tried_methods(route: Route) -> list[str]:
    return ["GET"] + (["POST"] if "POST" in route.methods else [])


# --------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------

def _person_tokens(person: Person) -> set[str]:
    return {person.id_number, person.masked_id, "*" + person.id_number[-4:], person.name,
            person.masked_name}


@pytest.fixture
def records(world, shipped_parameters, shipped_feed_types) -> dict[str, Record]:
    editors = [world.users.district_approver, world.gd_user]
    made: dict[str, Record] = {}
    world.users.department.department = REFERRAL_DEPARTMENT
    world.users.department.save()
    with context.job("permission matrix markers"):
        for i, (key, (name, seq)) in enumerate(MARKERS.items()):
            household = getattr(world, key)
            by = next(u for u in editors
                      if in_scope(u, household.area_code, roles.EDIT_REGISTRY))
            member = services.MemberInput(
                id_number=idnumber.make(household.area_code[:6],
                                        dt.date(1990, 1, 1) + dt.timedelta(days=i), seq, "M"),
                name=name, relation="child")
            marker = services.add_member(by=by, household=household, member=member).person
            tokens = {household.number}
            for membership in household.memberships.select_related("person"):
                tokens |= _person_tokens(membership.person)
            if key == "guangdong_hh":
                tokens.add(world.gd_user.username)
            application = _application(household, marker, i)
            CategoryAssignment.objects.create(  # 乡村振兴 watches it: rural pages show it
                household=household, category="relapse_watch", start_date=dt.date(2025, 1, 1),
                area_code=household.area_code)
            made[key] = Record(key, household, marker, frozenset(tokens),
                               *_exchange_objects(household, i), application=application,
                               enrollment=_enrollment(application),
                               filing_record=_filing_record(application),
                               warning=_warning(household, marker),
                               visit=_visit(household, marker),
                               institution=(home := _institution(household, marker)),
                               facility=_facility(household, marker),
                               project=ImprovementProject.objects.create(
                                   institution=home, name=f"矩阵改造{household.number}",
                                   plan="矩阵测试", year=2026, budget_fen=100_000,
                                   area_code=household.area_code),
                               campaign=_campaign(household),
                               organisation=Organisation.objects.create(
                                   name=f"矩阵社工站{household.number}", kind="station",
                                   area_code=household.area_code),
                               naming=NamingApplication.objects.create(
                                   kind="name", proposed_name=f"矩阵{household.number}",
                                   place_kind="road", reason="矩阵测试", applicant="矩阵",
                                   area_code=household.area_code),
                               filing=ReportInstance.objects.create(
                                   template="monthly_assistance", period="2026-10",
                                   due_on=dt.date(2026, 11, 10), area_code=household.area_code,
                                   data={"month": "2026-10", "columns": [household.number],
                                         "rows": []}),
                               account=_account(household),
                               golive=_golive(household),
                               referral=referrals.refer(
                                   by=by, household=household, kind=REFERRAL_KIND,
                                   person=marker, asked=f"矩阵转介 {household.number}"),
                               monitoring_run=MonitoringRun.objects.create(
                                   area_code=household.area_code, trigger="cli",
                                   as_of=dt.date(2026, 11, 2), status="done",
                                   message=f"矩阵测试 {household.number}"))
        _assignments(world, made)
    return made


def _golive(household: Household) -> GoliveImport:
    """A caseload dry run of the household's district whose plan names the household."""
    from doudi.golive import caseload

    record = GoliveImport.objects.create(
        what=GoliveImport.CASELOAD, mode=GoliveImport.DRY, status=GoliveImport.PLANNED,
        area_code=household.area_code[:6].ljust(12, "0"),
        message=f"矩阵试导入 {household.number}")
    line = {k: None for k in caseload.LINES_SCHEMA} | {
        "legacy_number": household.number, "action": caseload.NEW, "persons": 1}
    caseload.keep(record, pl.DataFrame([line], schema=caseload.LINES_SCHEMA),
                  pl.DataFrame(schema=REPORT_SCHEMA))
    return record


def _assignments(world, made: dict[str, Record]) -> None:
    """The world's running assignments (see PEER_CHECKED): rows as the services leave them,
    for the days around today."""
    today = clock.today()
    span = {"valid_from": today - dt.timedelta(days=1), "valid_to": today + dt.timedelta(days=9)}
    for key, kind, who in ((PEER_CHECKED, "peer", {"assignee_town": PEER_TOWN}),
                           (EVALUATED, "evaluator", {"assignee": world.users.evaluator})):
        campaign = made[key].campaign
        row = CampaignAssignment.objects.create(
            campaign=campaign, kind=kind, checked_town=made[key].area_code[:9],
            area_code=campaign.area_code, **who, **span)
        row.samples.set(campaign.samples.all())
    VisitorAssignment.objects.create(visitor=world.users.visitor, visitor_kind="grid_worker",
                                     person=made[VISITED].marker,
                                     area_code=made[VISITED].area_code, **span)


def assigned_records(user: User, records: dict[str, Record]) -> dict[str, set[str]]:
    """The records an active assignment gives the user, by key — worked out here from the
    assignment rows, as the product promises it, not by asking the product."""
    today = clock.today()
    town = user.area.prefix if user.area.level == 4 else ""
    found: dict[str, set[str]] = {"campaign": set(), "person": set()}
    for record in records.values():
        for row in CampaignAssignment.objects.filter(
                campaign=record.campaign, valid_from__lte=today, valid_to__gte=today,
                campaign__status=Campaign.RUNNING, samples__household=record.household):
            mine = row.assignee_id == user.pk or (
                row.assignee_town and row.assignee_town == town
                and user.can(roles.VIEW_REGISTRY))
            if mine and user.can(roles.CHECK_SAMPLE):
                found["campaign"].add(record.key)
        if user.can(roles.VIEW_ASSIGNED) and user.can(roles.RECORD_VISIT) and \
                VisitorAssignment.objects.filter(visitor=user, person=record.marker,
                                                 valid_from__lte=today).exists():
            found["person"].add(record.key)
    return found


def masked_and_full(record: Record) -> tuple[frozenset[str], frozenset[str]]:
    """The record's tokens an assignee may see (its number, masked names and IDs) and those
    never shown to one (full IDs, names in clear)."""
    full = set()
    for membership in record.household.memberships.select_related("person"):
        full |= {membership.person.id_number, membership.person.name}
    return frozenset(record.tokens - full), frozenset(full)


def _account(household: Household) -> User:
    """A village assistant's account in the household's village, its name carrying the
    household number so a page showing it can be told apart."""
    from doudi.accounts.models import UserRole

    account = User.objects.create(username=f"m{household.number}", area_id=household.area_code,
                                  full_name="矩阵账号")
    UserRole.objects.create(user=account, role="village_assistant")
    return account


def _visit(household: Household, marker: Person) -> Visit:
    """A visit to the marker with one photo whose PNG text chunk names the household."""
    import struct
    import zlib

    from doudi.casework.attachments import store

    visit = Visit.objects.create(person=marker, household=household,
                                 visited_on=dt.date(2026, 11, 2), seen="本人", living="矩阵测试",
                                 area_code=household.area_code)
    text = b"Comment\x00" + household.number.encode()
    png = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(text)) + b"tEXt" + text
           + struct.pack(">I", zlib.crc32(b"tEXt" + text) & 0xFFFFFFFF))
    content_type, digest, size = store(png, "matrix.png")
    VisitPhoto.objects.create(visit=visit, content_type=content_type, size=size, sha256=digest,
                              area_code=household.area_code)
    return visit


def _campaign(household: Household) -> Campaign:
    campaign = Campaign.objects.create(
        name=f"矩阵回头看{household.number}", kind="look_back", programmes=["dibao"],
        rate_bp=1000, seed=1, starts_on=dt.date(2026, 11, 2), due_on=dt.date(2026, 11, 30),
        area_code=household.area_code)
    CampaignSample.objects.create(campaign=campaign, household=household,
                                  town=household.area_code[:9], programme="dibao",
                                  area_code=household.area_code)
    return campaign


def _institution(household: Household, marker: Person) -> Institution:
    home = Institution.objects.create(name=f"矩阵敬老院{household.number}", kind="nursing_home",
                                      beds=10, nursing_beds=5, area_code=household.area_code)
    InstitutionResident.objects.create(institution=home, person=marker, care_level="mild",
                                       admitted_on=dt.date(2026, 11, 2),
                                       area_code=household.area_code)
    return home


def _facility(household: Household, marker: Person) -> Facility:
    station = Facility.objects.create(kind="mental_rehab", name=f"矩阵康复站{household.number}",
                                      capacity=10, area_code=household.area_code)
    FacilityService.objects.create(facility=station, name="职业康复",
                                   started_on=dt.date(2026, 11, 2),
                                   area_code=household.area_code)
    FacilityUser.objects.create(facility=station, person=marker, started_on=dt.date(2026, 11, 2),
                                area_code=household.area_code)
    return station


def _warning(household: Household, marker: Person) -> Warning:
    return Warning.objects.create(
        indicator="hotline", kind="hotline", level=2, channel="hotline",
        ticket_no=f"T{household.number}", reported_name=marker.name,
        household=household, person=marker, summary="矩阵测试", status="open",
        handler_level="town", owner_code=household.area_code[:9],
        area_code=household.area_code, due_on=dt.date(2026, 11, 9),
        subject_key=f"matrix|{household.pk}", open_key=f"matrix|{household.pk}")


def _filing_record(application: Application) -> FilingRecord:
    """The application's decision as a town took it under delegated power, filed (备案) and
    selected for the district's review."""
    return FilingRecord.objects.create(
        application=application, household=application.household,
        programme=application.programme, town=application.area_code[:9],
        decision="approved", amount_fen=application.amount_fen,
        decided_on=application.decided_on, decider_name="矩阵镇街审批", sampled=True,
        risks=["decider_visited"], selected=True, area_code=application.area_code)


def _enrollment(application: Application) -> Enrollment:
    """The application's enrollment, with one paid line in a run of the village's own."""
    e = Enrollment.objects.create(
        household=application.household, programme="dibao", amount_fen=50000,
        start_date=dt.date(2026, 11, 2), application=application,
        payee_name=application.applicant.name, payee_account="6217000000000000",
        area_code=application.area_code)
    run = PaymentRun.objects.create(month=dt.date(2026, 12, 1), status="settled",
                                    area_code=application.area_code,
                                    totals={"lines": 1, "total_fen": 50000})
    PaymentLine.objects.create(run=run, enrollment=e, month=run.month, regular_fen=50000,
                               arrears_fen=0, recovery_fen=0, total_fen=50000,
                               status="paid", area_code=application.area_code)
    return e


def _application(household: Household, marker: Person, n: int) -> Application:
    """A decided 低保 application of the household, the marker its applicant, with a PDF that
    names the household."""
    from doudi.casework import attachments

    day = dt.date(2026, 11, 2)
    app = Application.objects.create(
        number=f"SQ2026MATRIX{n:05d}", programme="dibao", channel="village", state="notice",
        household=household, applicant=marker, reason="矩阵测试", submitted_on=day,
        step_started_on=day, decision="approved", decided_on=day, amount_fen=50000,
        area_code=household.area_code)
    data = b"%PDF-1.4\n% " + household.number.encode() + b"\n%%EOF\n"
    digest = hashlib.sha256(data).hexdigest()
    attachments.storage_path(digest, ".pdf").write_bytes(data)
    app.attachments.create(kind="document", file_name=f"{household.number}.pdf",
                           content_type="application/pdf", size=len(data), sha256=digest,
                           area_code=household.area_code)
    # a resident's 网上申请 for the same programme, linked to the case (accepting it again
    # is refused: the household already has an open 低保 application)
    OnlineRequest.objects.create(
        programme="dibao", name=marker.name, id_number=marker.id_number, phone="13800000000",
        address="矩阵路", hukou_type="urban", reason="矩阵测试", consent=True,
        application=app, area_code=household.area_code)
    return app


def _exchange_objects(household: Household, n: int) -> tuple[ImportJob, FeedBatch,
                                                              VerificationReport]:
    """An import job (with a one-line error report), a batch and a verification report owned by
    the household's area, each naming the household so its page can be recognised."""
    from doudi.exchange import storage
    from doudi.exchange.imports import REPORT_SCHEMA

    feed = FeedType.objects.get(key=FEED_KEY)
    checksum = f"{n:064x}"
    report = pl.DataFrame({"row": [2], "field": ["plate"], "label": ["号牌号码"],
                           "value": [household.number], "reason": ["矩阵测试"],
                           "sheet": [""], "level": ["拒收"]},
                          schema=REPORT_SCHEMA)
    path = storage.report_path(checksum)
    report.write_parquet(path)
    name = f"{household.number}.csv"
    batch = FeedBatch.objects.create(
        feed_type=feed, version=100 + n, checksum=checksum, file_name=name, path="none",
        rows=1, good_rows=1, error_rows=0, duplicate_rows=0, matched_id=1, matched_weak=0,
        unmatched=0, area_code=household.area_code)
    job = ImportJob.objects.create(
        feed_type=feed, status=ImportJob.DONE, channel="cli", file_name=name, checksum=checksum,
        progress=100, batch=batch, errors_path=storage.relative(path),
        counts={"rows": 1, "good": 1}, area_code=household.area_code)
    report_row = VerificationReport.objects.create(
        household=household, day=dt.date(2026, 11, 1), differences=0,
        content={"household": {"id": household.pk, "number": household.number, "area": ""},
                 "day": "2026-11-01", "members": [], "sections": [], "differences": 0,
                 "batches": []},
        area_code=household.area_code)
    return job, batch, report_row


def _echoed(token: str, echo: tuple[str, ...]) -> bool:
    return any(token in term for term in echo)


def body_text(response: HttpResponse) -> str:
    """Everything a response shows: headers that carry data, the body, a parsed workbook."""
    parts = [response.get("Location", ""), response.get("Content-Disposition", "")]
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    content_type = response.get("Content-Type", "")
    if "spreadsheetml" in content_type:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        for sheet in book.sheet_names:
            parts += ["\t".join(str(cell) for cell in row)
                      for row in book.get_sheet_by_name(sheet).to_python()]
        return "\n".join(parts)
    if "application/zip" in content_type:  # a sync package: every member's text
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            parts += [z.read(name).decode("utf-8", errors="replace") for name in z.namelist()]
        return "\n".join(parts)
    text = content.decode("utf-8", errors="replace")
    parts.append(text)
    if "json" in content_type:  # Ninja escapes non-ASCII: compare against the real strings
        try:
            parts.append(json.dumps(json.loads(text), ensure_ascii=False))
        except ValueError:
            pass
    return "\n".join(parts)


def out_of_area_state(codes: list[str], assigned: frozenset[int] = frozenset()) -> dict:
    """The out-of-area rows; an assignee's audited views of the records assigned to them
    (`assigned`: their households) are theirs to leave, every other audit row counts."""
    state: dict[str, Any] = {
        model.__name__: list(model.objects.filter(area_code__in=codes).order_by("pk").values())
        for model in (Household, Person, Membership, Observation, CategoryAssignment, Consent,
                      VerificationReport, ImportJob, FeedBatch, Application,
                      ApplicationEvent, HomeVisit, OnlineRequest, FilingRecord, Enrollment,
                      EnrollmentEvent, PaymentRun, PaymentLine, Recalculation, ReviewTask,
                      Referral, Institution, ImprovementProject, Facility, FacilityService,
                      FacilityUser)
    }
    views = (Q(action=AuditEvent.VIEW) & Q(object_type="care.visitphoto")
             & Q(object_id__in=[str(pk) for pk in VisitPhoto.objects.filter(
                 visit__household_id__in=assigned).values_list("pk", flat=True)]))
    state["audit rows"] = AuditEvent.objects.filter(area_code__in=codes).exclude(views).count()
    return state


def _summary(rows: list[dict] | int) -> str:
    if isinstance(rows, int):
        return str(rows)
    return f"{len(rows)} rows (pk {[row['id'] for row in rows]})"


def _report(title: str, failures: list[str]) -> str:
    return f"{len(failures)} {title}:\n  " + "\n  ".join(failures)


# --------------------------------------------------------------------------------------------
# The matrix for one logged-in user
# --------------------------------------------------------------------------------------------

@dataclass
class Matrix:
    user: User
    records: dict[str, Record]
    new_id: Callable[..., str]
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        prefix = self.user.area.prefix
        everything = list(self.records.values())
        self.inside = [r for r in everything if r.area_code.startswith(prefix)]
        self.outside = [r for r in everything if not r.area_code.startswith(prefix)]
        shared = set().union(*(r.tokens for r in self.inside))
        self.forbidden = {r.key: r.tokens - shared for r in self.outside}
        for r in self.outside:  # the markers keep every out-of-area record recognisable
            assert {r.number, r.marker.name, r.marker.masked_id} <= self.forbidden[r.key]
        self.inside_numbers = {r.number for r in self.inside}
        self.assigned = assigned_records(self.user, self.records)
        self.assigned_masked = frozenset().union(*(
            masked_and_full(self.records[key])[0] for keys in self.assigned.values()
            for key in keys))
        self.web = Client(raise_request_exception=False)
        self.api = Client(raise_request_exception=False)
        self.token = ""

    # -- plumbing ----------------------------------------------------------------------------

    def fail(self, where: str, message: str) -> None:
        self.failures.append(f"{where}: {message}")

    def request(self, route: Route, method: str, path: str, *, query: dict | None = None,
                body: dict | None = None, headers: dict | None = None) -> HttpResponse:
        headers = dict(headers or {})
        if route.api:
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            if method == "GET":
                return self.api.get(path, query or {}, headers=headers)
            return self.api.post(path, json.dumps(body or {}), content_type="application/json",
                                 headers=headers)
        self.web.force_login(self.user)  # again each time: POST /logout/ ends the session
        if method == "GET":
            return self.web.get(path, query or {}, headers=headers)
        return self.web.post(path, body or {}, headers=headers)

    def checked(self, where: str, response: HttpResponse, echo: tuple[str, ...] = (),
                allow: frozenset[str] = frozenset()) -> str:
        """The response's text, after checking it shows no out-of-area record. `echo` are the
        search terms the user typed: a page may repeat them (the search box) without leaking;
        `allow`, the masked tokens of a record an assignment lets this page show."""
        text = body_text(response)
        if response.status_code >= 500:
            self.fail(where, f"server error {response.status_code}")
        for key, tokens in self.forbidden.items():
            shown = sorted(t for t in tokens
                           if t in text and not _echoed(t, echo) and t not in allow)
            if shown:
                self.fail(where, f"shows out-of-area record {key}: {shown}")
        return text

    def numbers_in(self, text: str, echo: tuple[str, ...] = ()) -> set[str]:
        return {r.number for r in self.records.values()
                if r.number in text and not _echoed(r.number, echo)}

    def expect_gate(self, route: Route, where: str, response: HttpResponse) -> None:
        caps = LISTING_CAPABILITIES.get(route.name)
        if caps is None:
            return
        want = 200 if not caps or any(self.user.can(c) for c in caps) else 403
        if response.status_code != want:
            self.fail(where, f"status {response.status_code}, expected {want}")

    # -- the matrix --------------------------------------------------------------------------

    def obtain_token(self) -> bool:
        response = self.api.post(reverse("api:issue_token"), json.dumps(
            {"username": self.user.username, "password": PASSWORD}),
            content_type="application/json")
        if response.status_code != 200:
            self.fail("POST /api/token", f"no token: {response.status_code}")
            return False
        self.token = response.json()["token"]
        return True

    def run(self, routes: list[Route]) -> None:
        if not self.obtain_token():
            return
        codes = sorted({r.area_code for r in self.outside})
        assigned = frozenset(self.records[key].household.pk
                             for keys in self.assigned.values() for key in keys)
        before = out_of_area_state(codes, assigned)
        for route in routes:
            if not route.name:
                self.fail(str(route), "unnamed route: name it so the matrix can reverse it")
            elif route.kwargs:
                self.detail(route)
            else:
                self.listing(route)
        after = out_of_area_state(codes, assigned)
        for key in before:
            if before[key] != after[key]:
                self.fail("out-of-area data", f"{key} rows changed: {_summary(before[key])} "
                                              f"→ {_summary(after[key])}")

    def detail(self, route: Route) -> None:
        if route.name in PARAMETER_ROUTES:
            self.parameter_route(route)
            return
        if route.name in FEED_ROUTES:
            self.feed_route(route)
            return
        if route.name in LAYOUT_ROUTES:
            self.layout_route(route)
            return
        if route.name in OUTBOUND_ROUTES:
            self.outbound_route(route)
            return
        if route.name in REFERRAL_ANSWER_ROUTES:
            self.referral_answer_route(route)
            return
        missing = [k for k in route.kwargs if k not in KWARG_VALUES]
        if missing:
            self.fail(str(route), f"URL parameter(s) {missing} have no entry in KWARG_VALUES: "
                                  "the new route needs a permission-matrix entry")
            return
        capability = DETAIL_CAPABILITY.get(route.name, roles.VIEW_REGISTRY)
        capabilities = capability if isinstance(capability, tuple) else (capability,)
        holder = any(self.user.can(c) for c in capabilities)
        assignment_key = ASSIGNMENT_ROUTES.get(route.name)
        for record in self.records.values():
            path = reverse(route.name, kwargs={k: KWARG_VALUES[k](record) for k in route.kwargs})
            inside = record in self.inside
            assigned = assignment_key is not None and record.key in self.assigned[assignment_key]
            for method in _tried_methods(route):
                where = (f"{route} {method} {path} "
                         f"({'in-area' if inside else 'out-of-area'} {record.key}"
                         f"{', assigned' if assigned else ''})")
                reveals = AuditEvent.objects.filter(action=AuditEvent.VIEW_FULL,
                                                    area_code=record.area_code)
                reveals_before = reveals.count()
                response = self.request(route, method, path)
                masked, full = masked_and_full(record)
                text = self.checked(where, response, allow=masked if assigned else frozenset())
                status = response.status_code
                allowed = method in route.methods
                refused = {403, 404} if allowed else {403, 404, 405}
                if assigned:  # the assignment's window: the record, masked, whatever its area
                    if not allowed:
                        if status not in refused:
                            self.fail(where, f"status {status}, expected one of "
                                             f"{sorted(refused)}")
                    elif status != 200:
                        self.fail(where, f"status {status}, expected 200 (assigned)")
                    elif not any(t in text for t in (record.number, record.marker.masked_name)):
                        self.fail(where, "200 but the assigned record is not in the page")
                    shown = sorted(t for t in full if t in text)
                    if shown:
                        self.fail(where, f"shows an assigned record unmasked: {shown}")
                elif not inside or not allowed:
                    if status not in refused:
                        self.fail(where, f"status {status}, expected one of {sorted(refused)}")
                elif holder:
                    if status != 200:
                        self.fail(where, f"status {status}, expected 200")
                    elif not any(t in text for t in (record.number, record.marker.name,
                                                      record.marker.masked_name)):
                        self.fail(where, "200 but the record is not in the page")
                else:
                    if status not in refused:
                        self.fail(where, f"status {status}, expected one of {sorted(refused)}")
                    if any(t in text for t in record.tokens):
                        self.fail(where, "a role without access is shown the record")
                if (status != 200 or not inside) and reveals.count() != reveals_before:
                    self.fail(where, "wrote a view_full audit row without showing the record")

    def referral_answer_route(self, route: Route) -> None:
        answers = (self.user.can(roles.ANSWER_REFERRALS)
                   and self.user.department == REFERRAL_DEPARTMENT)
        for record in self.records.values():
            path = reverse(route.name, kwargs={"referral_id": record.referral.pk})
            inside = record in self.inside
            for method in _tried_methods(route):
                where = (f"{route} {method} {path} "
                         f"({'in-area' if inside else 'out-of-area'} {record.key})")
                if method not in route.methods:
                    want = {405}
                elif not self.user.can(roles.ANSWER_REFERRALS):
                    want = {403}
                else:
                    want = {200} if inside and answers else {404}
                with transaction.atomic():  # rolled back, to keep the world as it was
                    response = self.request(route, method, path, body={"outcome": "accepted"})
                    status = Referral.objects.get(pk=record.referral.pk).status
                    transaction.set_rollback(True)
                self.checked(where, response)
                if response.status_code not in want:
                    self.fail(where, f"status {response.status_code}, "
                                     f"expected one of {sorted(want)}")
                if status != ("accepted" if response.status_code == 200 else "sent"):
                    self.fail(where, f"the referral is {status} after {response.status_code}")

    def parameter_route(self, route: Route) -> None:
        path = reverse(route.name, kwargs={"key": POLICY_KEY})
        holder = self.user.can(PARAMETER_ROUTES[route.name])
        for method in _tried_methods(route):
            where = f"{route} {method} {path}"
            response = self.request(route, method, path)
            self.checked(where, response)
            if method not in route.methods:
                want = {405}
            elif not holder:
                want = {403}
            else:
                want = {200} if method == "GET" else {200, 302}
            if response.status_code not in want:
                self.fail(where, f"status {response.status_code}, expected one of {sorted(want)}")
        if route.name == "policy_value_add":
            self.policy_values(route, path)

    def feed_route(self, route: Route) -> None:
        path = reverse(route.name, kwargs={"feed_key": FEED_KEY})
        holder = self.user.can(FEED_ROUTES[route.name])
        for method in _tried_methods(route):
            where = f"{route} {method} {path}"
            batches = FeedBatch.objects.count()
            response = self.request(route, method, path)
            self.checked(where, response)
            if method not in route.methods:
                want = {405}
            elif not holder:
                want = {403}
            else:
                want = {422} if route.api else {200}
            if response.status_code not in want:
                self.fail(where, f"status {response.status_code}, expected one of {sorted(want)}")
            if FeedBatch.objects.count() != batches:
                self.fail(where, "a batch was stored without a file")

    def outbound_route(self, route: Route) -> None:
        path = reverse(route.name, kwargs={"list_key": OUTBOUND_KEY})
        holder = self.user.can(OUTBOUND_ROUTES[route.name]) and (
            not route.api or self.user.department == OUTBOUND_DEPARTMENT)
        for method in _tried_methods(route):
            where = f"{route} {method} {path}"
            response = self.request(route, method, path, body={"kind": "full"})
            self.checked(where, response)
            if method not in route.methods:
                want = {405}
            elif not holder:
                want = {403}
            else:
                want = {200}
            if response.status_code not in want:
                self.fail(where, f"status {response.status_code}, expected one of {sorted(want)}")

    def layout_route(self, route: Route) -> None:
        shipped = BankLayout.objects.get(code="default")
        county = sorted({r.area_code[:6] for r in self.outside}
                        - {r.area_code[:6] for r in self.inside})[0]
        foreign, _ = BankLayout.objects.get_or_create(
            code=f"matrix_{county}", defaults={"name": "矩阵外县格式", "area_code": county,
                                               "columns": [["流水号", "line"]]})
        holder = self.user.can(LAYOUT_ROUTES[route.name])
        for row in (shipped, foreign):
            path = reverse(route.name, kwargs={"layout_id": row.pk})
            before = model_to_dict(row)
            for method in _tried_methods(route):
                where = f"{route} {method} {path} ({row.code})"
                response = self.request(route, method, path, body={"name": "矩阵改名"})
                text = self.checked(where, response)
                if method not in route.methods:
                    want = {405}
                elif not holder:
                    want = {403}
                else:
                    want = {200} if row is shipped else {404}
                if response.status_code not in want:
                    self.fail(where, f"status {response.status_code}, "
                                     f"expected one of {sorted(want)}")
                if row is foreign and "矩阵外县格式" in text:
                    self.fail(where, "shows an out-of-area county's layout")
                row.refresh_from_db()
                if model_to_dict(row) != before:
                    self.fail(where, "the layout was changed")

    def policy_values(self, route: Route, path: str) -> None:
        def body(area_code: str) -> dict:
            return {"area_code": area_code, "effective_from": "2099-01-01", "value": "800",
                    "reference": "矩阵测试〔2099〕1号"}

        rows = PolicyParameter.objects.count()
        for county in sorted({r.area_code[:6] for r in self.outside}
                             - {r.area_code[:6] for r in self.inside}):
            where = f"{route} POST {path} (out-of-area county {county})"
            response = self.request(route, "POST", path, body=body(county))
            self.checked(where, response)
            if response.status_code not in (200, 403):
                self.fail(where, f"status {response.status_code}, expected 200 or 403")
            if PolicyParameter.objects.count() != rows:
                self.fail(where, "a policy value was set outside the user's area")
        where = f"{route} POST {path} (own area {self.user.area.prefix})"
        editor = self.user.can(roles.EDIT_POLICY)
        with transaction.atomic():  # rolled back, to keep the world as it was
            response = self.request(route, "POST", path, body=body(self.user.area.prefix))
            made = PolicyParameter.objects.count() - rows
            transaction.set_rollback(True)
        self.checked(where, response)
        if (response.status_code, made) != ((302, 1) if editor else (403, 0)):
            self.fail(where, f"status {response.status_code} ({made} rows written), expected "
                             f"{302 if editor else 403}")

    def listing(self, route: Route) -> None:
        path = reverse(route.name)
        base = {"page_size": 200} if route.api else {}
        variants: list[tuple[str, dict, dict, Record | None]] = [("", {}, {}, None)]
        if not route.api:
            variants.append(("htmx", {}, {"HX-Request": "true"}, None))
        # Searches and filters for each out-of-area record, and (the positive control) for
        # each in-area one. The API's schema, docs and root read no request data: skipped.
        reads_query = route.operation or not route.api
        for r in self.outside if reads_query else []:
            variants += [
                (f"q=name of {r.key}", {"q": r.marker.name}, {}, None),
                (f"q=initials of {r.key}", {"q": r.marker.name_initials}, {}, None),
                (f"q=ID of {r.key}", {"q": r.marker.id_number}, {}, None),
                (f"q=number of {r.key}", {"q": r.number}, {}, None),
                (f"area={r.area_code}", {"area": r.area_code}, {}, None),
            ]
        sees_full = self.user.can(roles.VIEW_FULL_PII)
        for r in self.inside if reads_query else []:
            variants.append((f"q=name of {r.key}", {"q": r.marker.name}, {}, r))
            if not sees_full:  # a masked viewer finds by what they see: the ID's last four
                variants.append((f"q=last four of {r.key}", {"q": r.marker.id_number[-4:]}, {}, r))
        sees_registry = self.user.can(roles.VIEW_REGISTRY)
        for label, query, headers, found_record in variants:
            where = f"{route} GET {path}?{label}" if label else f"{route} GET {path}"
            response = self.request(route, "GET", path, query={**base, **query},
                                    headers=headers)
            echo = tuple(str(v) for v in query.values())
            text = self.checked(where, response, echo, allow=self.assigned_masked
                                if route.name in ASSIGNMENT_LISTINGS else frozenset())
            # a name, initials or a full ID from a role that sees them only masked: refused
            # (registry.queries.check_search) — the page lists nothing, the API answers 422
            masked_key = label.startswith(("q=name", "q=initials", "q=ID"))
            if masked_key and sees_registry and not sees_full and \
                    route.name in HOUSEHOLD_LISTINGS and response.status_code != 403:
                expected = 422 if route.api else 400 if route.name == "household_export" else 200
                if response.status_code != expected or (
                        not route.api and self.numbers_in(text, echo)):
                    self.fail(where, f"status {response.status_code}: a search by a masked "
                                     "key should be refused")
                continue
            self.expect_gate(route, where, response)
            if response.status_code != 200:
                if not query:  # refused, redirected or no GET: no point in searching it
                    break
                continue
            if route.name not in HOUSEHOLD_LISTINGS:
                continue
            shown = self.numbers_in(text, echo)
            if not sees_registry:
                want: set[str] = set()
            elif found_record is not None:
                want = {found_record.number}
            elif not query:
                want = self.inside_numbers
            else:
                want = shown & self.inside_numbers  # out-of-area search: nothing else
            if shown != want:
                self.fail(where, f"lists {sorted(shown)}, expected {sorted(want)}")
        if "POST" in route.methods:
            self.post_listing(route, path)

    def post_listing(self, route: Route, path: str) -> None:
        where = f"{route} POST {path}"
        if route.name in HOUSEHOLD_CREATORS:
            self.create_household(route, path)
            return
        if route.operation and route.name not in API_POST_ROUTES:
            self.fail(where, "API POST route without a body in the matrix: add it to "
                             "API_POST_ROUTES and teach Matrix.post_listing its payload")
            return
        if route.name == "api:issue_token":
            body = {"username": self.user.username, "password": PASSWORD}
            response = self.request(route, "POST", path, body=body)
            self.checked(where, response)
            if response.status_code != 200 or "token" not in response.json():
                self.fail(where, f"status {response.status_code}, expected a token")
            return
        if route.name == "api:push_ticket":
            self.push_tickets(route, path)
            return
        if route.name in SYNC_POSTS:
            from doudi.platform_sync import access
            from doudi.platform_sync.models import SyncImport

            before = (Warning.objects.count(), SyncImport.objects.count())
            response = self.request(route, "POST", path)
            self.checked(where, response)
            want = 422 if access.may(self.user, SYNC_POSTS[route.name]) else 403
            if response.status_code != want:
                self.fail(where, f"status {response.status_code}, expected {want}")
            if (Warning.objects.count(), SyncImport.objects.count()) != before:
                self.fail(where, "an empty sync request stored something")
            return
        response = self.request(route, "POST", path)
        self.checked(where, response, allow=self.assigned_masked
                     if route.name in ASSIGNMENT_LISTINGS else frozenset())
        self.expect_gate(route, where, response)
        gate = POST_GATES.get(route.name)
        if gate is not None:
            holder = any(self.user.can(c) for c in gate)
            if holder == (response.status_code == 403):
                self.fail(where, f"status {response.status_code} for "
                                 f"{'a holder' if holder else 'a role without'} of {gate}")

    def push_tickets(self, route: Route, path: str) -> None:
        """A 12345 ticket for every out-of-area village is refused and stores nothing; one for
        the user's own area is taken from the hotline account only (rolled back)."""
        def body(record: Record) -> dict:
            return {"ticket_no": f"MATRIX-{record.key}", "area_code": record.area_code,
                    "name": "矩阵求助", "summary": "矩阵测试"}

        for record in self.outside:
            where = f"{route} POST {path} (village of out-of-area {record.key})"
            count = Warning.objects.count()
            response = self.request(route, "POST", path, body=body(record))
            self.checked(where, response)
            if response.status_code not in (403, 404, 422):
                self.fail(where, f"status {response.status_code}, expected a refusal")
            if Warning.objects.count() != count:
                self.fail(where, "a ticket was stored outside the account's area")
        if not self.inside:
            return
        where = f"{route} POST {path} (village of in-area {self.inside[0].key})"
        want = 201 if self.user.can(roles.HOTLINE) else 403
        with transaction.atomic():
            response = self.request(route, "POST", path, body=body(self.inside[0]))
            transaction.set_rollback(True)
        self.checked(where, response)
        if response.status_code != want:
            self.fail(where, f"status {response.status_code}, expected {want}")

    def create_household(self, route: Route, path: str) -> None:
        make_body, created = HOUSEHOLD_CREATORS[route.name]
        refused = {403, 404, 422} if route.api else {200, 403, 404}  # 200: form shown again
        for record in self.outside:
            where = f"{route} POST {path} (village of out-of-area {record.key})"
            id_number = self.new_id(record.area_code[:6])
            count = Household.objects.count()
            response = self.request(route, "POST", path,
                                    body=make_body(record.area_code, id_number))
            self.checked(where, response, echo=(id_number,))
            if response.status_code not in refused:
                self.fail(where, f"status {response.status_code}, expected one of "
                                 f"{sorted(refused)}")
            if Household.objects.count() != count:
                self.fail(where, "a household was created outside the user's area")
            if Person.objects.filter(id_number=id_number).exists():
                self.fail(where, "a person was created outside the user's area")
        if not self.inside:
            return
        # The same body inside the area: rolled back, to keep the world as it was.
        where = f"{route} POST {path} (village of in-area {self.inside[0].key})"
        want = created if self.user.can(roles.EDIT_REGISTRY) else 403
        id_number = self.new_id(self.inside[0].area_code[:6])
        with transaction.atomic():
            response = self.request(route, "POST", path,
                                    body=make_body(self.inside[0].area_code, id_number))
            made = Person.objects.filter(id_number=id_number).exists()
            transaction.set_rollback(True)
        self.checked(where, response, echo=(id_number,))
        if response.status_code != want or made != (want == created):
            self.fail(where, f"status {response.status_code} (person created: {made}), "
                             f"expected {want}")


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------

def test_route_discovery_finds_web_and_api_routes():
    routes = discover_routes()
    names = {r.name for r in routes}
    referenced = (set(LISTING_CAPABILITIES) | HOUSEHOLD_LISTINGS | set(DETAIL_CAPABILITY)
                  | set(POST_GATES)
                  | API_POST_ROUTES | set(HOUSEHOLD_CREATORS) | set(PARAMETER_ROUTES)
                  | set(OUTBOUND_ROUTES)
                  | REFERRAL_ANSWER_ROUTES
                  | {"household_detail", "api:get_household"})
    assert referenced <= names, ("matrix entries for routes that no longer exist: "
                                 f"{sorted(referenced - names)}")
    by_name = {r.name: r for r in routes}
    assert by_name["person_reveal"].methods == {"POST"}
    assert by_name["api:get_household"].kwargs == ("household_id",)
    assert by_name["api:get_household"].needs_auth
    assert not by_name["api:issue_token"].needs_auth
    assert by_name["api:create_household"].methods == {"POST"}
    assert all(r.methods for r in routes)
    assert sum(r.api for r in routes) >= 4 and sum(not r.api for r in routes) >= 8


def test_every_route_parameter_has_a_matrix_entry():
    missing = {str(r): [k for k in r.kwargs if k not in KWARG_VALUES]
               for r in discover_routes() if set(r.kwargs) - set(KWARG_VALUES)}
    assert not missing, ("new route(s) need a permission-matrix entry in KWARG_VALUES "
                         f"(tests/test_permission_matrix.py): {missing}")


@pytest.mark.parametrize("role", list(ROLES))
def test_permission_matrix(role, world, records, new_id):
    user = getattr(world.users, role)
    assert user.username == role and user.role_codes == [role]
    matrix = Matrix(user, records, new_id)
    matrix.run(discover_routes())
    assert not matrix.failures, _report(f"permission-matrix failure(s) for {role}",
                                        matrix.failures)


def test_anonymous_is_sent_to_login_or_refused(world, records, new_id):
    login_path = resolve_url(django_settings.LOGIN_URL)
    tokens = set().union(*(r.tokens for r in records.values()))
    failures: list[str] = []
    households = Household.objects.count()
    session_client = Client(raise_request_exception=False)
    session_client.force_login(world.users.district_approver)  # a session is no API token
    api_callers = [
        ("no credentials", Client(raise_request_exception=False), {}),
        ("session cookie only", session_client, {}),
        ("bogus token", Client(raise_request_exception=False),
         {"Authorization": "Bearer not-a-real-token"}),
    ]
    for route in discover_routes():
        if not route.name:
            failures.append(f"{route}: unnamed route: name it so the matrix can reverse it")
            continue
        if set(route.kwargs) - set(KWARG_VALUES):
            failures.append(f"{route}: URL parameter(s) without an entry in KWARG_VALUES: the "
                            "new route needs a permission-matrix entry")
            continue
        targets = list(records.values()) if route.kwargs else [None]
        for record in targets:
            kwargs = {k: KWARG_VALUES[k](record) for k in route.kwargs}
            path = reverse(route.name, kwargs=kwargs)
            for method in _tried_methods(route):
                allowed = method in route.methods
                callers = api_callers if route.api else [
                    ("anonymous", Client(raise_request_exception=False), {})]
                for label, client, headers in callers:
                    where = f"{route} {method} {path} ({label})"
                    if method == "GET":
                        response = client.get(path, headers=headers)
                    elif route.name in HOUSEHOLD_CREATORS:
                        area_code = records["village_hh"].area_code
                        body = HOUSEHOLD_CREATORS[route.name][0](area_code,
                                                                 new_id(area_code[:6]))
                        response = (client.post(path, json.dumps(body), headers=headers,
                                                content_type="application/json")
                                    if route.api else client.post(path, body, headers=headers))
                    elif route.api:
                        body = {"username": "district_officer", "password": "wrong"}
                        response = client.post(path, json.dumps(body), headers=headers,
                                               content_type="application/json")
                    else:
                        response = client.post(path, {}, headers=headers)
                    status = response.status_code
                    text = body_text(response)
                    shown = sorted(t for t in tokens if t in text)
                    if shown:
                        failures.append(f"{where}: shows {shown}")
                    if status >= 500:
                        failures.append(f"{where}: server error {status}")
                    if route.api and route.operation:  # authenticated or token operations
                        want = {401} if allowed else {401, 405}
                        if status not in want:
                            failures.append(f"{where}: status {status}, expected {want}")
                    elif route.api:  # the API's docs, schema and root carry no records
                        continue
                    elif path == login_path:
                        if status != 200:
                            failures.append(f"{where}: login page answers {status}")
                    elif route.name in PUBLIC_ROUTES:  # open by design; shows no record
                        if status != 200 and not (status == 405 and not allowed):
                            failures.append(f"{where}: public page answers {status}")
                    elif status == 405 and not allowed:
                        continue
                    elif status != 302 or not response["Location"].startswith(login_path):
                        failures.append(f"{where}: status {status} "
                                        f"{response.get('Location', '')}, expected a redirect "
                                        f"to {login_path}")
    if Household.objects.count() != households:
        failures.append("an anonymous request created a household")
    if OnlineRequest.objects.filter(application__isnull=True).exists():
        failures.append("an empty anonymous POST stored a 网上申请")
    assert not failures, _report("anonymous-access failure(s)", failures)


def test_case_status_opens_one_case_and_shows_no_record(world, records, settings):
    """申请进度查询 (no login), for each record's case: a wrong ID tail opens nothing and shows
    no record; the right one opens that case alone — its number, none of any record's tokens
    (not even its own household's: the page reveals nothing else of it), and every public
    page then still shows no other record; its served notice names the applicant masked."""
    from django.core.cache import cache

    from doudi.casework.case_status import TAIL_LENGTH

    cache.clear()
    settings.DOUDI_CASE_STATUS_RATE_PER_MINUTE = 1000  # the per-address limit is tested apart
    failures: list[str] = []
    tokens = set().union(*(r.tokens for r in records.values()))
    status_path = reverse("case_status")
    for r in records.values():
        app = r.application
        tail = r.marker.id_number[-TAIL_LENGTH:]
        client = Client(raise_request_exception=False)
        wrong = client.post(status_path, {"number": app.number,
                                          "tail": "000000" if tail != "000000" else "111111"})
        shown = sorted(t for t in tokens if t in body_text(wrong))
        if wrong.status_code != 200 or shown or client.get(status_path).content.decode() \
                .count(app.number):
            failures.append(f"{r.key}: a wrong tail answers {wrong.status_code}, shows {shown}")
        opened = client.post(status_path, {"number": app.number, "tail": tail})
        if opened.status_code != 302:
            failures.append(f"{r.key}: the right tail answers {opened.status_code}")
            continue
        ApplicationEvent.objects.get_or_create(  # served: the notice may be downloaded
            application=app, action="issue_notice", defaults={
                "from_state": "notice", "to_state": "approved", "actor_name": "matrix",
                "area_code": app.area_code})
        others = tokens - r.tokens
        for name in sorted(PUBLIC_ROUTES):
            route_path = reverse(name)
            for method in ("GET", "POST"):
                response = (client.get(route_path) if method == "GET"
                            else client.post(route_path, {}))
                text = body_text(response)
                mine = r.tokens - ({r.marker.masked_name} if name == "case_status_notice"
                                   else set())
                leaked = sorted(t for t in others | mine if t in text)
                if leaked or response.status_code >= 500:
                    failures.append(f"{r.key}: {method} {route_path} ({response.status_code}) "
                                    f"shows {leaked}")
                if (name, method) == ("case_status", "GET") and app.number not in text:
                    failures.append(f"{r.key}: the opened case is not on its status page")
            if name == "case_status":  # the empty POST above was a failed look-up: open again
                client.post(status_path, {"number": app.number, "tail": tail})
    assert not failures, _report("case-status failure(s)", failures)


# --------------------------------------------------------------------------------------------
# Leaks outside the generated matrix: duplicate-ID refusals and moved members' later records
# --------------------------------------------------------------------------------------------

def test_duplicate_id_refusal_names_no_out_of_area_household(world, records, new_id):
    routes = {r.name: r for r in discover_routes()}
    failures: list[str] = []
    for role in ROLES:
        user = getattr(world.users, role)
        if not user.can(roles.EDIT_REGISTRY):
            continue
        matrix = Matrix(user, records, new_id)
        assert matrix.obtain_token() and matrix.inside and matrix.outside
        taken = matrix.outside[0].marker.id_number  # registered in the nearest other area
        for name, (make_body, _created) in HOUSEHOLD_CREATORS.items():
            count = Household.objects.count()
            response = matrix.request(routes[name], "POST", reverse(name),
                                      body=make_body(matrix.inside[0].area_code, taken))
            where = f"{role} {name} with the ID of {matrix.outside[0].key}"
            matrix.checked(where, response, echo=(taken,))
            if response.status_code not in (200, 422) or Household.objects.count() != count:
                matrix.fail(where, f"status {response.status_code}, expected a refusal")
        failures += matrix.failures
    assert not failures, _report("duplicate-ID refusal leak(s)", failures)


def test_household_detail_hides_what_another_area_recorded_after_a_member_moved_out(
        world, records):
    moved = records["village_hh"].marker
    with context.job("permission matrix move"):
        services.move_person(by=world.users.district_approver, person=moved,
                             to_household=world.other_town_hh, relation="other")
        moved.refresh_from_db()
        services.assign_category(by=world.users.district_approver, category="serious_illness",
                                 person=moved, start_date=dt.date(2026, 1, 1),
                                 note="屯光镇认定重病")
    officer = world.users.town_officer  # 黎阳镇: the old household is in area, the new is not
    assert not moved.area_code.startswith(officer.area.prefix)
    client = Client(raise_request_exception=False)
    client.force_login(officer)
    response = client.get(reverse("household_detail",
                                  kwargs={"household_id": world.village_hh.pk}))
    text = body_text(response)
    assert response.status_code == 200
    assert moved.masked_name in text  # the membership history itself stays, by design
    assert "屯光镇认定重病" not in text, "shows a category row recorded by 屯光镇"
    assert "类别 重病" not in text, "shows the 屯光镇 category in the timeline"
