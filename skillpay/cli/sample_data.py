"""Valid but made-up identities for demos, tests and benchmarks (never real people)."""

from __future__ import annotations

import random
import secrets
from datetime import date, timedelta

from stdnum.cn import ric, uscc

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def resident_id(rng: random.Random | None = None, region: str = "110105") -> str:
    """An 18-digit ID with a correct GB 11643 check digit (V1)."""
    rng = rng or random.Random(secrets.randbits(64))
    born = date(1970, 1, 1) + timedelta(days=rng.randrange(0, 365 * 35))
    body = f"{region}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + ric.calc_check_digit(body + "0")


def person_name(rng: random.Random | None = None) -> str:
    rng = rng or random.Random(secrets.randbits(64))
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))


def credit_code(rng: random.Random | None = None) -> str:
    """A unified social credit code with a correct check character (GB 32100)."""
    rng = rng or random.Random(secrets.randbits(64))
    body = "52110105" + "".join(rng.choice(_CREDIT_CHARS) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def skill_level_certificate_number(level: int, issued_on: date, serial: int | None = None,
                                   rng: random.Random | None = None) -> str:
    """A made-up skill-level certificate number (职业技能等级证书) in the 22-character MOHRSS format (V3):
    S (a social evaluation organisation), body 0000, province 11, a site, year, level, serial."""
    rng = rng or random.Random(secrets.randbits(64))
    serial = serial if serial is not None else rng.randrange(1, 1_000_000)
    return f"S000011{rng.randrange(0, 1_000_000):06d}{issued_on.year % 100:02d}{level}{serial:06d}"
