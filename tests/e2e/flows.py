"""Steps of the resident's intake that many end-to-end tests walk through."""

from __future__ import annotations

import re

from localapi.state import BotMessage
from tests.harness import BotUnderTest, Person, zh

CASE_NUMBER = re.compile(r"QJS-2026-\d{4}")
ACCEPTED = "✓ You accepted case {number}. What the resident wrote follows."  # the offer's edit
TAKEN = "{name} has taken your case {number} and will write to you here soon."  # to her
GOT_IT = "Got it. Send more if you like, or press Done."  # each part of her description
PRIVACY = (  # the consent screen: {days} is the config's privacy.retention_days
    "Before we start, about your privacy:\n"
    "• What you tell us is seen only by the mediator who takes your case and the head "
    "of the mediation society.\n"
    "• The mediator sees a case code, never your name, username or phone number "
    "(unless you choose to share a number).\n"
    "• Messages are deleted {days} days after your case is closed.\n"
    "• You can stop at any step with /cancel.\n\n"
    "Do you agree?"
)
CLOSED = "Case {number} is closed: {outcome}."  # to the mediator; {outcome}: zh of a state
CLOSED_TO_HER = "Your case {number} has been closed: {outcome}."
DECLINE = (
    "Decline case {number}? It will be offered to another mediator, and the resident will be"
    " told that someone else will answer."
)
HANDOVER_NOTE = (
    "Write a short handover note for {name}: what happened so far, what is agreed, what to watch"
    " out for."
)
CLOSE_PREVIEW = "Please check. Nothing happens until you press ✓ Confirm."  # /close's preview
NEW_MATTER = ("这是另一件事", "It is a new matter")  # the choice of a resident with a case open


def consent_screen(bot: BotUnderTest) -> str:
    """The whole consent screen as a resident reading Chinese sees it."""
    return zh(PRIVACY, days=bot.config.privacy.retention_days)


async def describe_and_confirm(resident: Person, *, text: str = "邻居家装修天天吵到半夜") -> str:
    """From the description step to the registered case; returns the case number."""
    await resident.send(text)
    await resident.expect(zh(GOT_IT))
    await resident.press("说完了 ✓")
    await resident.expect("您希望大阿嫂怎么和您联系")
    await resident.press("就在这里聊")
    await resident.expect("请核对您的求助内容")
    await resident.press("✓ 提交给大阿嫂")
    registered = await resident.expect("您的求助已登记")
    match = CASE_NUMBER.search(registered.content)
    assert match
    return match.group(0)


async def register_en(
    resident: Person,
    area: str = "Dongsheng Community",
    category: str = "Neighbours",
    text: str = "Noise every night",
    *,
    via_start: bool = False,
) -> BotMessage:
    """A whole intake in English, begun with 找大阿嫂 (or /start and its welcome); returns the
    bot's "registered as case …" message."""
    if via_start:
        await resident.send("/start")
        await resident.expect_many("Do you agree", "By the way")
    else:
        first = await trigger(resident, "Find Da'asao")
        assert "Do you agree" in first.content, first.content
    await resident.press("I agree")
    await resident.expect("Which village")
    await resident.press(area)
    await resident.expect("What is it about")
    await resident.press(category)
    await sensitive_consent(resident)
    await resident.expect("Please tell")
    await resident.send(text)
    await resident.expect("Got it")
    await resident.press("Done ✓")
    await resident.expect("How would you like")
    await resident.press("Chat here")
    await resident.expect("Please check")
    await resident.press("✓ Send to Da'asao")
    return await resident.expect("registered as case")


async def open_case_en(
    resident: Person,
    area: str = "Dongsheng Community",
    text: str = "Noise every night",
    *,
    via_start: bool = False,
    category: str = "Neighbours",
) -> str:
    """A whole intake in English; returns the case number."""
    registered = await register_en(resident, area, category, text, via_start=via_start)
    match = CASE_NUMBER.search(registered.content)
    assert match, registered.content
    return match.group(0)


async def trigger(resident: Person, words: str = "找大阿嫂") -> BotMessage:
    """The trigger; with a case open she is told who follows it, and chooses a new matter."""
    await resident.send(words)
    first = await resident.expect()
    new_matter = next((b for b in NEW_MATTER if b in str(first.buttons)), None)
    if new_matter is not None:
        await resident.press(new_matter)
        first = await resident.expect()
    return first


async def start_intake(resident: Person, *, consent: bool = True) -> None:
    first = await trigger(resident)
    if consent:
        assert "您同意吗" in first.content, first.content
        await resident.press("我同意")
        await resident.expect("您住在哪个村或社区")
        return
    assert "您住在哪个村或社区" in first.content, first.content


async def open_case(
    resident: Person,
    area: str = "东升社区",
    category: str = "邻里纠纷",
    text: str = "邻居家装修天天吵到半夜",
    *,
    consent: bool = True,
) -> str:
    """A whole intake in Chinese; returns the case number."""
    await start_intake(resident, consent=consent)
    await resident.press(area)
    await resident.expect("是哪方面的事情")
    await resident.press(category)
    await sensitive_consent(resident)
    await resident.expect("请用您自己的话")
    return await describe_and_confirm(resident, text=text)


async def accepted_case(
    resident: Person, mediator: Person, *, area: str = "东升社区", text: str = "家里的矛盾"
) -> str:
    """A case opened by `resident` and accepted by `mediator` (who must get the offer)."""
    number = await open_case(resident, area=area, text=text)
    await mediator.expect(zh("New case {number}", number=number))
    await mediator.press("接受")
    await mediator.expect_edit(zh(ACCEPTED, number=number))
    await mediator.expect_many(f"📨 {number}", text)
    await resident.expect(f"已经接手您的案件 {number}")
    return number


async def close_settled(mediator: Person, agreement: str) -> None:
    """/close as settled with an oral agreement (§28), through its preview and ✓ 确认."""
    await mediator.send("/close")
    await mediator.expect("结果是")
    await mediator.press("调解成功（达成协议）")
    await mediator.expect("签书面协议，还是口头协议")
    await mediator.press("口头协议（记录内容）")
    await mediator.expect("请写下商量好的内容")
    await mediator.send(agreement)
    await mediator.expect(zh(CLOSE_PREVIEW))
    await mediator.press("✓ 确认")


async def close_referred(mediator: Person, where: str) -> None:
    """/close as not settled, referred to `where`, through its preview and ✓ 确认."""
    await mediator.send("/close")
    await mediator.expect("结果是")
    await mediator.press("未调解成功（已转介）")
    await mediator.expect("转介到了哪里")
    await mediator.send(where)
    await mediator.expect(zh(CLOSE_PREVIEW))
    await mediator.press("✓ 确认")


async def sensitive_consent(resident: Person, *, agree: bool = True) -> None:
    """The separate consent for details about violence, health or minors (PIPL Art. 29),
    asked right after the topic: its button, in any language."""
    screen = await resident.expect()
    data = f"in:sensitive:{'yes' if agree else 'no'}"
    offered = [b.get("callback_data") for row in screen.buttons for b in row]
    assert data in offered, screen.content
    await resident.api.press_button(resident.id, screen.message_id, data)
