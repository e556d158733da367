"""Data rights, retention, discreet mode and abuse protection, end to end."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from tests.e2e.flows import (
    BLOCKED,
    CLOSED,
    CLOSED_TO_HER,
    DESCRIBE,
    ERASE_ASK,
    ERASED,
    ERASED_CASE,
    GOT_IT,
    MY_DATA,
    NOT_UNDERSTOOD,
    NOTE_SAVED,
    NOW_IN,
    TOPIC,
    WHICH_AREA,
    accepted_case,
    close_referred,
    consent_screen,
    expect_shaped,
    privacy_notice,
    sensitive_consent,
)
from tests.harness import BotUnderTest, Person, zh

DAY = timedelta(days=1)


async def test_privacy_explains_and_offers_the_rights(bot: BotUnderTest) -> None:
    resident = bot.person(1701, language_code="en")
    await resident.send("/privacy")
    notice = await resident.expect("What we keep, and who sees it")
    assert "deleted 365 days after a case is closed" in notice.content
    assert notice.button_data("📄 My data") and notice.button_data("🗑 Erase my data")


async def test_mydata_sends_everything_readable_and_as_json(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident = bot.person(1702, "秀英", username="xiuying")
    number = await accepted_case(resident, team["wang"], text="婆婆总是挑剔我")
    await resident.send("/mydata")
    readable = await resident.expect(zh(MY_DATA))  # caption
    exported = await resident.expect()
    assert readable.kind == exported.kind == "document"
    data = json.loads(exported.data.decode("utf-8"))  # type: ignore[union-attr]
    assert data["profile"]["language"] is None and data["profile"]["id"] == 1702
    assert data["cases"][0]["number"] == number
    assert data["cases"][0]["your_messages"][0]["text"] == "婆婆总是挑剔我"
    assert number in readable.data.decode("utf-8")  # type: ignore[union-attr]


async def test_forget_erases_the_resident_and_withdraws_open_cases(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1703, "秀英"), team["wang"]
    number = await accepted_case(resident, wang, text="隐私内容ABC")
    await resident.send("/forget")
    await resident.expect(zh(ERASE_ASK))
    await resident.press(zh("No, keep it"))
    await resident.expect(zh("Nothing was erased."))
    await resident.send("/forget")
    await resident.expect(zh(ERASE_ASK))
    await resident.press(zh("Yes, erase everything"))
    await resident.expect(zh(ERASED))
    await wang.expect(zh(ERASED_CASE, number=number))
    assert bot.app is not None
    db = bot.app.bot_data.services.db
    assert await db.fetch_one("SELECT 1 FROM users WHERE id = 1703") is None
    case = await db.fetch_one(
        "SELECT resident_id, state, category FROM cases WHERE number = ?", (number,)
    )
    assert case is not None and tuple(case) == (None, "withdrawn", "neighbours")  # still counted
    assert await db.fetch_one("SELECT 1 FROM case_messages WHERE text LIKE '%ABC%'") is None
    assert await db.fetch_one("SELECT 1 FROM relay_map WHERE chat_id = 1703") is None
    events = [e.kind for e in await bot.timeline(number)]
    assert events[-2:] == ["withdrawn", "erased"]
    await wang.send(f"/book {number}")
    page = (await wang.expect(number)).data.decode("utf-8")  # type: ignore[union-attr]
    assert "隐私内容ABC" not in page


async def test_contents_of_old_closed_cases_are_purged_daily(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1704), team["wang"]
    wang.ignore("📋", "🔁")
    resident.ignore("前几天")
    number = await accepted_case(resident, wang, text="很久以前的事")
    await close_referred(wang, "法院")
    await wang.expect(zh(CLOSED, number=number, outcome=zh("not settled")))
    await resident.expect(zh(CLOSED_TO_HER, number=number, outcome=zh("not settled")))
    assert bot.app is not None
    db = bot.app.bot_data.services.db
    bot.clock.advance(364 * DAY)
    await wang.expect_silence(0.3)
    row = await db.fetch_one(
        "SELECT count(*) FROM case_messages c JOIN cases k ON k.id = c.case_id WHERE k.number = ?",
        (number,),
    )
    assert row is not None and row[0] == 1  # not yet
    bot.clock.advance(2 * DAY)  # the next 03:00 purge finds it past the retention period

    async def purged() -> bool:
        found = await db.fetch_one("SELECT purged_at FROM cases WHERE number = ?", (number,))
        return found is not None and found[0] is not None

    for _ in range(100):
        if await purged():
            break
        await asyncio.sleep(0.05)
    assert await purged()
    count = await db.fetch_one(
        "SELECT count(*) FROM case_messages c JOIN cases k ON k.id = c.case_id WHERE k.number = ?",
        (number,),
    )
    assert count is not None and count[0] == 0
    case = await db.fetch_one("SELECT state FROM cases WHERE number = ?", (number,))
    assert case is not None and case[0] == "not_settled"  # the record stays
    assert "purged" in [e.kind for e in await bot.timeline(number)]


async def test_discreet_mode_neutral_first_line_and_clear_chat(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1705), team["wang"]
    await accepted_case(resident, wang)
    await resident.send("/privacy")
    await resident.expect(privacy_notice(bot))
    await resident.press(zh("Discreet mode: on"))
    await resident.expect(zh("📩 New message"))  # even the confirmation starts neutrally
    await wang.send("您好，今天方便说话吗？")
    header = await resident.expect(zh("📩 New message"))
    assert header.content.startswith("📩 新消息\n\n💬 王大姐")
    text = await resident.expect("今天方便说话吗")
    assert text.content.startswith("📩 新消息\n\n")
    await bot.api.send_photo(wang.id, b"jpeg", caption="照片")
    photo = await resident.expect("照片")
    assert photo.kind == "photo" and photo.content.startswith("📩 新消息")
    before = [m.message_id for m in bot.api.messages_to(resident.id)]
    bot.clock.advance(timedelta(hours=49))  # the four so far can no longer be deleted
    await wang.send("还在吗")
    await resident.expect("还在吗")
    await resident.send("/privacy")
    await resident.expect(privacy_notice(bot))
    await resident.press(zh("🧹 Clear this chat"))
    report = await resident.expect(zh("Deleted {deleted} of my messages.", deleted=2))
    older = (
        "{count} older messages could not be deleted: Telegram only lets a bot delete its messages"
        " for 48 hours. Please delete them yourself (press and hold a message, then Delete), or"
        " delete the whole chat."
    )
    assert zh(older, count=4) in report.content, report.content
    deleted = {m.message_id for m in bot.api.messages_to(resident.id) if m.deleted}
    assert len(deleted) == 2 and not deleted & set(before)


async def test_danger_path_offers_discreet_mode(bot: BotUnderTest, team: dict[str, Person]) -> None:
    resident = bot.person(1706)
    await resident.send("找大阿嫂")
    await resident.expect(consent_screen(bot))
    await resident.send("救命")
    await expect_shaped(resident, "If you are in danger now, call at once:\n{numbers}")
    await resident.press(zh("🆘 Alert Da'asao now"))
    await resident.expect("我们已经通知了")
    offer = await resident.expect(
        zh(
            "If someone else may look at your phone, discreet mode keeps the notifications"
            " neutral and lets you clear this chat."
        )
    )
    assert offer.button_data(zh("Discreet mode: on"))


async def test_a_flood_is_slowed_down_kept_and_not_relayed_twice(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    resident, wang = bot.person(1707), team["wang"]
    await accepted_case(resident, wang)
    for n in range(25):
        await resident.send(f"第{n}条")
    await resident.expect(
        zh(
            "You are writing very fast. Your messages are kept with your case, and your mediator"
            " has been told they are waiting for her."
        )
    )
    assert bot.app is not None
    db = bot.app.bot_data.services.db

    async def stored() -> int:
        row = await db.fetch_one("SELECT count(*) FROM case_messages WHERE text LIKE '第%'")
        return int(row[0]) if row else 0

    for _ in range(100):  # the updates are fetched; give the bot a moment to handle them
        if await stored() == 25:
            break
        await asyncio.sleep(0.05)
    assert await stored() == 25  # nothing lost
    relayed = [m.content for m in bot.api.messages_to(wang.id) if m.content.startswith("第")]
    assert len(relayed) == len(set(relayed)) < 25  # nothing twice, the flood not passed on


async def test_staff_can_block_and_unblock_with_a_reason(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    resident, wang = bot.person(1708), team["wang"]
    number = await accepted_case(resident, wang)
    await resident.send("/block " + number)
    await resident.expect(zh("Sorry, this is only for the mediation desk's team."))
    await staff.send(f"/block {number} 辱骂调解员")
    await staff.expect(zh(BLOCKED, number=number))
    await resident.send("你们都是骗子")
    await resident.expect(zh("Sorry, your messages cannot be received now."))
    await wang.expect_silence(0.2)
    events = await bot.timeline(number)
    assert events[-1].kind == "blocked" and events[-1].detail == {"reason": "辱骂调解员"}
    await team["head"].send(f"/unblock {number}")
    await team["head"].expect(zh("The resident of case {number} can write again.", number=number))
    await resident.send("对不起")
    await wang.expect("对不起")


async def test_a_blocked_resident_keeps_her_data_rights_and_nothing_else(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    resident, wang = bot.person(1709), team["wang"]
    number = await accepted_case(resident, wang)
    await staff.send(f"/block {number} 威胁调解员")
    await staff.expect(zh(BLOCKED, number=number))
    await resident.send("/status")
    refused = await resident.expect(zh("Sorry, your messages cannot be received now."))
    assert "/privacy" in refused.content  # what she can still do
    await resident.send("/privacy")
    notice = await resident.expect(privacy_notice(bot))
    await resident.press(zh("📄 My data"))
    await resident.expect_many(zh(MY_DATA), zh(MY_DATA))
    assert bot.app is not None
    db = bot.app.bot_data.services.db
    case = await db.fetch_one("SELECT id FROM cases WHERE number = ?", (number,))
    assert case is not None
    for forged in (f"wd:{case[0]}", f"rl:{notice.message_id}:{case[0]}", "sub:a:dongsheng"):
        query = await bot.api.press_button(resident.id, notice.message_id, forged, forged=True)
        assert await resident.callback_answer(query) == "抱歉，现在无法接收您的消息。"
    row = await db.fetch_one("SELECT state FROM cases WHERE id = ?", (case[0],))
    assert row is not None and row[0] == "accepted"  # the withdraw press did nothing
    assert await db.fetch_one("SELECT 1 FROM subscribers WHERE user_id = 1709") is None
    await resident.send("/forget")
    await resident.expect(zh(ERASE_ASK))
    await resident.press(zh("Yes, erase everything"))
    await resident.expect(zh(ERASED))
    assert await db.fetch_one("SELECT 1 FROM users WHERE id = 1709") is None


def _database_bytes(bot: BotUnderTest) -> bytes:
    """Every byte of the database's files, as a forensic look at the disk would read them."""
    path = Path(bot.config.storage.path)
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    return b"".join(f.read_bytes() for f in files if f.exists())


async def _until_gone(bot: BotUnderTest, secrets: dict[str, str]) -> list[str]:
    """The secrets still somewhere in the files, after giving the bot a moment."""
    found: list[str] = []
    for _ in range(50):
        data = _database_bytes(bot)
        found = [name for name, text in secrets.items() if text.encode() in data]
        if not found:
            break
        await asyncio.sleep(0.05)
    return found


async def test_after_forget_the_erased_text_is_nowhere_in_the_database_files(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    resident, wang = bot.person(1710), team["wang"]
    secrets = {
        "description": "SECRET-DESCRIPTION-a81f",
        "to the mediator": "SECRET-TO-MEDIATOR-b92e",
        "to the resident": "SECRET-TO-RESIDENT-c03d",
        "note": "SECRET-NOTE-d14c",
        "block reason": "SECRET-REASON-e25b",
        "a new intake": "SECRET-DRAFT-f36a",
    }
    number = await accepted_case(resident, wang, text=secrets["description"])
    await resident.send(secrets["to the mediator"])
    await wang.expect(secrets["to the mediator"])
    await wang.send(secrets["to the resident"])
    await resident.expect_many("💬 王大姐", secrets["to the resident"])
    await wang.send(f"/note {secrets['note']}")
    await wang.expect(zh(NOTE_SAVED, number=number))
    await resident.send("找大阿嫂")  # a second request, begun and left
    await resident.expect(
        zh(
            "{name} is looking after your case {number}. Just write here: {name} reads every"
            " message.",
            name="王大姐",
            number=number,
        )
    )
    await resident.press(zh("It is a new matter"))
    await resident.expect(zh(WHICH_AREA))
    await resident.press("东升社区")
    await resident.expect(zh(TOPIC))
    await resident.press("邻里纠纷")
    await sensitive_consent(resident)
    await resident.expect(zh(DESCRIBE))
    await resident.send(secrets["a new intake"])
    await resident.expect(zh(GOT_IT))
    await staff.send(f"/block {number} {secrets['block reason']}")
    await staff.expect(zh(BLOCKED, number=number))
    assert await _until_gone(bot, secrets) != [], "the test would prove nothing"
    await resident.send("/forget")  # blocked: her data rights remain
    await resident.expect(zh(ERASE_ASK))
    await resident.press(zh("Yes, erase everything"))
    await resident.expect(zh(ERASED))
    await wang.expect(zh(ERASED_CASE, number=number))
    assert await _until_gone(bot, secrets) == []
    events = [e for e in await bot.timeline(number) if e.kind == "blocked"]
    assert events and events[0].detail == {}
    await resident.send("你好")  # the block went with her: she starts afresh
    await resident.expect(zh(NOT_UNDERSTOOD))


async def test_after_the_purge_old_contents_and_drafts_are_nowhere_in_the_database_files(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    resident, wang, other = bot.person(1711), team["wang"], bot.person(1712)
    wang.ignore("📋", "🔁")
    resident.ignore("前几天")
    secrets = {
        "description": "SECRET-OLD-DESCRIPTION-1a",
        "to the mediator": "SECRET-OLD-TO-MEDIATOR-2b",
        "to the resident": "SECRET-OLD-TO-RESIDENT-3c",
        "referral": "SECRET-OLD-REFERRAL-4d",
        "block reason": "SECRET-OLD-REASON-5e",
        "abandoned intake": "SECRET-OLD-DRAFT-6f",
    }
    number = await accepted_case(resident, wang, text=secrets["description"])
    await resident.send(secrets["to the mediator"])
    await wang.expect(secrets["to the mediator"])
    await wang.send(secrets["to the resident"])
    await resident.expect_many("💬 王大姐", secrets["to the resident"])
    await staff.send(f"/block {number} {secrets['block reason']}")
    await staff.expect(zh(BLOCKED, number=number))
    await close_referred(wang, secrets["referral"])
    await wang.expect(zh(CLOSED, number=number, outcome=zh("not settled")))
    await other.send("找大阿嫂")
    await other.expect(consent_screen(bot))
    await other.press(zh("I agree"))
    await other.expect(zh(WHICH_AREA))
    await other.press("东升社区")
    await other.expect(zh(TOPIC))
    await other.press("邻里纠纷")
    await sensitive_consent(other)
    await other.expect(zh(DESCRIBE))
    await other.send(secrets["abandoned intake"])
    await other.expect(zh(GOT_IT))
    await other.send("/mydata")  # the draft is hers while it exists
    await other.expect(zh(MY_DATA))
    exported = await other.expect()
    draft = json.loads(exported.data.decode())["draft"]  # type: ignore[union-attr]
    assert draft["step"] == "describe"
    assert draft["so_far"]["parts"][0]["text"] == secrets["abandoned intake"]
    assert await _until_gone(bot, secrets) != [], "the test would prove nothing"
    bot.clock.advance(366 * DAY)  # past the retention period and the draft's 30 days
    assert bot.app is not None
    db = bot.app.bot_data.services.db
    for _ in range(100):
        found = await db.fetch_one("SELECT purged_at FROM cases WHERE number = ?", (number,))
        if found is not None and found[0] is not None:
            break
        await asyncio.sleep(0.05)
    assert await _until_gone(bot, secrets) == []
    assert await db.fetch_one("SELECT 1 FROM drafts WHERE user_id = 1712") is None
    case = await db.fetch_one("SELECT state, category FROM cases WHERE number = ?", (number,))
    assert case is not None and tuple(case) == ("not_settled", "neighbours")  # still counted
    block = await db.fetch_one("SELECT reason FROM user_blocks WHERE user_id = 1711")
    assert block is not None and block[0] == "—"  # still blocked, no longer said why


async def test_every_reading_of_a_case_is_logged_for_the_head_staff_and_the_resident(
    bot: BotUnderTest, team: dict[str, Person], staff: Person
) -> None:
    from tests.e2e.conftest import join_team

    resident, wang, head = bot.person(1713, username="reader_check"), team["wang"], team["head"]
    number = await accepted_case(resident, wang)
    await head.send(f"/access {number}")
    await head.expect(zh("Nobody has opened case {number} yet.", number=number))
    adviser = await join_team(bot, staff, 2300, "法律指导员", "刘律师")
    await wang.send(f"/case {number}")
    await wang.expect(zh(NOW_IN, number=number, area="东升社区"))
    await wang.send(f"/book {number}")
    await wang.expect_many(number, number)  # the case file as HTML and as DOCX
    await head.send(f"/book {number}")
    await head.expect_many(number, number)
    await wang.send("/consult")
    await wang.expect(
        zh(
            "Write your question for the legal adviser. They will see the case's"
            " topic and area, never who the resident is."
        )
    )
    await wang.send("邻居的树挡光，能要求砍掉吗？")
    await wang.expect(
        zh("Your question has been sent to the legal adviser. Their answer will come here.")
    )
    await adviser.expect("邻居的树挡光")
    for reader in (resident, wang):  # neither a resident nor a mediator may list it
        await reader.send(f"/access {number}")
        await reader.expect(
            zh("Sorry, this is only for the federation staff and the head of the society.")
        )
    for reader in (head, staff):
        await reader.send(f"/access {number}")
        listed = (
            await reader.expect(zh("Who opened case {number}, and when:", number=number))
        ).content.splitlines()
        assert [line.split(" · ", 1)[1] for line in listed[1:]] == [
            "调解员 王大姐 · 对话",
            "调解员 王大姐 · 登记簿",
            "社长 陈社长 · 登记簿",
            "法律指导员 刘律师 · 法律咨询",
        ]
    await resident.send("/mydata")
    await resident.expect(zh(MY_DATA))
    exported = await resident.expect()
    read_by = json.loads(exported.data.decode())["cases"][0]["read_by"]  # type: ignore[union-attr]
    assert [(r["role"], r["name"], r["what"]) for r in read_by] == [
        ("mediator", "王大姐", "case"),
        ("mediator", "王大姐", "book"),
        ("head", "陈社长", "book"),
        ("adviser", "刘律师", "consultation"),
    ]
    assert all(r["at"] for r in read_by)
    assert "2001" not in json.dumps(read_by) and "2300" not in json.dumps(read_by)
