"""孤儿 and 事实无人抚养儿童: children under `child.max_age` receive the institutional (集中养育)
or community (散居) standard; a de facto unsupported child (not an orphan) receives
`child.de_facto.*` where the area sets it, else the orphan standard."""

from __future__ import annotations

import polars as pl

from doudi.rules.programmes.base import Batch, Criterion, Programme


def member_results(m: pl.LazyFrame, b: Batch) -> pl.LazyFrame:
    m = m.with_columns(
        (pl.col("orphan") | pl.col("de_facto_unsupported")).alias("child.group_ok"),
        (pl.col("age") < b.param("child.max_age")).alias("child.age_ok"),
    ).with_columns((pl.col("child.group_ok") & pl.col("child.age_ok")).alias("child.eligible"))
    institutional = b.param("child.orphan.institutional")
    community = b.param("child.orphan.community")
    orphan = pl.when(pl.col("institutional")).then(institutional).otherwise(community)
    de_facto = pl.when(pl.col("institutional")) \
        .then(b.optional("child.de_facto.institutional", institutional)) \
        .otherwise(b.optional("child.de_facto.community", community))
    standard = pl.when(pl.col("orphan")).then(orphan).otherwise(de_facto)
    return m.with_columns(
        pl.when(pl.col("child.eligible")).then(standard).otherwise(0).alias("child.amount")
    )


PARAMETERS = ("child.orphan.institutional", "child.orphan.community", "child.max_age")
OPTIONAL = ("child.de_facto.institutional", "child.de_facto.community")

PROGRAMME = Programme(
    name="child", label="孤儿、事实无人抚养儿童基本生活保障", level="member",
    eligible="child.eligible", amount="child.amount",
    relevant="child.group_ok", parameters=PARAMETERS, optional_parameters=OPTIONAL,
    depends=(), member_parameters=(*PARAMETERS, *OPTIONAL),
    member_results=member_results,
    criteria=(
        Criterion("child.group_ok", "孤儿或事实无人抚养儿童",
                  "孤儿：{orphan:bool}；事实无人抚养：{de_facto_unsupported:bool}"),
        Criterion("child.age_ok", "未满规定年龄", "年龄 {age:count} 岁，须小于 "
                                            "{child.max_age:count} 岁",
                  ("child.max_age",)),
    ),
    outputs={
        "eligible": ("child.eligible", "bool"),
        "amount": ("child.amount", "yuan"),
    },
)
