import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from doudi.areas import importer
from doudi.areas.models import Area
from doudi.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_tunxi_tree_is_real():
    report = importer.load_shipped("tunxi")
    assert report.ok, report.errors
    district = Area.objects.get(code="341002000000")
    assert district.name == "屯溪区" and district.level == 3
    towns = Area.objects.filter(parent=district)
    assert towns.count() == 9
    liyang = Area.objects.get(code="341002102000")
    assert liyang.name == "黎阳镇" and liyang.prefix == "341002102"
    assert Area.objects.filter(code__startswith="341002", level=5).count() == 76
    assert liyang.full_name() == "安徽省黄山市屯溪区黎阳镇"
    assert Area.objects.get(code="341002102002").is_urban  # 社区居委会
    # nothing outside the chosen subtree but its parents
    assert set(Area.objects.filter(level__lte=2).values_list("code", flat=True)) == {
        "340000000000", "341000000000"}


def test_guangdong_whole_province():
    report = importer.load_shipped("guangdong")
    assert report.ok, report.errors
    assert Area.objects.filter(level=2, code__startswith="44").count() == 21
    assert Area.objects.filter(level=5, code__startswith="44").count() == 26842
    # 东莞 has no counties: its towns hang directly under the city
    dongguan_town = Area.objects.filter(code__startswith="4419", level=4).first()
    assert dongguan_town.parent.code == "441900000000"
    assert not Area.objects.filter(code__startswith="4419", level=3).exists()


def test_import_is_idempotent_and_audited():
    importer.load_shipped("tunxi")
    events = AuditEvent.objects.filter(action=AuditEvent.IMPORT).count()
    again = importer.load_shipped("tunxi")
    assert again.ok and again.created == 0 and again.updated == 0
    assert AuditEvent.objects.filter(action=AuditEvent.IMPORT).count() == events


def test_cli_import_of_package_layout(tmp_path):
    (tmp_path / "provinces.csv").write_text('code,name\n34,"安徽省"\n', encoding="utf-8")
    (tmp_path / "cities.csv").write_text('code,name,provinceCode\n3410,"黄山市",34\n')
    (tmp_path / "areas.csv").write_text(
        'code,name,cityCode,provinceCode\n341002,"屯溪区",3410,34\n')
    (tmp_path / "streets.csv").write_text(
        'code,name,areaCode,provinceCode,cityCode\n341002102,"黎阳镇",341002,34,3410\n')
    (tmp_path / "villages.csv").write_text(
        "code,name,streetCode,provinceCode,cityCode,areaCode\n"
        '341002102006,"龙山社区居委会",341002102,34,3410,341002\n')
    files = [str(tmp_path / f) for f in importer.SHIPPED_FILES]
    call_command("areas", "import", *files)
    assert Area.objects.get(code="341002102006").parent_id == "341002102000"


def test_bad_rows_reject_the_whole_file(tmp_path):
    path = tmp_path / "streets.csv"
    path.write_text("code,name\n34,安徽省\n341002102,黎阳镇\n3410021,坏代码\n", encoding="utf-8")
    with pytest.raises(CommandError, match="未写入"):
        call_command("areas", "import", str(path))
    assert Area.objects.count() == 0
    report = importer.load_files([path])
    reasons = [str(e) for e in report.errors]
    assert any("第4行" in r and "2/4/6/9/12" in r for r in reasons)
    assert any("上级区划 341002 不存在" in r for r in reasons)
