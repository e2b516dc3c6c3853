"""Certificate number formats (V3), per certificate type, where a format is defined.

- Vocational qualification certificate (职业资格证书), the national coding rule of vocational
  skill testing (职业技能鉴定编码规则): 16 digits. 1-2 issue year (last two digits), 3-4
  province or ministry code, 5-6 city code, 7 kind of testing body (0-4), 8-10 testing body
  serial, 11 level (5 初级 .. 1 高级技师), 12-16 serial within the year (00001-99999).
- Skill-level certificate (职业技能等级证书), MOHRSS coding rule for skill-level certificates:
  22 characters, an upper-case letter and 21 digits. 1 kind of evaluation body (Y employer,
  S social training and evaluation organisation), 2-5 body code (0000-9999), 6-7 province code,
  8-13 body (site) serial, 14-15 issue year (last two digits), 16 level (1-5), 17-22 serial.
- Special-ability certificates (专项职业能力证书) have no national numbering rule we could find,
  and training-qualified certificates (培训合格证书) are numbered locally: both are checked for a
  bounded plain character set and length only.

Where the number carries the level and the issue year, they must agree with the certificate's.
"""

from __future__ import annotations

import re
from datetime import date

from skillpay.errors import FieldViolation

_VOCATIONAL_QUALIFICATION = re.compile(r"(?P<year>\d{2})\d{4}[0-4]\d{3}(?P<level>[1-5])(?P<serial>\d{5})")
_SKILL_LEVEL = re.compile(r"[YS]\d{4}\d{2}\d{6}(?P<year>\d{2})(?P<level>[1-5])(?P<serial>\d{6})")
# Locally defined numbers: letters, digits and a few separators, bounded.
_LOCAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_/.]{3,39}")

# Keyed by CertificateType's value (model.py imports this module, not the other way round).
FORMATS = {
    "vocational_qualification": (
        _VOCATIONAL_QUALIFICATION, ("must be the 16-digit vocational qualification number (year, region, testing "
                                    "body 0-4 and serial, level 1-5, 5-digit serial)")),
    "skill_level": (
        _SKILL_LEVEL, ("must be the 22-character skill-level number (Y or S and 21 digits: body, province, site, "
                       "year, level 1-5, 6-digit serial)")),
    "special_ability": (_LOCAL, "must be 4-40 letters, digits, '-', '_', '/' or '.'"),
    "training_qualified": (_LOCAL, "must be 4-40 letters, digits, '-', '_', '/' or '.'"),
}


def number_violations(certificate_type: str, number: str, level: int | None,
                      issued_on: date | None, field: str = "certificate_number") -> list[FieldViolation]:
    """What is wrong with ``number`` for a certificate of this type (CertificateType's value), level and issue date."""
    pattern, rule = FORMATS[certificate_type]
    match = pattern.fullmatch(number)
    if match is None:
        return [FieldViolation(field, rule)]
    parts = match.groupdict()
    violations = []
    if "serial" in parts and not parts["serial"].strip("0"):
        violations.append(FieldViolation(field, "its serial must not be zero"))
    level_valid = isinstance(level, int) and not isinstance(level, bool) and 1 <= level <= 5  # else: its own violation
    if "level" in parts and level_valid and int(parts["level"]) != level:
        violations.append(FieldViolation(field, "its level digit does not match the certificate's level"))
    if "year" in parts and issued_on is not None and int(parts["year"]) != issued_on.year % 100:
        violations.append(FieldViolation(field, "its year digits do not match the year of issued_on"))
    return violations
