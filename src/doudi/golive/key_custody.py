"""密钥备份确认: the encryption key file is backed up by hand, away from the database backups
(docs/key-management.md), so Doudi cannot see the copies. What it can keep is the
administrator's word, in the audit log: which keys (by fingerprint, never the key) were
confirmed backed up, when, by whom and where the copies are. A rotation adds a key the
confirmation does not name, and the go-live check shows ✗ again until it is confirmed.
"""

from __future__ import annotations

from doudi.audit import services as audit
from doudi.audit.models import AuditEvent
from doudi.core import crypto
from doudi.core.errors import ServiceError
from doudi.ops import backup

OBJECT_TYPE = "keys"
LABEL = "确认加密密钥文件已另行备份"


class KeyCustodyError(ServiceError):
    """A confirmation that cannot be recorded; the message is Chinese."""


def _grouped(fingerprint: str) -> str:
    # in groups of four: a run of digits in a fingerprint is never read as a phone number or
    # account by the audit log's scrubbing
    return "-".join(fingerprint[i:i + 4] for i in range(0, len(fingerprint), 4))


def fingerprints() -> dict[str, str]:
    """Key id → fingerprint of every key in the key file now ({} when there is no readable
    file). The same fingerprints a backup archive's manifest records."""
    return {kid: _grouped(fp) for kid, fp in backup.key_fingerprints().items()}


def confirm(where: str) -> dict[str, str]:
    """Record that every key in the key file has been backed up to `where` (one line: the two
    places the copies are kept). Returns the fingerprints confirmed."""
    where = (where or "").strip()
    if not where:
        raise KeyCustodyError(
            "请写明两份密钥备份的存放处（如“信息中心保险柜加密U盘；局密钥托管系统”）")
    if len(where) > 200 or any(ord(ch) < 32 for ch in where):
        raise KeyCustodyError("存放处应为不超过 200 字的一行文字")
    if not crypto.default_key_path().is_file():
        raise KeyCustodyError("密钥文件不存在：请先运行 doudi keys init，备份后再确认")
    found = fingerprints()
    if not found:
        raise KeyCustodyError("密钥文件无法读取（格式或权限有误），未记录确认：请先用 "
                              "doudi keys status 查看")
    audit.record(AuditEvent.UPDATE, object_type=OBJECT_TYPE, object_label=LABEL,
                 changes={"keys": found, "where": where})
    return found


def last_confirmation() -> AuditEvent | None:
    return (AuditEvent.objects.filter(object_type=OBJECT_TYPE, object_label=LABEL)
            .order_by("-at", "-id").first())


def unconfirmed(current: dict[str, str], confirmation: AuditEvent | None) -> list[str]:
    """The key ids of the file whose fingerprint the confirmation does not name."""
    named = (confirmation.changes or {}).get("keys", {}) if confirmation else {}
    return sorted(kid for kid, fp in current.items() if named.get(kid) != fp)
