"""/api/sync — 与上级监测平台同步 (docs/platform-sync.md).

At a district's Doudi, the platform's machine account (role 上级平台接口) reads the district's
package (`GET /api/sync/export?since=`), pushes warnings down (`POST /api/sync/warnings`) and
reads their dispositions (`GET /api/sync/warnings/dispositions?since=`); the district
administrator may read the package too. At the city's Doudi, a district's machine account
(role 下级系统接口) or the city's officer sends a package up (`POST /api/sync/packages`). Every
call is audited and rate-limited per account (`exchange.department_api.gate`); what left or
came in is audited again by the service, with its counts.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from ninja import File, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile
from pydantic import Field

from doudi.accounts import roles
from doudi.api.schemas import refusals, watermark
from doudi.exchange.department_api import gate
from doudi.platform_sync import access, export, importer, warnings

router = Router(tags=["上级平台同步"])

ZIP = {"responses": {200: {"description": "数据包（zip，含个人信息）", "content": {
    "application/zip": {"schema": {"type": "string", "format": "binary"}}}}}}
FILE_REQUIRED = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "下级导出的数据包（zip）"}}}}}}}


def _allowed(request, capability: str, what: str):  # noqa: ANN001, ANN202
    user = gate(request, what)
    if not access.may(user, capability):
        raise PermissionDenied("无权使用该同步接口")
    return user


@router.get("/export", response={**refusals(400, 401, 403, 422, 429)},
            summary="导出本级低收入人口数据包", openapi_extra=ZIP)
def sync_export(request, since: str = ""):  # noqa: ANN001, ANN201
    user = _allowed(request, roles.SYNC_EXPORT, "导出同步数据包")
    if len(since) > 64:
        raise HttpError(422, "since 应为上次数据包的截止水位（64 位十六进制）")
    made = export.export(by=user, area_code=user.scope_prefix, since=since.strip())
    response = HttpResponse(made.data, content_type="application/zip")
    response["Content-Disposition"] = (
        f'attachment; filename="doudi-sync-{user.scope_prefix}-'
        f'{made.package.watermark_to[:12]}.zip"')
    response["X-Doudi-Watermark"] = made.package.watermark_to
    response["X-Doudi-Personal-Data"] = "1"
    return response


class ImportOut(Schema):
    id: int
    duplicate: bool
    source_area_code: str
    watermark_from: str
    watermark_to: str
    persons: int
    counts: dict
    message: str


@router.post("/packages", response={201: ImportOut, 200: ImportOut,
                                    **refusals(400, 401, 403, 413, 422, 429)},
             summary="报送下级数据包", openapi_extra=FILE_REQUIRED)
def sync_push_package(request,  # noqa: ANN001, ANN201
                      file: UploadedFile | None = File(None)):  # noqa: B008 - Ninja marker
    user = _allowed(request, roles.SYNC_IMPORT, "报送同步数据包")
    if file is None:
        raise HttpError(422, "请以 multipart/form-data 上传数据包（字段名 file）")
    if file.size > settings.DOUDI_UPLOAD_MAX_BYTES:
        raise HttpError(413, "文件过大")
    out = importer.import_package(file.read(), by=user, channel="api")
    r = out.record
    body = {"id": r.pk, "duplicate": out.duplicate, "source_area_code": r.source_area_code,
            "watermark_from": r.watermark_from, "watermark_to": r.watermark_to,
            "persons": r.persons, "counts": r.counts, "message": out.message}
    return Status(200 if out.duplicate else 201, body)


class WarningIn(Schema):
    upstream_id: str = Field(min_length=1, max_length=64, description="上级平台的预警编号")
    id_number: str = Field(min_length=1, max_length=18, description="身份证号")
    indicator: str = Field("", max_length=60, description="上级预警指标")
    summary: str = Field("", max_length=300, description="预警摘要")
    raised_on: dt.date | None = Field(None, description="上级下发日期")


class WarningsIn(Schema):
    rows: list[WarningIn] = Field(default_factory=list, max_length=warnings.MAX_ROWS)


class PushedOut(Schema):
    upstream_id: str
    result: str
    warning_id: int | None
    reason: str


@router.post("/warnings", response={200: list[PushedOut], **refusals(400, 401, 403, 422, 429)},
             summary="下发预警")
def sync_push_warnings(request, payload: WarningsIn):  # noqa: ANN001, ANN201
    user = _allowed(request, roles.SYNC_WARNINGS, f"下发预警 {len(payload.rows)} 条")
    if not payload.rows:
        raise HttpError(422, "请至少下发一条预警（rows）")
    rows = [{"upstream_id": r.upstream_id, "id_number": r.id_number, "indicator": r.indicator,
             "summary": r.summary,
             "raised_on": r.raised_on.isoformat() if r.raised_on else ""} for r in payload.rows]
    return [vars(p) for p in warnings.push(by=user, rows=rows)]


class AnswerOut(Schema):
    upstream_id: str
    status: str
    status_label: str
    verified_true: bool | None
    disposition: str
    disposition_label: str
    note: str
    closed_on: dt.date | None


@router.get("/warnings/dispositions",
            response={200: list[AnswerOut], **refusals(400, 401, 403, 422, 429)},
            summary="读取下发预警的处置结果")
def sync_warning_dispositions(request, since: dt.datetime | None = None):  # noqa: ANN001, ANN201
    user = _allowed(request, roles.SYNC_WARNINGS, "读取下发预警处置结果")
    return warnings.answers(by=user, since=watermark(since))
