"""The playground's JSON API, in process: `serve()` with no token, spoken to over HTTP.

The real bot runs against the local Bot API; these tests act as demo people through the
page's API, as the browser does, and move the clock to see the demo's timers fire.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.core.clock import MovableClock
from bot.core.config import Config, PlaygroundConfig, load_config
from bot.runner import serve
from localapi.server import LocalBotApi
from playground import Playground, PlaygroundError
from playground.chat import chat_view, preview
from playground.demo import DEMO_PEOPLE
from playground.web import PlaygroundWeb, demo_phone
from tests.harness import zh

REPO = Path(__file__).resolve().parent.parent
WAIT = 10.0
DAY = 86_400
REMOTE = re.compile(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import""")
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _config(tmp_path: Path) -> Config:
    example = load_config(REPO / "config.example.toml", env={})
    api_port, port = _free_port(), _free_port()
    while port == api_port:
        port = _free_port()
    playground = PlaygroundConfig(host="127.0.0.1", api_port=api_port, port=port)
    storage = dataclasses.replace(example.storage, path=tmp_path / "data" / "bot.sqlite3")
    return dataclasses.replace(example, playground=playground, storage=storage)


class Page:
    """What the page's JavaScript does, from Python."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def get(self, path: str) -> Any:
        async with self.session.get(self.base + path) as response:
            payload = await response.json()
            assert response.status == 200 and payload["ok"], payload
            return payload["result"]

    async def post(self, path: str, body: Any, status: int = 200) -> Any:
        async with self.session.post(self.base + path, json=body) as response:
            payload = await response.json()
            assert response.status == status, payload
            return payload.get("result", payload)

    async def chat(self, user_id: int) -> Any:
        return await self.get(f"/api/chats/{user_id}")

    async def wait_for(self, user_id: int, text: str) -> dict[str, Any]:
        """The newest message in the chat containing `text` (bounded wait)."""
        async with asyncio.timeout(WAIT):
            while True:
                for message in reversed((await self.chat(user_id))["messages"]):
                    if text in message["text"]:
                        return dict(message)
                await asyncio.sleep(0.05)

    async def press(self, user_id: int, label: str) -> Any:
        for message in reversed((await self.chat(user_id))["messages"]):
            for row in message["buttons"]:
                for button in row:
                    if button["text"] == label:
                        body = {
                            "message_id": message["id"],
                            "callback_data": button["callback_data"],
                        }
                        return await self.post(f"/api/chats/{user_id}/press", body)
        raise AssertionError(f"no button {label!r} in chat {user_id}")


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Page]:
    config = _config(tmp_path)
    stop = asyncio.Event()
    running = asyncio.create_task(serve(config, stop))
    base = f"http://127.0.0.1:{config.playground.port}"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT)) as session:
            async with asyncio.timeout(WAIT):
                while True:
                    assert not running.done(), running.exception()
                    try:
                        async with session.get(base + "/api/info") as response:
                            if response.status == 200:
                                break
                    except aiohttp.ClientConnectionError:
                        pass
                    await asyncio.sleep(0.05)
            # The page is up before the bot: wait until it has published its commands.
            async with asyncio.timeout(WAIT):
                while not (await Page(session, base).chat(1001))["commands"]:
                    await asyncio.sleep(0.05)
            yield Page(session, base)
    finally:
        stop.set()
        await running


async def test_the_page_and_its_static_files_are_served_with_nothing_from_elsewhere(
    page: Page,
) -> None:
    for path in ("/", "/static/playground.js", "/static/playground.css"):
        async with page.session.get(page.base + path) as response:
            assert response.status == 200, path
            text = await response.text()
        assert not REMOTE.search(text), path  # works offline: no CDN, no web fonts


async def test_info_lists_the_demo_people_in_four_panes(page: Page) -> None:
    info = await page.get("/api/info")
    assert len(info["people"]) == len(DEMO_PEOPLE)
    panes = {pane["id"]: pane for pane in info["panes"]}
    assert list(panes) == ["resident", "mediator", "staff", "party"]
    assert panes["resident"]["default"] == 1001
    assert panes["party"]["default"] == 1002  # another resident: the other party of a case
    assert len(panes["mediator"]["people"]) == 12
    roles = {p["id"]: p["role"] for p in info["people"]}
    assert {roles[i] for i in panes["staff"]["people"]} == {"staff", "head", "adviser"}
    assert {p["language"] for p in info["people"]} == {"zh", "en"}
    assert info["timezone"] == "Asia/Shanghai"
    names = (await page.get("/api/state"))["names"]
    assert names == {"zh": zh("Da'asao"), "en": "Da'asao"}  # the profile the bot set at start


async def test_a_person_talks_to_the_real_bot(page: Page) -> None:
    sent = await page.post("/api/chats/1001/send", {"text": "找大阿嫂"})
    notice = await page.wait_for(1001, "您同意吗")
    assert notice["from_bot"] and notice["buttons"]
    view = await page.chat(1001)
    again = await page.get(f"/api/chats/1001?version={view['version']}")
    assert again == {"version": view["version"], "unchanged": True}
    assert view["messages"][0]["text"] == "找大阿嫂"
    assert view["messages"][0]["id"] == sent["message_id"]
    assert any(c["command"] == "start" for c in view["commands"])
    answer = await page.press(1001, "我同意")
    assert answer["answered"] is True
    await page.wait_for(1001, "您住在哪个村或社区")


async def test_a_photo_and_a_reply_show_in_the_chat(page: Page) -> None:
    photo = base64.b64encode(PNG).decode()
    await page.post("/api/chats/1002/send", {"photo": photo, "caption": "门口"})
    view = await page.chat(1002)
    mine = view["messages"][0]
    assert mine["kind"] == "photo" and mine["text"] == "门口"
    async with page.session.get(page.base + mine["media"]["url"]) as response:
        assert response.status == 200
        assert await response.read() == PNG
    await page.post("/api/chats/1002/send", {"text": "就是这里", "reply_to": mine["id"]})
    replied = (await page.wait_for(1002, "就是这里"))["reply_to"]
    assert replied == {"id": mine["id"], "from_bot": False, "text": "🖼 门口"}
    await page.post("/api/chats/1002/send", {"contact": True})
    contact = (await page.chat(1002))["messages"]
    assert any(m.get("media", {}).get("phone_number") == demo_phone(1002) for m in contact)


async def test_one_day_on_the_clock_fires_the_demo_survey_revisit_and_notice(
    page: Page,
) -> None:
    before = await page.get("/api/state")
    moved = await page.post("/api/clock", {"seconds": DAY})
    assert moved["offset_seconds"] == DAY
    assert moved["now"] > before["clock"]["now"]
    await page.wait_for(1003, "您对这次帮忙满意吗")  # 小梅's survey
    await page.wait_for(2001, "第 1 次回访")  # 王大姐's revisit reminder
    await page.wait_for(1002, "妇女维权法律讲座")  # the scheduled notice, to subscribers
    counts = (await page.get("/api/state"))["counts"]
    assert counts["2001"] >= 1 and counts["1001"] == 0
    await page.post("/api/clock", {"seconds": 7 * DAY})
    await page.wait_for(2004, "Your weekly digest")  # in 周大姐's language, English


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/clock", {"seconds": -60}, 400),
        ("/api/clock", {"seconds": "1d"}, 400),
        ("/api/chats/1001/send", {}, 400),
        ("/api/chats/1001/send", {"photo": "not base64!"}, 400),
        ("/api/chats/1001/press", {"message_id": 999, "callback_data": "x"}, 400),
        ("/api/chats/42/send", {"text": "hello"}, 404),
    ],
)
async def test_impossible_requests_are_refused_with_the_reason(
    page: Page, path: str, body: Any, status: int
) -> None:
    async with page.session.post(page.base + path, json=body) as response:
        assert response.status == status
        if status == 400:
            payload = await response.json()
            assert payload["ok"] is False and payload["error"]


async def test_the_page_listens_on_loopback_only(tmp_path: Path) -> None:
    config = _config(tmp_path)
    web = PlaygroundWeb(LocalBotApi(), MovableClock(), config, DEMO_PEOPLE)
    with pytest.raises(ValueError, match="loopback"):
        await web.start("0.0.0.0", 0)


async def test_a_busy_port_is_named_and_nothing_is_left_listening(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", config.playground.port))
        busy.listen()
        with pytest.raises(PlaygroundError, match=r"set playground\.port$"):
            await Playground.open(config)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as again:
        again.bind(("127.0.0.1", config.playground.api_port))  # the Bot API was stopped


async def _bot_call(api: LocalBotApi, method: str, **params: Any) -> Any:
    url = f"{api.base_url}{api.token}/{method}"
    async with aiohttp.ClientSession() as session, session.post(url, json=params) as response:
        payload = await response.json()
        assert payload["ok"], payload
        return payload["result"]


async def test_the_chat_view_marks_edits_and_shows_the_reply_keyboard() -> None:
    async with LocalBotApi() as api:
        api.add_user(7, "Mei", language_code="zh-hans", started=True)
        keys = {"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]}
        sent = await _bot_call(api, "sendMessage", chat_id=7, text="第一版", reply_markup=keys)
        await _bot_call(api, "editMessageReplyMarkup", chat_id=7, message_id=sent["message_id"])

        def view() -> Any:
            return chat_view(api, 7)["messages"][0]

        assert view()["edited"] is False  # only the buttons went: no "edited" on a phone
        assert view()["buttons"] == []
        await _bot_call(api, "editMessageText", chat_id=7, message_id=sent["message_id"], text="二")
        assert view()["edited"] is True and view()["text"] == "二"
        board = {"keyboard": [[{"text": "📱", "request_contact": True}], ["跳过"]]}
        await _bot_call(api, "sendMessage", chat_id=7, text="电话？", reply_markup=board)
        keyboard = chat_view(api, 7)["keyboard"]
        assert keyboard["rows"][0][0] == {
            "text": "📱",
            "request_contact": True,
            "request_location": False,
        }
        assert keyboard["rows"][1][0]["text"] == zh("Skip")


def test_a_reply_preview_is_one_short_line() -> None:
    long_text = "很长的一段话\n" * 20
    line = preview({"message_id": 1, "text": long_text})
    assert "\n" not in line and len(line) == 80 and line.endswith("…")
    assert preview({"message_id": 2, "location": {"latitude": 1, "longitude": 2}}) == "📍"


async def test_a_two_party_case_is_played_on_the_fourth_phone(page: Page) -> None:
    """The resident phone (丽娟) asks for help, 王大姐 takes it and invites the other party;
    the fourth phone (阿芳) opens the link, joins, talks only with her, and both confirm
    the agreement."""
    info = await page.get("/api/info")
    assert {p["id"]: p["default"] for p in info["panes"]}["party"] == 1002
    await page.post("/api/chats/1001/send", {"text": "找大阿嫂"})
    await page.wait_for(1001, "您同意吗")
    await page.press(1001, "我同意")
    await page.wait_for(1001, "您住在哪个村或社区")
    await page.press(1001, "东升社区")
    await page.wait_for(1001, "是哪方面的事情")
    await page.press(1001, "邻里纠纷")
    await page.wait_for(1001, "敏感信息")
    await page.press(1001, "同意记下")
    await page.wait_for(1001, "请用您自己的话")
    await page.post("/api/chats/1001/send", {"text": "邻居阿芳家的围墙占了我家的地"})
    await page.wait_for(1001, "收到了")
    await page.press(1001, "说完了 ✓")
    await page.wait_for(1001, "您希望大阿嫂怎么和您联系")
    await page.press(1001, "就在这里聊")
    await page.wait_for(1001, "请核对您的求助内容")
    await page.press(1001, "✓ 提交给大阿嫂")
    number = re.search(r"QJS-\d{4}-\d{4}", (await page.wait_for(1001, "已登记"))["text"])
    assert number is not None
    await page.wait_for(2001, f"新案件 {number.group(0)}")
    await page.press(2001, "接受")
    await page.wait_for(2001, "围墙占了我家的地")
    await page.post("/api/chats/2001/send", {"text": "/party"})
    invitation = await page.wait_for(2001, "链接只能用一次")
    payload = re.search(r"start=(party-[\w-]+)", invitation["text"])
    assert payload is not None
    await page.post("/api/chats/1002/send", {"text": f"/start {payload.group(1)}"})
    await page.wait_for(1002, "邀请您参加一次调解")
    await page.press(1002, "我同意，参加调解")
    await page.wait_for(1002, "只有调解员看得到")
    await page.post("/api/chats/1002/send", {"text": "那块地本来就是我家的"})
    await page.wait_for(2001, "那块地本来就是我家的")
    assert not [
        m for m in (await page.chat(1001))["messages"] if "那块地本来就是我家的" in m["text"]
    ]
    await page.post("/api/chats/2001/send", {"text": "/close"})
    await page.wait_for(2001, "结果是")
    await page.press(2001, "调解成功（达成协议）")
    await page.wait_for(2001, "签书面协议，还是口头协议")
    await page.press(2001, "口头协议（记录内容）")
    await page.wait_for(2001, "请写下商量好的内容")
    await page.post("/api/chats/2001/send", {"text": "一起请人重新量地界，5月1日前"})
    await page.wait_for(2001, "请核对")
    await page.press(2001, "✓ 确认")
    for user_id in (1001, 1002):
        await page.wait_for(user_id, "一起请人重新量地界")
        await page.press(user_id, "我同意以上协议内容")
        await page.wait_for(user_id, "已记下您同意协议")
