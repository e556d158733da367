"""Closing a case (bot/features/closing.py): the §29 dialogue, the preview with 确认/修改/取消, each
party's confirmation, the printable DOCX read back, the oral path (§28), and a cancel that
leaves the world exactly as it was."""

from __future__ import annotations

import io
import json
import re

from docx import Document

from tests.e2e.driving import changed_tables, database, snapshot
from tests.e2e.flows import (
    CLOSE_PREVIEW,
    CLOSED,
    CLOSED_TO_HER,
    CONFIRMED,
    HOW_ENDED,
    ORAL_TERMS,
    RECORDED,
    WRITTEN_OR_ORAL,
    accepted_case,
    close_asked,
    expect_shaped,
    party_label,
    resident_label,
    shaped,
)
from tests.e2e.test_parties import _two_party_case
from tests.harness import BotUnderTest, Person, zh

PARTY_A = "王秀英，女，45岁，东升社区3号楼，13900001111"
PARTY_B = "李建国，男，50岁，东升社区4号楼，13900002222"
FACTS = "两家围墙界线不清，争执半年"
FACTS_CHANGED = "两家围墙界线不清，去年加高围墙后争执半年"
BLAME = "乙方擅自加高围墙；甲方言语过激"
TERMS = "乙方拆除加高部分 / 自行拆除 / 3月31日\n甲方向乙方道歉 / 当面 / 3月10日"
STEPS = (  # the written agreement's prompts (bot/features/closing.py), in order
    "Written agreement of case {number}, step {n} of {total}: Party A (who asked for help) as"
    " the agreement should name them: name, sex, age, address, phone. Type it as it should be"
    " printed; nothing is taken from Telegram.",
    "Step {n} of {total}: Party B (the other party), the same way: name, sex, age, address, phone.",
    "Step {n} of {total}: the main facts of the dispute and the points in dispute.",
    "Step {n} of {total}: each party's responsibility.",
    "Step {n} of {total}: what they agreed. One term a line: what is done / how / by when, for"
    " example:\nParty B pays 2000 yuan for the wall / in cash / 3月31日",
)
UNREADABLE_TERM = (
    "I could not read this term: {line}\nWrite each term on its own line as: what is done / how"
    " / by when, for example:\nPays 2000 yuan for the wall / in cash / 3月31日"
)
AGREEMENT_DOCUMENT = (  # the DOCX's caption
    "The mediation agreement of case {number}: print it, have each party sign, seal or put a"
    " fingerprint, sign it yourself and have it sealed."
)
ORAL_PREVIEW = "• The content is recorded as an oral agreement; no document."
NOW = "Now: {current}\nSend a new text, or {keep} to keep it."  # changing an answer


def _step(number: str, n: int) -> str:
    return zh(STEPS[n - 1], number=number, n=n, total=len(STEPS))


async def _written_dialogue(wang: Person) -> str:
    """/close as a written agreement, through every step; returns the case number."""
    number = await close_asked(wang)
    await wang.press(zh("Settled (an agreement)"))
    await wang.expect(zh(WRITTEN_OR_ORAL, number=number))
    await wang.press(zh("Written agreement (to print and sign)"))
    await wang.expect(_step(number, 1))
    for n, answer in enumerate((PARTY_A, PARTY_B, FACTS, BLAME), start=2):
        await wang.send(answer)
        await wang.expect(_step(number, n))
    await wang.send("乙方拆除 / 自行拆除")  # no deadline: asked again, nothing lost
    await expect_shaped(wang, UNREADABLE_TERM, line=re.escape("乙方拆除 / 自行拆除"))
    await wang.send(TERMS)
    return number


async def test_a_written_agreement_is_previewed_changed_confirmed_by_both_and_printed(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang = team["wang"]
    applicant, other, number = await _two_party_case(bot, team)
    await _written_dialogue(wang)
    preview = await wang.expect(zh(CLOSE_PREVIEW))
    for text in (
        PARTY_A,
        PARTY_B,
        FACTS,
        BLAME,
        "乙方拆除加高部分（方式：自行拆除；期限：2026年3月31日 前）",
    ):
        assert text in preview.content
    same = "• {who} receives the same agreement and is asked to confirm it."
    assert (
        shaped(same, who=party_label()).search(preview.content)
        and zh(
            "• You receive the agreement as a Word file (a copy for each party and"
            " one to keep), to print and have signed."
        )
        in preview.content
    )
    # 修改: every answer again, kept with "-", the facts replaced.
    await wang.press(zh("✎ Change"))
    first = await wang.expect(_step(number, 1))
    assert zh(NOW, current=PARTY_A, keep="-") in first.content, first.content
    await wang.send("-")
    await wang.expect(_step(number, 2))
    await wang.send("-")
    await wang.expect(_step(number, 3))
    await wang.send(FACTS_CHANGED)
    await wang.expect(_step(number, 4))
    await wang.send("-")
    await wang.expect(_step(number, 5))
    await wang.send("-")
    again = await wang.expect(zh(CLOSE_PREVIEW))
    assert FACTS_CHANGED in again.content and PARTY_B in again.content
    await wang.press(zh("✓ Confirm"))
    await wang.expect(zh(CLOSED, number=number, outcome=zh("settled")))
    document = await wang.expect(zh(AGREEMENT_DOCUMENT, number=number))
    assert document.method == "sendDocument" and document.file is not None

    # The DOCX: every §29 field, in each of the three copies, with the signature blocks.
    paragraphs = [p.text for p in Document(io.BytesIO(document.file.data)).paragraphs]
    text = "\n".join(paragraphs)
    for copy in ("（甲方存）", "（乙方存）", "（大阿嫂妇女调解室存档）"):
        assert copy in paragraphs
    for field in (
        "人民调解协议书",
        "大阿嫂妇女调解室",
        f"编号：{number}",
        "日期：2026年3月2日",
        PARTY_A,
        PARTY_B,
        FACTS_CHANGED,
        BLAME,
        "1. 乙方拆除加高部分（方式：自行拆除；期限：2026年3月31日 前）",
        "2. 甲方向乙方道歉（方式：当面；期限：2026年3月10日 前）",
        "甲方（签名、盖章或按指印）",
        "乙方（签名、盖章或按指印）",
        "人民调解员（签名）：________________（王大姐）",
        "调解组织（盖章）：大阿嫂妇女调解室",
        "一式三份",
    ):
        assert text.count(field) >= 3, field
    assert "xiuying" not in text and "laoli" not in text  # nothing from an account

    # Each joined party receives it and confirms; the times are recorded.
    notice = await applicant.expect(zh(CLOSED_TO_HER, number=number, outcome=zh("settled")))
    assert PARTY_B in notice.content and "1. 乙方拆除加高部分" in notice.content
    await applicant.press(zh("I agree to the agreement above"))
    await expect_shaped(applicant, RECORDED)
    await expect_shaped(wang, CONFIRMED, who=resident_label(), number=re.escape(number))
    offered = await other.expect(
        zh("The mediation of case {number} has ended with an agreement.", number=number)
    )
    assert FACTS_CHANGED in offered.content
    await other.press(zh("I agree to the agreement above"))
    await expect_shaped(other, RECORDED)
    await expect_shaped(wang, CONFIRMED, who=party_label(), number=re.escape(number))
    db = database(bot)
    rows = await db.fetch_all(
        "SELECT side, confirmed_at FROM agreement_confirmations ORDER BY side"
    )
    assert [r["side"] for r in rows] == ["party", "resident"] and all(r[1] for r in rows)
    stored = await db.fetch_one("SELECT form, content FROM agreements")
    assert stored is not None and stored["form"] == "written"
    assert json.loads(stored["content"])["terms"][1]["deadline"] == "2026-03-10"
    # A second press changes nothing.
    before = await snapshot(db)
    query = await applicant.press(zh("I agree to the agreement above"))
    assert await applicant.callback_answer(query)
    assert changed_tables(before, await snapshot(db)) == set()


async def test_an_oral_agreement_is_recorded_without_a_document(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang, resident = team["wang"], bot.person(7_200_001)
    number = await accepted_case(resident, wang)
    await wang.send("/close")
    await wang.expect(zh(HOW_ENDED, number=number))
    await wang.press(zh("Settled (an agreement)"))
    await wang.expect(zh(WRITTEN_OR_ORAL, number=number))
    await wang.press(zh("Oral agreement (its content recorded)"))
    await wang.expect(zh(ORAL_TERMS, number=number))
    await wang.send("楼上晚上十点后不再装修，3月15日前装好隔音垫")
    preview = await wang.expect(zh(CLOSE_PREVIEW))
    assert zh(ORAL_PREVIEW) in preview.content and "Word" not in preview.content
    await wang.press(zh("✓ Confirm"))
    await wang.expect(zh(CLOSED, number=number, outcome=zh("settled")))
    notice = await resident.expect(zh(CLOSED_TO_HER, number=number, outcome=zh("settled")))
    agreed = "楼上晚上十点后不再装修，3月15日前装好隔音垫"
    assert zh("The agreement: {text}", text=agreed) in notice.content
    await resident.press(zh("I agree to the agreement above"))
    await expect_shaped(resident, RECORDED)
    await expect_shaped(wang, CONFIRMED, who=resident_label(), number=re.escape(number))
    assert not [m for m in bot.api.messages_to(wang.id) if m.method == "sendDocument"]
    stored = await database(bot).fetch_one("SELECT form, content FROM agreements")
    assert stored is not None and stored["form"] == "oral"
    assert "隔音垫" in json.loads(stored["content"])["content"]


async def test_cancel_on_the_preview_leaves_everything_as_it_was(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang, resident = team["wang"], bot.person(7_200_002)
    number = await accepted_case(resident, wang)
    db = database(bot)
    before = await snapshot(db)
    await wang.send("/close")
    await wang.expect(zh(HOW_ENDED, number=number))
    await wang.press(zh("Withdrawn by the resident"))
    preview = await wang.expect(zh(CLOSE_PREVIEW))
    told = "• {who} is told the case is closed as withdrawn."
    assert shaped(told, who=resident_label()).search(preview.content), preview.content
    await wang.press(zh("✗ Cancel"))
    await wang.expect(
        zh("Cancelled. Nothing has changed: case {number} is still open.", number=number)
    )
    assert changed_tables(before, await snapshot(db)) == set()
    await wang.send("还在吗")  # still her current case: it goes to the resident
    await resident.expect_many(f"💬 王大姐 · 案件 {number}", "还在吗")


async def test_the_case_file_holds_both_conversations_the_agreement_and_its_confirmations(
    bot: BotUnderTest, team: dict[str, Person]
) -> None:
    wang = team["wang"]
    applicant, other, number = await _two_party_case(bot, team)
    await other.send("<script>alert('围墙')</script>")  # kept as text in both renderings
    header = await wang.expect(f"📨 {number} · ")
    assert re.match(rf"📨 {re.escape(number)} · {party_label()}", header.content), header.content
    await wang.expect("<script>")
    await applicant.send("我只想要回我家的地")
    await wang.expect("我只想要回我家的地")
    await _written_dialogue(wang)
    await wang.expect(zh(CLOSE_PREVIEW))
    await wang.press(zh("✓ Confirm"))
    await wang.expect_many(
        zh(CLOSED, number=number, outcome=zh("settled")), zh(AGREEMENT_DOCUMENT, number=number)
    )
    await applicant.expect(zh(CLOSED_TO_HER, number=number, outcome=zh("settled")))
    await applicant.press(zh("I agree to the agreement above"))
    await expect_shaped(applicant, RECORDED)
    await expect_shaped(wang, CONFIRMED, who=resident_label(), number=re.escape(number))
    await wang.send(f"/book {number}")
    html_file, docx_file = await wang.expect_many(number, number)
    assert html_file.file is not None and docx_file.file is not None
    html = html_file.file.data.decode("utf-8")
    assert "&lt;script&gt;" in html and "<script>" not in html
    docx = Document(io.BytesIO(docx_file.file.data))
    cells = [cell.text for table in docx.tables for row in table.rows for cell in row.cells]
    headings = [
        p.text for p in docx.paragraphs if p.style is not None and "Heading" in p.style.name
    ]
    for section in (
        "封面",
        "登记",
        "告知和同意",
        "与申请人的对话",
        "与对方当事人的对话",
        "调解协议和当事人确认",
        "协议履行跟进",
        "回访",
    ):
        assert section in headings, section
        assert section in html
    text = "\n".join(cells)
    assert "<script>alert('围墙')</script>" in text  # a plain run, as it was written
    assert PARTY_A in text and PARTY_B in text  # the names typed into the agreement
    assert (
        zh("Rights and obligations notice shown") in text
        and zh("Other party joined and consented") in text
    )
    assert "1. 乙方拆除加高部分（方式：自行拆除；期限：2026年3月31日 前）" in text
    assert shaped("confirmed by {who}", who=resident_label()).search(text), text
    # Each party's words are in their own conversation.
    conversations = dict(part.split("</h2>", 1) for part in html.split("<h2>")[1:])
    assert "我只想要回我家的地" in conversations["与申请人的对话"]
    assert "我只想要回我家的地" not in conversations["与对方当事人的对话"]
    assert "&lt;script&gt;" in conversations["与对方当事人的对话"]
    assert "laoli" not in text and "xiuying" not in text
