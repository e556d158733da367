"""The case card's rules, without Telegram: a callable number, earlier cases by date and
outcome only, never the resident's identity."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.cards import callable_phone, case_card
from bot.i18n import Catalogs
from storage.cases import CaseRecord
from tests.harness import make_config

WHEN = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def _case(case_id: int, **changes: object) -> CaseRecord:
    fields: dict[str, object] = {
        "id": case_id,
        "number": f"QJS-2026-000{case_id}",
        "resident_id": 4242,
        "pseudonym": "R-2787",
        "area_id": "dongsheng",
        "category": "neighbours",
        "urgent": False,
        "contact": "chat",
        "phone": None,
        "state": "accepted",
        "mediator_id": 2001,
        "created_at": WHEN,
    }
    fields.update(changes)
    return CaseRecord(**fields)  # type: ignore[arg-type]


def test_a_mainland_mobile_number_is_written_so_a_phone_offers_to_call_it() -> None:
    assert callable_phone("13812345678") == "+86 138 1234 5678"
    assert callable_phone("+86 138-1234-5678") == "+86 138 1234 5678"
    assert callable_phone("0574-8600-0001") == "0574-8600-0001"  # a landline stays as given


def test_the_card_has_everything_and_nothing_more(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    case = _case(3, contact="phone", phone="13812345678", urgent=True)
    earlier = [_case(1, state="settled", outcome_text="不再吵了"), _case(2, state="withdrawn")]
    with Catalogs(default="en").using("en"):
        card = "\n".join(case_card(config, case, earlier, "zh_CN"))
    assert card.startswith("🔴 QJS-2026-0003 · Resident R-2787")
    assert "Dongsheng Community" in card and "Neighbours" in card
    assert "+86 138 1234 5678" in card
    assert "She writes in: Chinese" in card  # her language named in the reader's
    assert "Earlier cases with us: 2" in card
    assert "不再吵了" not in card and "4242" not in card


def test_desk_hours_for_a_visit_to_the_desk(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    with Catalogs(default="en").using("en"):
        card = "\n".join(case_card(config, _case(1, contact="office"), [], None))
    assert "Tue and Thu 9:00–11:30" in card
