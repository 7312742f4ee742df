"""User scripts on the wire: base64 of the UTF-8 text, and comparing one with an answer.

NHN's provider documents the `user_script_v2` create label as "User script (base64
encoded)"; the guide shows the userscript action's `contents` only as a placeholder, so it
is sent the same way (both set the same script). What answers hold after an action is
not documented: `user_script_matches` accepts the encoded and the plain form and says
None when it cannot tell. Evidence: docs/nks-api-notes.md, "User script".
"""

from __future__ import annotations

import base64
import binascii


def encode_user_script(script: str) -> str:
    """The wire form of a script: base64 of its UTF-8 bytes ("" stays "")."""
    return base64.b64encode(script.encode()).decode("ascii") if script else ""


def decode_user_script(wire: str) -> str | None:
    """The script a wire value holds; None when it is not base64 of UTF-8 text."""
    text = "".join(wire.split())  # base64 may be wrapped
    try:
        return base64.b64decode(text, validate=True).decode()
    except (binascii.Error, ValueError):
        return None


def user_script_matches(desired: str | None, observed: str | None) -> bool | None:
    """Whether the script an answer holds (`labels.user_script_v2`) is `desired`.

    True/False when it can tell; None when it cannot: the label is absent (unknown) or
    holds neither `desired` (plain or encoded) nor any decodable script. `desired` None or
    "" means no script.
    """
    if observed is None:
        return None
    want = desired or ""
    if observed in (want, encode_user_script(want)):
        return True
    if not observed.strip():
        return False  # no script there, but one is wanted
    decoded = decode_user_script(observed)
    if decoded is not None:
        return decoded == want
    return None
