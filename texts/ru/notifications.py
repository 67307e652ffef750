"""Notifications: a payment received, the bill's due date near, a meter's verification date."""

from __future__ import annotations

from texts import fmt

PAYMENT_RECEIVED = "💰 Поступила оплата {amount} по л/с № {number}, {day}."
# to the resident who paid through the bot (and was thanked then): the billing has booked it
PAYMENT_BOOKED = "✅ Оплата {amount} через бот зачислена на л/с № {number}, {day}."

PAY_BY = "🔔 По л/с № {number} ({address}) к оплате {amount} до {due} — {left}."

VERIFY_SOON = (
    "🔧 Срок поверки {meters_word} по л/с № {number} ({address}) истекает {due}:\n"
    "{meters}\n\n"
    "Закажите поверку заранее: показания счётчика с истёкшим сроком поверки не принимаются "
    "к расчёту."
)
VERIFY_OVER = (
    "⚠️ Срок поверки {meters_word} по л/с № {number} ({address}) истёк {due}:\n"
    "{meters}\n\n"
    "Пока счётчик не поверен, его показания не принимаются к расчёту, и плата начисляется по "
    "среднему, а затем по нормативу. После поверки передайте её документы в управляющую "
    "организацию."
)
METER_LINE = "• {name}, № {serial}"
METER_LINE_NO_SERIAL = "• {name}"


def days_left(days: int) -> str:
    """`сегодня последний день`, `остался 1 день`, `осталось 3 дня`."""
    if days <= 0:
        return "сегодня последний день"
    verb = fmt.plural(days, "остался", "осталось", "осталось")
    return f"{verb} {fmt.count(days, 'день', 'дня', 'дней')}"


def meters_word(count: int) -> str:
    """`счётчика` (one) or `счётчиков`: «срок поверки счётчика / счётчиков»."""
    return "счётчика" if count == 1 else "счётчиков"
