"""统一社会信用代码 (unified social credit code) check digits, GB 32100-2015.

An 18-character code: registration authority (1), organisation type (1), administrative
division (6), organisation code (9, itself carrying a GB 11714 check character) and a
final check character computed over the first 17 with weights ``3**i mod 31``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "USCC_CHARS",
    "uscc_check_char",
    "is_valid_uscc",
    "valid_uscc_mask",
    "make_uscc",
    "org_code_check",
]

#: The 31 characters allowed by GB 32100-2015 (no I, O, S, V, Z).
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(USCC_CHARS)}
_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check_char(first17: str) -> str:
    """Check character for the first 17 characters of a code.

    Raises
    ------
    ValueError
        If a character is outside :data:`USCC_CHARS` or the length is not 17.
    """
    if len(first17) != 17:
        raise ValueError("need 17 characters")
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """Whether ``code`` is an 18-character code with a correct check character."""
    return bool(valid_uscc_mask([code])[0])


def org_code_check(first8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    total = sum(
        (int(c) if c.isdigit() else ord(c) - 55) * w
        for c, w in zip(first8, _ORG_WEIGHTS, strict=True)
    )
    r = 11 - total % 11
    return "X" if r == 10 else ("0" if r == 11 else str(r))


def make_uscc(org_body8: str, *, division: str = "310114", prefix: str = "91") -> str:
    """Build a valid code from an 8-digit organisation body (synthetic data).

    ``division`` 310114 is Jiading District; ``prefix`` 91 = 工商 / enterprise.
    """
    body = prefix + division + org_body8 + org_code_check(org_body8)
    return body + uscc_check_char(body)


_LOOKUP = np.full(128, -1, dtype=np.int64)
for _i, _c in enumerate(USCC_CHARS):
    _LOOKUP[ord(_c)] = _i
_W = np.array(_WEIGHTS, dtype=np.int64)


def valid_uscc_mask(codes) -> np.ndarray:
    """Vectorised :func:`is_valid_uscc` over a sequence of strings (or None)."""
    vals = [c.upper() if isinstance(c, str) else "" for c in codes]
    ok = np.fromiter((len(v) == 18 and v.isascii() for v in vals), bool, len(vals))
    arr = np.array([v if o else "0" * 18 for v, o in zip(vals, ok)], dtype="U18")
    cp = arr.view(np.uint32).reshape(len(vals), 18).astype(np.int64)
    idx = _LOOKUP[cp]
    ok &= (idx >= 0).all(axis=1)
    check = (31 - (idx[:, :17] * _W).sum(axis=1) % 31) % 31
    return ok & (check == idx[:, 17])
