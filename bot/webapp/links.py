"""Short-lived signed links to a receipt's PDF, for `Telegram.WebApp.downloadFile` and `openLink`.

Telegram's webviews and the browser `openLink` hands over cannot send the launch data header (nor
open a blob URL in every client), so the page asks the API (with the header) for a link, and the
link itself proves the right to the file for a few minutes: an HMAC-SHA256 token over

    <resident id>.<account id>.<period YYYYMM>.<expires, unix seconds>

with a key derived from the bot token (a label keeps it apart from every other use of the
token). The URL carries internal row ids, a month and a time: no account number, name, address
or launch data. At download time the token's signature and expiry are checked, then the link
between the resident and the account again (unlinked since: 404).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from storage.periods import int_to_period, period_to_int

LIFETIME = dt.timedelta(minutes=5)
LABEL = b"cabinet/webapp/receipt-link/v1"
SIGNATURE_BYTES = 16  # 128 bits of HMAC-SHA256
MAX_TOKEN = 160  # a real token is about 70 characters; longer ones are not even decoded


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid token allows: this resident's receipt of this account and month."""

    resident_id: int
    account_id: int
    period: dt.date
    expires: int  # unix seconds


class Forged(ValueError):
    """Not a token this server signed (or not a token at all)."""


class Expired(ValueError):
    """A token this server signed, past its lifetime."""


def _key(bot_token: str) -> bytes:
    return hmac.new(LABEL, bot_token.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(bot_token: str, grant: Grant) -> str:
    body = f"{grant.resident_id}.{grant.account_id}.{period_to_int(grant.period)}.{grant.expires}"
    mac = hmac.new(_key(bot_token), body.encode(), hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return f"{_b64(body.encode())}.{_b64(mac)}"


def issue(
    bot_token: str, resident_id: int, account_id: int, period: dt.date, now: dt.datetime
) -> str:
    expires = int((now + LIFETIME).timestamp())
    return sign(bot_token, Grant(resident_id, account_id, period, expires))


def read(bot_token: str, token: str, now: dt.datetime) -> Grant:
    """The grant of a token this server signed and that has not expired; `Forged` or `Expired`."""
    if len(token) > MAX_TOKEN or token.count(".") != 1:
        raise Forged()
    encoded, mac = token.split(".")
    try:
        body = _unb64(encoded)
        given = _unb64(mac)
    except (binascii.Error, ValueError):
        raise Forged() from None
    wanted = hmac.new(_key(bot_token), body, hashlib.sha256).digest()[:SIGNATURE_BYTES]
    if not hmac.compare_digest(wanted, given):
        raise Forged()
    try:
        resident_id, account_id, period, expires = (int(x) for x in body.decode().split("."))
        grant = Grant(resident_id, account_id, int_to_period(period), expires)
    except ValueError:  # signed by us, so never in practice; still not a grant
        raise Forged() from None
    if now.timestamp() >= grant.expires:
        raise Expired()
    return grant
