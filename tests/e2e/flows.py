"""Steps of the resident's intake that many end-to-end tests walk through."""

from __future__ import annotations

import re
from typing import Literal

from localapi.state import BotMessage
from tests.harness import BotUnderTest, Person, zh

CASE_NUMBER = re.compile(r"QJS-2026-\d{4}")
ACCEPTED = "✓ You accepted case {number}. What the resident wrote follows."  # the offer's edit
TAKEN = "{name} has taken your case {number} and will write to you here soon."  # to her
GOT_IT = "Got it. Send more if you like, or press Done."  # each part of her description
WHICH_AREA = "Which village or community do you live in?"  # the intake's first question
TOPIC = "What is it about?"  # the intake's topic question
DESCRIBE = (  # the intake's description step
    "Please tell us what happened, in your own words. You can send several messages, photos or"
    " voice messages. Press Done when you have finished."
)
REACH = "How would you like Da'asao to reach you?"  # after Done
CHECK_REQUEST = "Please check your request:"  # the summary before ✓ Send to Da'asao
REGISTERED = "Your request is registered as case {number}."
NOT_YOURS = "This case is not assigned to you."  # a mediator acting on someone else's case
ERASE_ASK = (  # /forget's question
    "This erases your profile, phone number, your messages, survey comments and subscriptions."
    " Open cases are withdrawn. It cannot be undone. Erase?"
)
ERASED = "Done: everything about you has been erased. If you write again, you start afresh."
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
HOW_ENDED = "How did case {number} end?"  # /close's first question
WRITTEN_OR_ORAL = "Case {number}: a written agreement, or an oral one?"
ORAL_TERMS = (
    "Oral agreement of case {number}: write down what was agreed (who does what, how and by"
    " when). It is recorded with the case; no document is made."
)
REFERRED_WHERE = (
    "Case {number}: where was it referred (for example the court, the police, the labour bureau)?"
)
RECORDED = "Thank you. Your agreement was recorded ({time})."  # a party's own confirmation
CONFIRMED = "{who} confirmed the agreement of case {number} ({time})."  # to the mediator
REOPENED = "Case {number} is open again, and it is your current case."  # /reopen, to its mediator
REOPENED_TO_HER = "Your case {number} has been reopened; your mediator will write to you here."
BLOCKED = "The resident of case {number} is blocked."  # /block, to whoever blocked
NOTE_SAVED = "Note saved to case {number}. It is not sent to the resident."
REVISIT = "🔁 Revisit {n} of case {number}"  # the revisit card's first line
ERASED_CASE = (  # to the mediator, when her resident withdrew and erased her data
    "The resident of case {number} has withdrawn it and had her data erased (withdrawn, data"
    " erased). The case has ended for good and cannot be reopened."
)
KEPT = (  # /privacy: what is kept; {days} is the config's privacy.retention_days
    "What we keep, and who sees it:\n• Your Telegram id and language, and your village or"
    " community.\n• Your cases: what you wrote, the conversation with your mediator, the"
    " outcome.\n• Only the mediator of your case and the head of the society read your messages."
    " Mediators see a case code, never your name or account. Staff see only numbers.\n• Message"
    " contents are deleted {days} days after a case is closed.\nYou can get a copy of everything,"
    " or have it erased."
)
MY_DATA = "Everything the bot keeps about you."  # the caption of /mydata's two files
HAND_OVER = (  # /transfer and /reassign: the confirmation, with the note
    "Hand case {number} over to {name}? She receives the case summary, the registration book and"
    " your note:\n{note}\nThe resident is told that {name} looks after the case now."
)
HANDED = (  # to the mediator who receives a case
    "Case {number} ({area}) has been handed over to you.\nHandover note: {note}\nIt is now your"
    " current case: write here to talk to the resident."
)
NOT_UNDERSTOOD = (
    "Sorry, I did not understand that. Write 找大阿嫂 to talk to Da'asao, or send /help."
)
NOW_IN = (  # /case, to the mediator
    "Now talking in case {number} ({area}). Messages you write without replying go to its resident."
)
WELCOME_TEAM = (  # an invite link opened; {role}: zh of the role, e.g. zh("mediator")
    "Welcome to the Da'asao team as {role}!\nWhat name should residents see? Send a short name,"
    " such as 王大姐."
)
WELCOME_NAMED = (  # a mediator or head who has given her name
    "Thank you, {name}. Residents will see you as {name}.\n/duty – go on or off duty\n/help –"
    " what you can do"
)
CLOSE_PREVIEW = "Please check. Nothing happens until you press ✓ Confirm."  # /close's preview
ALERTED = (  # to a resident once mediators were alerted: zh_n(*ALERTED, count, number=…)
    "We have alerted {count} Da'asao mediator; the first to take your case will contact you "
    "right away. If you are in danger now, call {number} at once.",
    "We have alerted {count} Da'asao mediators; the first to take your case will contact you "
    "right away. If you are in danger now, call {number} at once.",
)
URGENT = "🔴 URGENT: someone is in danger · case {number}"  # the urgent card's first line
UNKNOWN_COMMAND = (  # any command the bot does not know, in any state, for anyone
    "I don't know the command {command}, so nothing was sent to anyone. Send /help to see what "
    "you can do."
)
AUDIENCE = "Who should get it? Tick areas and/or topics, or keep Everyone."  # /announce, step 2
ANSWER_BY = "Please answer by {time}."  # an ordinary offer's deadline (no urgent one has it)
NEW_MATTER = ("这是另一件事", "It is a new matter")  # the choice of a resident with a case open


def shaped(source: str, **patterns: str) -> re.Pattern[str]:
    """The zh_CN text of the msgid `source` as a pattern, for a message whose values the test
    cannot know: each placeholder matches `patterns[name]` (a regex) or any text."""
    marks = {name: f"\0{name}\0" for name in re.findall(r"\{(\w+)\}", source)}
    parts = re.split(r"\0(\w+)\0", zh(source, **marks))
    return re.compile(
        "".join(
            re.escape(part) if i % 2 == 0 else f"(?:{patterns.get(part, '.+?')})"
            for i, part in enumerate(parts)
        )
    )


async def expect_shaped(person: Person, source: str, **patterns: str) -> BotMessage:
    """The next message, which must contain the whole zh_CN text of `source` (see `shaped`)."""
    message = await person.expect()
    assert shaped(source, **patterns).search(message.content), (source, message.content)
    return message


def privacy_notice(bot: BotUnderTest) -> str:
    """The whole /privacy notice in zh_CN with the configured retention days."""
    return zh(KEPT, days=bot.config.privacy.retention_days)


def resident_label() -> str:
    """A pattern for how a mediator sees a resident: her label with any pseudonym."""
    return re.escape(zh("Resident {code}", code="R-")) + r"[\w-]+"


def party_label() -> str:
    """A pattern for how the mediator and the resident see the other party, any pseudonym."""
    return re.escape(zh("Other party {code}", code="R-")) + r"[\w-]+"


def consent_screen(bot: BotUnderTest) -> str:
    """The whole consent screen as a resident reading Chinese sees it."""
    return zh(PRIVACY, days=bot.config.privacy.retention_days)


async def describe_and_confirm(resident: Person, *, text: str = "邻居家装修天天吵到半夜") -> str:
    """From the description step to the registered case; returns the case number."""
    await _describe(resident, text)
    await resident.press(zh("Chat here"))
    await resident.expect(zh(CHECK_REQUEST))
    await resident.press(zh("✓ Send to Da'asao"))
    registered = await resident.expect()
    match = CASE_NUMBER.search(registered.content)
    assert match, registered.content
    assert zh(REGISTERED, number=match.group(0)) in registered.content, registered.content
    return match.group(0)


async def _describe(resident: Person, text: str) -> None:
    """The description step: `text`, Done, up to the question how to reach her."""
    await resident.send(text)
    await resident.expect(zh(GOT_IT))
    await resident.press(zh("Done ✓"))
    await resident.expect(zh(REACH))


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
        assert shaped(PRIVACY, days=r"\d+").search(first.content), first.content
        await resident.press(zh("I agree"))
        await resident.expect(zh(WHICH_AREA))
        return
    assert zh(WHICH_AREA) in first.content, first.content


IntakeStep = Literal["topic", "description", "contact"]


async def intake_up_to(
    resident: Person,
    step: IntakeStep,
    *,
    area: str = "东升社区",
    category: str = "邻里纠纷",
    text: str = "邻居家装修天天吵到半夜",
    consent: bool = True,
) -> None:
    """The Chinese intake from the trigger until the bot asks for `step`: the topic, the
    description, or (after `text` and Done) how to reach her."""
    await start_intake(resident, consent=consent)
    await resident.press(area)
    await resident.expect(zh(TOPIC))
    if step == "topic":
        return
    await resident.press(category)
    await sensitive_consent(resident)
    await resident.expect(zh(DESCRIBE))
    if step == "contact":
        await _describe(resident, text)


async def open_case(
    resident: Person,
    area: str = "东升社区",
    category: str = "邻里纠纷",
    text: str = "邻居家装修天天吵到半夜",
    *,
    consent: bool = True,
) -> str:
    """A whole intake in Chinese; returns the case number."""
    await intake_up_to(resident, "description", area=area, category=category, consent=consent)
    return await describe_and_confirm(resident, text=text)


async def accepted_case(
    resident: Person, mediator: Person, *, area: str = "东升社区", text: str = "家里的矛盾"
) -> str:
    """A case opened by `resident` and accepted by `mediator` (who must get the offer)."""
    number = await open_case(resident, area=area, text=text)
    await mediator.expect(zh("New case {number}", number=number))
    await mediator.press(zh("Accept"))
    await mediator.expect_edit(zh(ACCEPTED, number=number))
    await mediator.expect_many(f"📨 {number}", text)
    await expect_shaped(resident, TAKEN, number=re.escape(number))  # by whichever name she has
    return number


async def close_settled(mediator: Person, agreement: str) -> None:
    """/close as settled with an oral agreement (§28), through its preview and ✓ 确认."""
    number = await close_asked(mediator)
    await mediator.press(zh("Settled (an agreement)"))
    await mediator.expect(zh(WRITTEN_OR_ORAL, number=number))
    await mediator.press(zh("Oral agreement (its content recorded)"))
    await mediator.expect(zh(ORAL_TERMS, number=number))
    await mediator.send(agreement)
    await mediator.expect(zh(CLOSE_PREVIEW))
    await mediator.press(zh("✓ Confirm"))


async def close_referred(mediator: Person, where: str) -> None:
    """/close as not settled, referred to `where`, through its preview and ✓ 确认."""
    number = await close_asked(mediator)
    await mediator.press(zh("Not settled (referred on)"))
    await mediator.expect(zh(REFERRED_WHERE, number=number))
    await mediator.send(where)
    await mediator.expect(zh(CLOSE_PREVIEW))
    await mediator.press(zh("✓ Confirm"))


async def hand_over(
    person: Person, command: str, number: str, name: str, note: str, *, confirm: bool = True
) -> None:
    """/transfer (or /reassign …) of case `number` to `name` with a handover note, up to the
    confirmation question, and with `confirm` through ✓ to "now with {name}"."""
    await person.send(command)
    await person.expect(zh("Hand case {number} over to whom?", number=number))
    await person.press(name)
    await person.expect(zh(HANDOVER_NOTE, name=name))
    await person.send(note)
    await person.expect(zh(HAND_OVER, number=number, name=name, note=note))
    if confirm:
        await person.press(zh("Confirm"))
        await person.expect(zh("Case {number} is now with {name}.", number=number, name=name))


async def close_asked(mediator: Person) -> str:
    """/close and its first question, for her current case; returns that case's number."""
    await mediator.send("/close")
    asked = await expect_shaped(mediator, HOW_ENDED, number=CASE_NUMBER.pattern)
    match = CASE_NUMBER.search(asked.content)
    assert match, asked.content
    return match.group(0)


async def sensitive_consent(resident: Person, *, agree: bool = True) -> None:
    """The separate consent for details about violence, health or minors (PIPL Art. 29),
    asked right after the topic: its button, in any language."""
    screen = await resident.expect()
    data = f"in:sensitive:{'yes' if agree else 'no'}"
    offered = [b.get("callback_data") for row in screen.buttons for b in row]
    assert data in offered, screen.content
    await resident.api.press_button(resident.id, screen.message_id, data)
