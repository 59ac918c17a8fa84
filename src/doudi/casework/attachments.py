"""Attachments: the file's first bytes decide its type (a name or a browser's claim is not
trusted), the size is capped (settings.DOUDI_ATTACHMENT_MAX_BYTES), and the file is stored once
by its SHA-256 — written before the row that names it, so no row points at a missing file."""

from __future__ import annotations

import hashlib
import re
import zlib
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied

from doudi.accounts import roles
from doudi.areas.scoping import in_scope
from doudi.casework.models import Application, Attachment
from doudi.casework.services import CaseworkError

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


# PDF features that run code or carry other files: a citizen's scanned 证明 needs none of them.
PDF_ACTIVE = (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/RichMedia", b"/XFA",
              b"/OpenAction", b"/AA", b"/SubmitForm", b"/ImportData")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.DOTALL)
INFLATE_LIMIT = 64 * 1024 * 1024  # a zip bomb stops here instead of filling memory


def _pdf_texts(data: bytes) -> list[bytes]:
    """The file and its Flate streams inflated (object streams can hide dictionaries)."""
    texts, budget = [data], INFLATE_LIMIT
    for match in _STREAM.finditer(data):
        if budget <= 0:
            break
        try:
            inflated = zlib.decompressobj().decompress(match.group(1), budget)
        except zlib.error:
            continue
        budget -= len(inflated)
        texts.append(inflated)
    return texts


def pdf_active_content(data: bytes) -> str | None:
    """The first active feature (script, launch action, embedded file …) in a PDF, or None.
    Names written with #xx escapes (/J#61vaScript) are unescaped first."""
    for text in _pdf_texts(data):
        plain = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), text)
        for name in PDF_ACTIVE:
            if re.search(re.escape(name) + rb"(?![A-Za-z])", plain):
                return name.decode()[1:]
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
        active = pdf_active_content(data)
        if active is not None:
            raise CaseworkError(f"PDF 含有脚本、自动动作或嵌入文件（{active}），不能上传；"
                                "请重新扫描或打印为 PDF 后上传")
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
