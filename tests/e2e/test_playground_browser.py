"""The playground in a real browser: Debian's headless Chromium, driven by Playwright.

`python -m bot run` starts with a copy of the example config (the five demo areas, no token)
on free loopback ports and a temporary database. The page must show its four phones within
10 seconds of the command. Then, only through the page: a new resident opens a case, the
on-duty mediator accepts it and replies (once to a message, quoting it; once in several
lines, typed with Shift+Enter), and the resident sees the answers. Emoji are drawn by an
emoji font, and message times follow the playground's clock. A screenshot of the page is
saved to test-artifacts/playground.png.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import BrowserContext, Error, Locator, Page, async_playwright, expect

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("DAASAO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_BUDGET = 10.0  # seconds from `python -m bot run` to four phones on the page
STEP = 10_000  # ms: the longest wait for one answer of the bot
DONGSHENG_MEDIATORS = (2001, 2002, 2003)

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _config(tmp_path: Path) -> tuple[Path, int, int]:
    """The example config, with free ports and a database in tmp_path."""
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    api_port, web_port = _free_port(), _free_port()
    while web_port == api_port:
        web_port = _free_port()
    database = (tmp_path / "data" / "bot.sqlite3").as_posix()
    for old, new in (
        ("api_port = 8081", f"api_port = {api_port}"),
        ("port = 8080", f"port = {web_port}"),
        ('path = "data/daasao.sqlite3"', f'path = "{database}"'),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path, api_port, web_port


@contextmanager
def _playground(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if k != "DAASAO_TOKEN"}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config)],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """A fresh Chromium profile; the test fails in CI when Chromium is missing."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1240, "height": 900},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        try:
            yield context
        finally:
            await context.close()


async def _open_page(context: BrowserContext, url: str, started: float, log: Path) -> Page:
    """Load the page as soon as the server answers; wait for the four phones."""
    page = await context.new_page()
    while True:
        try:
            await page.goto(url, timeout=2_000)
            break
        except Error:
            if time.monotonic() - started > PAGE_BUDGET:
                pytest.fail(f"no page at {url} after {PAGE_BUDGET}s:\n{log.read_text()}")
            await asyncio.sleep(0.1)
    await expect(page.locator(".pane .phone")).to_have_count(4, timeout=PAGE_BUDGET * 1000)
    return page


async def _say(pane: Locator, text: str) -> None:
    box = pane.locator(".text-input")
    await box.fill(text)
    await box.press("Enter")


async def _press(pane: Locator, label: str) -> None:
    buttons = pane.locator(".inline-row button", has_text=label)
    await buttons.last.click()


async def _see(pane: Locator, text: str) -> Locator:
    bubble = pane.locator(".bubble", has_text=text).last
    await expect(bubble).to_be_visible(timeout=STEP)
    return bubble


async def _who_got_the_offer(api_port: int) -> int:
    """The dongsheng mediator the bot offered the case to (several may be on duty)."""
    control = f"http://127.0.0.1:{api_port}/control"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        for _ in range(100):
            for mediator in DONGSHENG_MEDIATORS:
                async with session.get(f"{control}/chats/{mediator}/messages") as response:
                    sent = (await response.json())["result"]
                if any("新案件" in (m.get("text") or "") for m in sent):
                    return mediator
            await asyncio.sleep(0.1)
    pytest.fail("no dongsheng mediator got the offer")


async def _resident_opens_a_case(resident: Locator) -> None:
    await _say(resident, "找大阿嫂")
    await _see(resident, "您同意吗")
    await _press(resident, "我同意")
    await _see(resident, "您住在哪个村或社区")
    await _press(resident, "东升社区")
    await _see(resident, "是哪方面的事情")
    await _press(resident, "邻里纠纷")
    await _press(resident, "同意记下")
    await _see(resident, "请用您自己的话")
    await _say(resident, "楼上邻居装修，天天吵到半夜")
    await _see(resident, "收到了")
    await _press(resident, "说完了")
    await _see(resident, "您希望大阿嫂怎么和您联系")
    await _press(resident, "就在这里聊")
    await _see(resident, "请核对您的求助内容")
    await _press(resident, "提交给大阿嫂")
    await _see(resident, "您的求助已登记")


async def test_a_resident_and_a_mediator_talk_through_the_page(
    tmp_path: Path, browser: BrowserContext
) -> None:
    config, api_port, web_port = _config(tmp_path)
    log = tmp_path / "bot.log"
    started = time.monotonic()
    with _playground(config, log) as process:
        page = await _open_page(browser, f"http://127.0.0.1:{web_port}/", started, log)
        to_page = time.monotonic() - started
        print(f"four phones on the page {to_page:.1f}s after `python -m bot run`")
        assert to_page < PAGE_BUDGET

        resident = page.locator('.pane[data-pane="resident"]')
        mediator = page.locator('.pane[data-pane="mediator"]')
        staff = page.locator('.pane[data-pane="staff"]')
        await _resident_opens_a_case(resident)

        await mediator.locator("select.who").select_option(str(await _who_got_the_offer(api_port)))
        await _see(mediator, "新案件")
        await _press(mediator, "接受")
        accepted = await _see(mediator, "您已接受案件")
        await expect(accepted.locator(".meta")).to_contain_text("已编辑")
        await _say(mediator, "您好，我们约个时间当面聊聊吧？")
        await _see(resident, "我们约个时间当面聊聊吧")

        # A reply to the resident's message reaches her quoting her own words.
        await (await _see(mediator, "楼上邻居装修")).click()
        await expect(mediator.locator(".reply-bar")).to_be_visible()
        await _say(mediator, "晚上几点以后最吵？")
        quoted = resident.locator(".msg", has_text="晚上几点以后最吵").locator(".quote")
        await expect(quoted).to_contain_text("楼上邻居装修", timeout=STEP)
        await expect(resident.locator(".reply-keyboard button")).to_have_text(["找大阿嫂"])

        # Several lines: Shift+Enter breaks the line, the box grows, Enter sends them all.
        box = mediator.locator(".text-input")
        await box.fill("明天上午十点，")
        await box.press("Shift+Enter")
        await box.type("社区服务中心二楼，")
        await box.press("Shift+Enter")
        await box.type("我在那儿等您。")
        assert (await box.bounding_box() or {"height": 0})["height"] > 40  # it grew
        await box.press("Enter")
        lines = await _see(resident, "我在那儿等您")
        assert "明天上午十点，\n社区服务中心二楼，\n我在那儿等您。" in await lines.inner_text()
        assert await box.input_value() == ""

        # The bot is called by its profile name in each person's language (setMyName).
        await expect(resident.locator(".chat-name")).to_have_text("大阿嫂")

        # 🆘 in colour: the page's fonts end with emoji fonts.
        family = await page.evaluate("getComputedStyle(document.documentElement).fontFamily")
        assert family.startswith(('"Emoji"', "Emoji"))  # the @font-face of colour emoji

        # Message times follow the playground clock, as the day separators do.
        now = await page.locator("#clock-now").inner_text()
        newest = await lines.locator(".meta").inner_text()
        assert newest[-5:] in now, (newest, now)

        # The commands menu comes from the bot's setMyCommands: staff have their own.
        await staff.locator(".menu-button").click()
        await expect(staff.locator(".commands-menu button", has_text="/invite")).to_be_visible()
        await staff.locator(".commands-menu button", has_text="/help").click()
        await _see(staff, "/invite")

        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "playground.png"), full_page=True)
        assert process.poll() is None, log.read_text()
    output = log.read_text()
    assert f"Playground:  http://127.0.0.1:{web_port}/" in output, output
    assert "Traceback" not in output, output
