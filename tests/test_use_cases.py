"""Rules that were tested only through Telegram, now fast: the features themselves over a
temporary database (tests/features.py). The end-to-end tests keep the flows."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.errors import CaseNotFoundError, NotAllowedError, StaleActionError
from bot.core.messaging import Outgoing
from bot.core.pacing import BROADCAST
from bot.domain.cases import CaseState
from bot.domain.permissions import StaffOnlyError, StaffOrHeadOnlyError
from bot.features.outbox import send_payload
from tests.features import Features

RESIDENT, MEDIATOR, OTHER, HEAD, STAFF = 100, 200, 201, 300, 900


async def _offered(features: Features) -> tuple[int, int]:
    """A resident's case offered to the one mediator on duty: (case id, offer id)."""
    await features.mediator(MEDIATOR)
    await features.services.deps.repos.members.set_duty_mode(MEDIATOR, "on")
    case = await features.case(await features.resident(RESIDENT))
    assignment = await features.services.routing.route(case.id)
    assert assignment.mediator_id == MEDIATOR
    offer = await features.services.deps.repos.cases.open_offer(case.id)
    assert offer is not None
    return case.id, offer.id


async def test_a_case_is_offered_to_the_mediator_on_duty_with_a_card(features: Features) -> None:
    case_id, offer_id = await _offered(features)
    case = await features.services.deps.repos.cases.get(case_id)
    assert case is not None and case.state is CaseState.OFFERED
    cards = [s for s in features.channel.sent if s.chat_id == MEDIATOR and s.message]
    assert any(
        b.data.endswith(f"{offer_id}:accept")
        for s in cards
        for row in s.message.buttons
        for b in row
    )  # type: ignore[union-attr]


async def test_accepting_gives_her_the_case_and_tells_the_resident(features: Features) -> None:
    _case, offer_id = await _offered(features)
    mediator = await features.person(MEDIATOR)
    case = await features.services.routing.accept(mediator, offer_id)
    assert (case.state, case.mediator_id) == (CaseState.ACCEPTED, MEDIATOR)
    assert any("Mediator 200" in text for text in features.said_to(RESIDENT))


async def test_an_offer_nobody_answers_expires_and_the_case_waits_again(features: Features) -> None:
    case_id, _offer = await _offered(features)
    timeout = features.services.config.routing.accept_timeout_minutes
    assert await features.advance(timedelta(minutes=timeout + 1)) >= 1
    offers = await features.services.deps.repos.cases.offered_to(case_id)
    assert MEDIATOR in offers  # she was asked once; the next round looks past her
    case = await features.services.deps.repos.cases.get(case_id)
    assert case is not None and case.state in (CaseState.NEW, CaseState.UNASSIGNED)


async def test_someone_else_cannot_accept_her_offer(features: Features) -> None:
    _case, offer_id = await _offered(features)
    other = await features.mediator(OTHER)
    with pytest.raises(NotAllowedError):
        await features.services.routing.accept(other, offer_id)


async def test_a_second_accept_is_a_stale_button(features: Features) -> None:
    _case, offer_id = await _offered(features)
    mediator = await features.person(MEDIATOR)
    await features.services.routing.accept(mediator, offer_id)
    with pytest.raises((StaleActionError, NotAllowedError)):
        await features.services.routing.accept(mediator, offer_id)


async def test_the_resident_withdraws_and_the_mediator_is_told(features: Features) -> None:
    case_id, offer_id = await _offered(features)
    await features.services.routing.accept(await features.person(MEDIATOR), offer_id)
    resident = await features.person(RESIDENT)
    await features.services.casework.withdraw(resident, case_id)
    case = await features.services.deps.repos.cases.get(case_id)
    assert case is not None and case.state is CaseState.WITHDRAWN
    with pytest.raises(StaleActionError):  # a withdrawn case cannot be withdrawn again
        await features.services.casework.withdraw(resident, case_id)


async def test_only_her_own_resident_may_withdraw_a_case(features: Features) -> None:
    case_id, _offer = await _offered(features)
    stranger = await features.resident(RESIDENT + 1)
    with pytest.raises(NotAllowedError):
        await features.services.casework.withdraw(stranger, case_id)


async def test_a_closed_case_is_reopened_to_its_mediator(features: Features) -> None:
    case_id, offer_id = await _offered(features)
    mediator = await features.person(MEDIATOR)
    case = await features.services.routing.accept(mediator, offer_id)
    await features.services.casework.withdraw(await features.person(RESIDENT), case_id)
    assert (await features.fresh(case)).state is CaseState.WITHDRAWN
    await features.services.casework.reopen(mediator, case.number)
    assert (await features.fresh(case)).state is CaseState.ACCEPTED


async def test_an_unknown_case_number_is_one_error_everywhere(features: Features) -> None:
    head = await features.mediator(HEAD, role="head")
    with pytest.raises(CaseNotFoundError):
        await features.services.access.listing(head, "QJS-2026-9999")
    with pytest.raises(CaseNotFoundError):
        await features.services.casework.reopen(head, "QJS-2026-9999")


async def test_each_kind_of_refusal_has_its_own_words(features: Features) -> None:
    mediator, staff = await features.mediator(MEDIATOR), await features.person(STAFF)
    with pytest.raises(StaffOrHeadOnlyError):
        await features.services.access.listing(mediator, "QJS-2026-0001")
    with pytest.raises(StaffOnlyError):
        await features.services.announcements.listing(mediator)
    await features.services.announcements.listing(staff)  # staff may
    texts = {StaffOnlyError().user_message(), StaffOrHeadOnlyError().user_message()}
    assert len(texts | {NotAllowedError().user_message()}) == 3


async def test_an_alarm_goes_out_ahead_of_the_conversations_and_a_broadcast(
    features: Features,
) -> None:
    """A second of conversation and two of a broadcast wait for the bot's budget of sends
    (30 a second) when someone presses 🆘: the cards do not wait behind them."""
    await features.mediator(MEDIATOR)
    await features.mediator(HEAD, role="head")
    outbox = features.services.deps.outbox
    broadcast, conversation = range(5000, 5060), range(6000, 6030)
    notice = send_payload(Outgoing("notice"), None)
    for chat in broadcast:
        await outbox.put(chat, "message", notice, priority=BROADCAST)
    for chat in conversation:
        await outbox.queue_message(chat, Outgoing("a copy"))
    await features.services.intake.sos(await features.resident(RESIDENT), numbers_shown=True)
    cards = [s for s in features.channel.sent if s.text and "URGENT" in s.text]
    assert {s.chat_id for s in cards} == {MEDIATOR, HEAD}
    first_card = features.channel.sent.index(cards[0])
    before = [s.chat_id for s in features.channel.sent[:first_card]]
    # What had its slot already when the alarm was raised, at most: the pacer's catch-up.
    assert len([c for c in before if c in conversation]) < len(conversation) // 2
    assert len([c for c in before if c in broadcast]) < len(broadcast) // 2


async def _alarm_with_a_card_held(features: Features) -> tuple[asyncio.Task[Any], int]:
    """🆘 with two mediators to alert: MEDIATOR's card is out, OTHER's chat is stuck."""
    await features.mediator(MEDIATOR)
    await features.mediator(OTHER)
    features.channel.hold(OTHER)
    resident = await features.resident(RESIDENT)
    alarm = asyncio.create_task(features.services.intake.sos(resident, numbers_shown=True))
    await features.cards_to(MEDIATOR, "URGENT")
    [case] = await features.services.deps.repos.cases.open_of_resident(RESIDENT)
    return alarm, case.id


async def test_the_first_card_out_may_take_the_case_while_another_is_stuck(
    features: Features,
) -> None:
    alarm, case_id = await _alarm_with_a_card_held(features)
    taken = await features.services.urgent.take(await features.person(MEDIATOR), case_id)
    assert taken.mediator_id == MEDIATOR
    features.channel.held[OTHER].set()
    await alarm
    assert len(await features.cards_to(OTHER, "URGENT")) == 1


async def test_a_round_a_crash_cut_short_is_finished_at_start(
    features: Features, tmp_path: Path
) -> None:
    """The cards not yet out are dropped with the crash and sent at the next start, once;
    who had hers already gets no second one."""
    alarm, case_id = await _alarm_with_a_card_held(features)
    alarm.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await alarm
    await features.close()  # OTHER's card never left
    again = await Features.open(tmp_path)
    try:
        assert len(await again.cards_to(OTHER, "URGENT")) == 1
        taken = await again.services.urgent.take(await again.person(OTHER), case_id)
        assert taken.mediator_id == OTHER
        cards = [s for s in again.channel.sent if "URGENT" in (s.text or "")]
        assert [s.chat_id for s in cards] == [OTHER]  # none again for MEDIATOR
    finally:
        await again.close()
