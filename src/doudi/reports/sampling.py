"""Campaign samples (抽样), pure: a random sample of households per town and programme that
the same seed always draws again, so a campaign can be audited and re-checked.

Every stratum (town × programme) gives ceil(n × rate) of its n households (at least one from a
non-empty stratum), so each town's share of the sample follows its share of the population.
A stratum's draw depends only on the seed and the stratum's name (CRC-32, not Python's salted
hash) and its households in id order: adding households to one town does not move another
town's sample.

A population may say why each household is in it (`basis`: 在保, or refused / exited where a
campaign samples those too): each basis is then a stratum of its own, so the refused and the
exited are drawn at the rate beside the covered rather than diluted among them. The covered
households' strata keep their name (town|programme), so adding the others moves nothing.
"""

from __future__ import annotations

import zlib

import numpy as np
import polars as pl

BASIS = 10_000
COVERED = "enrolled"  # the basis of a covered household (reports.campaigns.ENROLLED)


def stratum_size(n: int, rate_bp: int) -> int:
    if n <= 0:
        return 0
    return max(1, -(-n * rate_bp // BASIS))


def sample(population: pl.DataFrame, seed: int, rate_bp: int) -> pl.DataFrame:
    """`population`: household_id, town, programme (one row per household and programme it is
    covered by), optionally basis. Returns the chosen rows, sorted by town, programme (and
    basis) and household."""
    if not 0 < rate_bp <= BASIS:
        raise ValueError("抽样比例应在 0 与 100% 之间")
    chosen = []
    keys = ["town", "programme"] + (["basis"] if "basis" in population.columns else [])
    frame = population.unique(["household_id", "programme"]).sort(*keys, "household_id")
    for group, part in frame.group_by(keys, maintain_order=True):
        town, programme = group[0], group[1]
        basis = group[2] if len(group) > 2 else COVERED
        name = f"{town}|{programme}" if basis == COVERED else f"{town}|{programme}|{basis}"
        k = stratum_size(part.height, rate_bp)
        stream = zlib.crc32(name.encode())
        rng = np.random.default_rng([seed, stream])
        picked = np.sort(rng.choice(part.height, size=k, replace=False))
        chosen.append(part[picked])
    if not chosen:
        return population.head(0)
    return pl.concat(chosen).sort(*keys, "household_id")
