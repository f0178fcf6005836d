"""Pure checks of identifiers: national ID numbers (GB 11643), credit codes (GB 32100), mobiles.

Each check returns the normalised value or raises `InvalidIdentifier` with a user-facing message;
callers gather those into a field-level `ValidationFailed`.
"""

from __future__ import annotations

from datetime import date

import phonenumbers

from expertpool.core.texts import translated

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


class InvalidIdentifier(ValueError):
    """An identifier failed its check; the message is shown next to the field."""


def id_check_char(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def birth_date_of(id_number: str) -> date:
    """The birth date encoded in an 18-character ID number (raises on an impossible date)."""
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        raise InvalidIdentifier(
            str(translated("The birth date in the ID number is impossible."))
        ) from None


def age_on(birth: date, today: date) -> int:
    """Completed years of age on `today`."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def check_id_number(raw: str, today: date) -> tuple[str, date]:
    """Normalise and check a national ID number; returns it with the birth date."""
    value = (raw or "").strip().upper()
    if (
        len(value) != 18
        or not value[:17].isdigit()
        or not (value[17].isdigit() or value[17] == "X")
    ):
        raise InvalidIdentifier(
            str(translated("An ID number has 17 digits and a check digit or X."))
        )
    if not value[:17].isascii():
        raise InvalidIdentifier(
            str(translated("An ID number has 17 digits and a check digit or X."))
        )
    birth = birth_date_of(value)
    if birth.year < 1900 or birth > today:
        raise InvalidIdentifier(str(translated("The birth date in the ID number is impossible.")))
    if id_check_char(value[:17]) != value[17]:
        raise InvalidIdentifier(str(translated("The check digit of the ID number is wrong.")))
    return value, birth


def make_id_number(region: str, birth: date, serial: int) -> str:
    """Build a valid ID number (demo data and tests): region code, birth date, 3-digit serial."""
    first17 = f"{region}{birth:%Y%m%d}{serial % 1000:03d}"
    return first17 + id_check_char(first17)


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters of a credit code."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_credit_code(raw: str) -> str:
    """Normalise and check a unified social credit code."""
    value = (raw or "").strip().upper()
    if len(value) != 18 or any(c not in USCC_ALPHABET for c in value):
        raise InvalidIdentifier(
            str(
                translated(
                    "A credit code has 18 characters (digits and capitals except I, O, S, V, Z)."
                )
            )
        )
    if uscc_check_char(value[:17]) != value[17]:
        raise InvalidIdentifier(str(translated("The check character of the credit code is wrong.")))
    return value


def make_credit_code(body: str) -> str:
    """Complete 17 valid characters into a credit code (demo data and tests)."""
    return body + uscc_check_char(body)


def check_mobile(raw: str) -> str:
    """A mainland-China mobile number in E.164 (landlines and foreign numbers refused)."""
    text = (raw or "").strip()
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise InvalidIdentifier(str(translated("Not a phone number."))) from None
    if (
        not phonenumbers.is_valid_number(number)
        or phonenumbers.region_code_for_number(number) != "CN"
    ):
        raise InvalidIdentifier(str(translated("Give a mainland China mobile number.")))
    if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
        raise InvalidIdentifier(str(translated("Give a mainland China mobile number.")))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_id_number(value: str) -> str:
    """Show the first 3 and last 4 characters only."""
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)


def mask_phone(value: str) -> str:
    """Show the country code, the first 3 and last 2 digits only."""
    if value.startswith("+86") and len(value) == 14:
        return "+86 " + value[3:6] + "******" + value[-2:]
    return "*" * max(0, len(value) - 2) + value[-2:]
