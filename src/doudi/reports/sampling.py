"""Campaign samples (抽样), pure: a random sample of households per town and programme that
the same seed always draws again, so a campaign can be audited and re-checked.

Every stratum (town × programme) gives ceil(n × rate) of its n households (at least one from a
non-empty stratum), so each town's share of the sample follows its share of the population.
A stratum's draw depends only on the seed and the stratum's name (CRC-32, not Python's salted
hash) and its households in id order: adding households to one town does not move another
town's sample.
"""

from __future__ import annotations

import zlib

import numpy as np
import polars as pl

BASIS = 10_000


def stratum_size(n: int, rate_bp: int) -> int:
    if n <= 0:
        return 0
    return max(1, -(-n * rate_bp // BASIS))


def sample(population: pl.DataFrame, seed: int, rate_bp: int) -> pl.DataFrame:
    """`population`: household_id, town, programme (one row per household and programme it is
    covered by). Returns the chosen rows, sorted by town, programme and household."""
    if not 0 < rate_bp <= BASIS:
        raise ValueError("抽样比例应在 0 与 100% 之间")
    chosen = []
    frame = population.unique(["household_id", "programme"]).sort("town", "programme",
                                                                   "household_id")
    for (town, programme), part in frame.group_by(["town", "programme"], maintain_order=True):
        k = stratum_size(part.height, rate_bp)
        stream = zlib.crc32(f"{town}|{programme}".encode())
        rng = np.random.default_rng([seed, stream])
        picked = np.sort(rng.choice(part.height, size=k, replace=False))
        chosen.append(part[picked])
    if not chosen:
        return population.head(0)
    return pl.concat(chosen).sort("town", "programme", "household_id")
