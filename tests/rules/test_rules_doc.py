"""docs/rules.md §5.3, §5.5 and §5.6 are generated from the shipped parameter files
(tools/rules_doc.py); they must never drift from them."""

from __future__ import annotations

from pathlib import Path

from tools import rules_doc


def _row(text: str, key: str) -> str:
    """The §5.3 row of a key (§4 has tables that start with keys too)."""
    return next(line for line in text.split("\n")
                if line.startswith(f"| `{key}` |") and line.count("|") == 6)


def test_rules_doc_is_up_to_date():
    assert rules_doc.check(), "docs/rules.md 的参数表已过时：请运行 python tools/rules_doc.py"


def test_check_notices_a_stale_value_and_keeps_hand_written_cells(tmp_path: Path):
    text = rules_doc.DOC.read_text(encoding="utf-8")
    row = _row(text, "taper.months")
    stale = row.rsplit("|", 2)[0] + "| 全国 2021-01-01 起：5 个月 ? |"
    doc = tmp_path / "rules.md"
    doc.write_text(text.replace(row, stale), encoding="utf-8")
    assert not rules_doc.check(doc)
    assert rules_doc.render(doc.read_text(encoding="utf-8")) == text


def test_missing_key_is_appended_and_unshipped_key_marked(tmp_path: Path):
    text = rules_doc.DOC.read_text(encoding="utf-8")
    row = _row(text, "taper.months")
    ghost = "| `taper.gone` | 个月 (`months`) | 已取消 | 渐退 | 全国 2021-01-01 起：6 个月 |"
    out = rules_doc.render(text.replace(row + "\n", ghost + "\n"))
    lines = out.split("\n")
    assert "| `taper.gone` | 个月 (`months`) | 已取消 | 渐退 | （未发布取值） |" in lines
    appended = _row(out, "taper.months")
    assert appended == ("| `taper.months` | 个月 (`months`) | 渐退期月数 | — | "
                        "全国 2021-01-01 起：6 个月 ? |")
    # appended at the end of the 渐退 table, before the next heading
    n = lines.index(appended)
    assert lines[n + 1] == "" and lines[n + 2].startswith("#### 临时救助")


def test_many_values_are_summarised_per_area():
    cell = rules_doc.values_cell(rules_doc.shipped_values()["dibao.standard.urban"])
    lines = cell.split("<br>")
    assert any(line.startswith("广州 20") and "→" in line and "已核实" in line for line in lines)
    assert any(line.startswith("广东一类 ") for line in lines)
    assert len(lines) == len({line.split(" ")[0] for line in lines})  # one line per area
