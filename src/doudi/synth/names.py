"""Chinese names drawn from common surnames and given-name characters (deterministic by RNG)."""

from __future__ import annotations

import random

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
)
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欢阳建国志文海"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀玲桂英华红梅琳燕萍雪琴云洁颖倩婷慧晶玉兰凤霞丹莉"


def person_name(rng: random.Random, sex: str, surname: str | None = None) -> str:
    pool = GIVEN_MALE if sex == "M" else GIVEN_FEMALE
    given = "".join(rng.choice(pool) for _ in range(rng.choice((1, 2, 2))))
    return (surname or rng.choice(SURNAMES)) + given
