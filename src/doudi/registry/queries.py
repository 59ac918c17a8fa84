"""Read-side helpers shared by the web UI, the API and exports. They narrow a queryset that
already went through `visible_to`, so they can never widen a user's scope."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from doudi.accounts import roles
from doudi.core import idnumber
from doudi.core.errors import ServiceError
from doudi.core.masking import mask_id_number, mask_name
from doudi.registry.categories import CATEGORIES
from doudi.registry.models import CategoryAssignment, Household, Membership, Person


def _with_current_member(persons: QuerySet[Person]) -> Q:
    """Households that have a current member among `persons` (a subquery, not a join, so
    no DISTINCT is needed and the planner can start from the person index)."""
    return Q(pk__in=Membership.objects.filter(end_date__isnull=True, person__in=persons)
             .values("household_id"))


class SearchRefused(ServiceError):
    """A search by a key the user may see only masked (names, IDs): refused, audited."""


MASKED_SEARCH_REFUSED = (
    "您的角色只能查看脱敏的姓名和身份证号，不能按姓名、拼音首字母或身份证号搜索"
    "（否则可以逐一试出被隐藏的部分）；请按家庭编号、身份证号后4位或姓氏（一个字）搜索")

# what a search term is read as; the kinds a masked viewer sees only masked
NAME, INITIALS, ID, ID_TAIL, NUMBER = "name", "initials", "id", "id_tail", "number"
# a single character is a surname: the masked name shows it in clear (张*三), so searching by
# it reveals nothing masking hides, and any viewer may (a compound surname's second character
# is hidden: 欧**明, so two characters are a full name, searched only by full viewers)
SURNAME = "surname"
MASKED_KINDS = frozenset({NAME, INITIALS, ID})


def search_kind(q: str) -> str:
    """How `search_households` reads a (normalised, non-empty) term."""
    if q.isascii() and q.isalpha():
        return INITIALS
    if len(q) == 1 and q.isalpha():
        return SURNAME
    if len(q) == 18:
        return ID
    if len(q) == 4 and q[:3].isdigit() and (q[3].isdigit() or q[3] == "X"):
        return ID_TAIL
    if q.isdigit():
        return NUMBER
    return NAME


def masked_term(q: str) -> str:
    """A search term as an audit row may carry it."""
    kind = search_kind(q) if q else NUMBER
    if kind == ID:
        return mask_id_number(q)
    if kind == NAME:
        return mask_name(q)
    if kind == INITIALS:
        return q[:1] + "*" * (len(q) - 1)
    return q


def check_search(user, q: str, *, where: str = "家庭档案") -> None:  # noqa: ANN001
    """The one rule for every search surface (list, export, API): a user who sees names and
    IDs only masked may search only by what they see in clear — the household number and the
    ID's last four. A full ID, a name or pinyin initials would let them confirm a guess at the
    hidden part one search at a time (a candidate birth date with its check digit, a middle
    character), so such a search is refused and the attempt audited."""
    q = idnumber.normalize(q or "")
    if not q or search_kind(q) not in MASKED_KINDS or user.can(roles.VIEW_FULL_PII) or \
            not user.can(roles.VIEW_REGISTRY):  # without the registry nothing is listed anyway
        return
    from doudi.audit import services as audit
    from doudi.audit.models import AuditEvent

    audit.record(AuditEvent.REFUSED, object_type="registry.household",
                 object_label=f"搜索被拒（{where}，无查看完整信息权限）",
                 area_code=getattr(user, "area_code", "") or "",
                 changes={"q": masked_term(q), "kind": search_kind(q)})
    raise SearchRefused(MASKED_SEARCH_REFUSED, field="q")


def search_households(
    qs: QuerySet[Household], *, q: str = "", area_prefix: str = "", category: str = "",
    hukou_type: str = "", user,  # noqa: ANN001
) -> QuerySet[Household]:
    """搜索: a member's full name or surname (one character), pinyin initials, full ID or its
    last 4 characters, or the household number; filters by area prefix (town/village),
    category in force and 户籍类型. The term is first checked against `user` by `check_search`.

    Partial names and longer ID fragments are not matched on purpose: probing them one
    character at a time would uncover what masking hides, without an audited reveal."""
    q = idnumber.normalize(q or "")
    check_search(user, q)
    if q:
        kind = search_kind(q)
        if kind == INITIALS:
            match = _with_current_member(Person.objects.filter(name_initials__startswith=q.lower()))
        elif kind == ID:
            match = _with_current_member(Person.objects.filter(id_number=q))
        elif kind == ID_TAIL:
            # IDs are stored encrypted: the last four are matched on their own column
            match = _with_current_member(Person.objects.filter(id_tail=q))
        elif kind == NUMBER:
            match = Q(number=q)
        elif kind == SURNAME:  # among the persons of the user's own area only
            match = _with_current_member(Person.objects.visible_to(user).filter(
                name__startswith=q))
        else:
            match = _with_current_member(Person.objects.filter(name=q))
        qs = qs.filter(match)
    if area_prefix and area_prefix.isdigit():
        qs = qs.filter(area_code__startswith=area_prefix)
    if category in CATEGORIES:
        open_rows = CategoryAssignment.objects.filter(category=category, end_date__isnull=True)
        if CATEGORIES[category].level == "H":
            qs = qs.filter(pk__in=open_rows.values("household_id"))
        else:
            qs = qs.filter(_with_current_member(
                Person.objects.filter(pk__in=open_rows.values("person_id"))))
    if hukou_type in ("urban", "rural"):
        qs = qs.filter(hukou_type=hukou_type)
    return qs


# one answer for "no such number" and "not yours": telling them apart would let a user learn
# which numbers exist in other areas (an existence oracle)
NOT_FOUND_HERE = "未找到该家庭编号（或该家庭不在您的管辖范围内）"


def household_by_number(user, number: str, capability: str = roles.VIEW_REGISTRY  # noqa: ANN001
                        ) -> Household | None:
    """A household named by its number in a form, only if the user holds `capability` over
    its area; None alike when it does not exist and when it is out of the user's area."""
    number = (number or "").strip()
    if not number:
        return None
    return Household.objects.visible_to(user, capability).filter(number=number).first()


def person_by_id_number(user, qs: QuerySet[Person], number: str) -> Person | None:  # noqa: ANN001
    """The one look-up of a person by a typed resident ID (forms that name a person by ID):
    only for users who may see full IDs, else the look-up would confirm a guessed ID."""
    number = idnumber.normalize(number or "")
    if not user.can(roles.VIEW_FULL_PII):
        check_search(user, number, where="按身份证号查找人员")
        raise SearchRefused(MASKED_SEARCH_REFUSED, field="id_number")
    return qs.filter(id_number=number).first() if number else None


def with_list_columns(qs: QuerySet[Household]) -> QuerySet[Household]:
    """Area names, current members (as `current_members`) and open categories for a page."""
    return qs.select_related("area", "area__parent").prefetch_related(
        Prefetch(
            "memberships",
            queryset=Membership.objects.filter(end_date__isnull=True)
            .select_related("person").order_by("start_date", "id"),
            to_attr="current_members",
        ),
        Prefetch(
            "categories",
            queryset=CategoryAssignment.objects.filter(end_date__isnull=True),
            to_attr="open_categories",
        ),
    )
