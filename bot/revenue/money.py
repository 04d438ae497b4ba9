"""Amounts in minor units, as people read them."""

# ISO 4217 currencies whose minor unit is not a hundredth; Telegram Stars (XTR) are counted whole
MINOR_DIGITS = {"XTR": 0, "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}


def format_amount(amount: int, currency: str) -> str:
    """12345 RUB -> "123.45 RUB"; 500 XTR -> "500 ⭐"."""
    if currency == "XTR":
        return f"{amount} ⭐"
    digits = MINOR_DIGITS.get(currency, 2)
    if digits == 0:
        return f"{amount} {currency}"
    sign, whole = ("-" if amount < 0 else ""), abs(amount)
    units, minor = divmod(whole, 10**digits)
    return f"{sign}{units}.{minor:0{digits}d} {currency}"
