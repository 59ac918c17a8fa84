"""Attachments: the file's first bytes decide its type (a name or a browser's claim is not
trusted), the size is capped (settings.DOUDI_ATTACHMENT_MAX_BYTES), and the file is stored once
by its SHA-256 — written before the row that names it, so no row points at a missing file."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied

from doudi.accounts import roles
from doudi.areas.scoping import in_scope
from doudi.casework.models import Application, Attachment
from doudi.casework.services import CaseworkError
from doudi.core import pdfscan

SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"%PDF-", "application/pdf", ".pdf"),
)


def sniff(data: bytes) -> tuple[str, str] | None:
    for magic, content_type, suffix in SIGNATURES:
        if data.startswith(magic):
            return content_type, suffix
    return None


def pdf_active_content(data: bytes) -> str | None:
    """Why a PDF may not be uploaded (a script, an automatic action, an embedded file, or
    content the check cannot see into — `doudi.core.pdfscan`), or None."""
    try:
        pdfscan.check(data)
    except pdfscan.Refused as exc:
        return str(exc)
    return None


def storage_path(sha256: str, suffix: str) -> Path:
    root = Path(settings.ATTACHMENTS_DIR) / sha256[:2]
    root.mkdir(parents=True, exist_ok=True)
    return root / f"{sha256}{suffix}"


def store(data: bytes, file_name: str = "") -> tuple[str, str, int]:
    """Check a file (its bytes decide the type; size-capped) and store it once by SHA-256:
    (content type, digest, size). Attachments and visit photos share it."""
    if not data:
        raise CaseworkError(f"文件为空：{file_name}" if file_name else "文件为空")
    limit = settings.DOUDI_ATTACHMENT_MAX_BYTES
    if len(data) > limit:
        raise CaseworkError(f"文件过大（上限 {limit // 1024 // 1024} MB）")
    found = sniff(data)
    if found is None:
        raise CaseworkError("只能上传 JPG、PNG 图片或 PDF 文件")
    content_type, suffix = found
    if content_type == "application/pdf":
        refused = pdf_active_content(data)
        if refused is not None:
            raise CaseworkError(refused)
    digest = hashlib.sha256(data).hexdigest()
    path = storage_path(digest, suffix)
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return content_type, digest, len(data)


def add(*, by, application: Application, data: bytes, file_name: str,  # noqa: ANN001
        kind: str) -> Attachment:
    if not in_scope(by, application.area_code, roles.EDIT_REGISTRY):
        raise PermissionDenied("无权为该申请上传材料")
    if kind not in dict(Attachment.KIND_CHOICES):
        raise CaseworkError("请选择材料类别")
    return _attach(by, application, data, file_name, kind)


def add_by_applicant(*, application: Application, data: bytes, file_name: str) -> Attachment:
    """A document the applicant sends from their own status page (`casework.case_status`),
    checked and stored like any other (its bytes decide the type, size-capped, PDFs scanned);
    only while the case is open. Filed as 证明材料 with no uploader (no account of theirs)."""
    if not application.open:
        raise CaseworkError("该申请已办结，不能再补充材料")
    return _attach(None, application, data, file_name, "document")


def _attach(by, application: Application, data: bytes, file_name: str,  # noqa: ANN001
            kind: str) -> Attachment:
    if not data:
        raise CaseworkError("文件为空")
    content_type, digest, size = store(data, file_name)
    return Attachment.objects.create(
        application=application, kind=kind, file_name=Path(file_name).name[:200] or "附件",
        content_type=content_type, size=size, sha256=digest, uploaded_by=by,
        area_code=application.area_code)


def read(attachment: Attachment) -> bytes:
    suffix = next(s for _, t, s in SIGNATURES if t == attachment.content_type)
    return storage_path(attachment.sha256, suffix).read_bytes()
