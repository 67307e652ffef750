"""Launch data signed as Telegram signs it (core.telegram.org/bots/webapps, "Validating data
received via the Mini App"), independent of the validator under test."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

from tests.harness import BOT_TOKEN


def user(user_id: int = 1001, first_name: str = "Иван") -> dict[str, object]:
    return {"id": user_id, "first_name": first_name, "language_code": "ru"}


def fields_for(user_id: int = 1001, age: float = 0) -> dict[str, str]:
    return {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(user(user_id), ensure_ascii=False, separators=(",", ":")),
        "auth_date": str(int(time.time() - age)),
    }


def signature(fields: dict[str, str], token: str = BOT_TOKEN) -> str:
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    return hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()


def sign(fields: dict[str, str], token: str = BOT_TOKEN) -> str:
    return urlencode({**fields, "hash": signature(fields, token)})


def init_data(user_id: int = 1001, age: float = 0, token: str = BOT_TOKEN) -> str:
    return sign(fields_for(user_id, age), token)


def header(data: str) -> dict[str, str]:
    return {"Authorization": f"tma {data}"}
