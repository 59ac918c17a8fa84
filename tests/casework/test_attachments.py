"""Attachments: type from the file's bytes, size capped, stored once, viewing audited."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from doudi.audit.models import AuditEvent
from doudi.casework import services
from doudi.casework.models import Attachment
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%test\n%%EOF\n"


@pytest.fixture
def app(world, shipped_parameters):
    return services.create_application(by=world.users.village_assistant,
                                       household=world.village_hh, programme="dibao",
                                       channel="village", reason="无收入")


def _upload(client, app, name: str, data: bytes, kind: str = "photo"):
    return client.post(f"/applications/{app.pk}/attachments/",
                       {"kind": kind, "file": SimpleUploadedFile(name, data)})


def test_photo_and_pdf_are_kept_and_served(client, app, settings) -> None:
    client.login(username="village_assistant", password=PASSWORD)
    assert _upload(client, app, "照片.png", PNG).status_code == 302
    assert _upload(client, app, "证明.pdf", PDF, "document").status_code == 302
    assert _upload(client, app, "again.pdf", PDF, "document").status_code == 302
    files = list(Attachment.objects.filter(application=app).order_by("id"))
    assert [f.content_type for f in files] == ["image/png", "application/pdf", "application/pdf"]
    assert len(list(settings.ATTACHMENTS_DIR.rglob("*.pdf"))) == 1  # stored once
    response = client.get(f"/applications/{app.pk}/attachments/{files[0].pk}/")
    assert response.content == PNG and response["Content-Type"] == "image/png"
    assert AuditEvent.objects.filter(action=AuditEvent.VIEW,
                                     object_type="casework.attachment").count() == 1


def test_wrong_type_and_oversize_are_refused(client, app, settings) -> None:
    client.login(username="village_assistant", password=PASSWORD)
    page = _upload(client, app, "fake.png", b"<html>not an image</html>").content.decode()
    assert "只能上传 JPG、PNG 图片或 PDF 文件" in page
    settings.DOUDI_ATTACHMENT_MAX_BYTES = 32
    assert "文件过大" in _upload(client, app, "big.pdf", PDF + b"x" * 64).content.decode()
    assert not Attachment.objects.exists()


SCRIPTED_PDFS = {
    "plain name": b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>"
                  b"\nendobj\n%%EOF\n",
    "escaped name": b"%PDF-1.4\n1 0 obj << /Names << /J#61vaScript 2 0 R >> >>\nendobj\n%%EOF\n",
    "compressed object stream": b"%PDF-1.5\n1 0 obj << /Type /ObjStm /Filter /FlateDecode >>\n"
                                b"stream\n" + __import__("zlib").compress(
                                    b"<< /Type /Action /S /Launch /F (cmd.exe) >>")
                                + b"\nendstream\nendobj\n%%EOF\n",
    "embedded file": b"%PDF-1.7\n1 0 obj << /EmbeddedFiles 2 0 R /EmbeddedFile 3 0 R >>\n"
                     b"endobj\n%%EOF\n",
}


@pytest.mark.parametrize("name", list(SCRIPTED_PDFS))
def test_a_pdf_with_active_content_is_refused_and_nothing_stored(client, app, settings,
                                                                 name) -> None:
    client.login(username="village_assistant", password=PASSWORD)
    response = client.post(f"/applications/{app.pk}/attachments/",
                           {"kind": "document",
                            "file": SimpleUploadedFile("证明.pdf", SCRIPTED_PDFS[name])},
                           follow=True)
    assert "PDF 含有脚本、自动动作或嵌入文件" in response.content.decode()
    assert not Attachment.objects.filter(application=app).exists()
    assert not list(settings.ATTACHMENTS_DIR.rglob("*.pdf"))


def test_a_scanned_pdf_with_compressed_images_is_accepted() -> None:
    import zlib

    from doudi.casework.attachments import pdf_active_content

    page = (b"%PDF-1.4\n1 0 obj << /Type /XObject /Subtype /Image /Filter /FlateDecode >>\n"
            b"stream\n" + zlib.compress(bytes(range(256)) * 64) + b"\nendstream\nendobj\n"
            b"2 0 obj << /Type /Page /AAx 1 >>\nendobj\n%%EOF\n")
    assert pdf_active_content(page) is None
