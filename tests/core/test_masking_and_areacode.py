import pytest

from doudi.core import areacode
from doudi.core.masking import mask_id_number, mask_name, mask_phone


@pytest.mark.parametrize(
    ("name", "masked"), [("张三", "张*"), ("张小三", "张*三"), ("欧阳小明", "欧**明"), ("李", "李")]
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_mask_id_and_phone():
    assert mask_id_number("341002199001011234") == "3410**********1234"
    assert mask_phone("13812345678") == "138****5678"


def test_area_codes():
    assert areacode.full_code("341002102") == "341002102000"
    assert areacode.level_of_short("341002102") == areacode.TOWN
    assert areacode.parent_short("341002102002") == "341002102"
    assert areacode.parent_short("34") is None
    with pytest.raises(ValueError, match="区划代码"):
        areacode.full_code("3410021")
    assert areacode.is_urban_village("龙山社区居委会")
    assert not areacode.is_urban_village("新江村村委会")

