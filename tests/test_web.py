"""The web page at `/`, driven in headless Chromium against the running service.

A person's steps: choose or drop documents, watch them read, look at the page with its blocks
drawn over it beside the Markdown, download, cancel, give a key. Screenshots of each test are
saved under `bench-data/screenshots/` for a person to look at. Every request the page makes
is checked against the browser's own network log: none may leave for another host.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pikepdf
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.conftest import REPO, Server, ServerFactory
from tools import corpus

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = REPO / "bench-data" / "screenshots"
KEY = "sk-bf-web-page"
LETTER = [
    "Tessera reads the scanned letter",
    "and draws each word it found",
    "over the page it was read from",
]
READ_TIMEOUT_S = 240


class Browser:
    """Headless Chromium on one service, with the network log it keeps."""

    def __init__(self, driver: webdriver.Chrome, downloads: Path) -> None:
        self.driver = driver
        self.downloads = downloads
        self.requested: list[str] = []

    def open(self, server: Server) -> None:
        self.driver.get(server.url + "/")
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete")

    def wait(self, condition: Any, timeout: float = 30, what: str = "") -> Any:
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(condition, what)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def script(self, code: str, *args: Any) -> Any:
        return self.driver.execute_script(code, *args)

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def page_screenshot(self, name: str) -> Path:
        """The whole document, not only the window: the page grows with what was read."""
        height = self.script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1440, min(max(900, height), 4000))
        try:
            return self.screenshot(name)
        finally:
            self.driver.set_window_size(1440, 900)

    def urls(self) -> list[str]:
        """Every URL the page has requested so far, from Chromium's performance log."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                self.requested.append(message["params"]["request"]["url"])
        return self.requested

    def assert_stays_home(self, server: Server) -> None:
        urls = self.urls()
        assert any(u.endswith("/web/app.js") for u in urls), "the network log caught nothing"
        away = [u for u in urls if not u.startswith((server.url + "/", "blob:", "data:"))]
        assert not away, f"requests to other hosts: {away}"

    def choose(self, path: Path) -> None:
        self.find("#file-input").send_keys(str(path))

    def drop(self, path: Path) -> None:
        """Drop a file on the page as a person's drag would, through the drop event."""
        self.script(
            """
            const [name, data] = arguments;
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "application/pdf" }));
            const zone = document.querySelector("#drop");
            for (const type of ["dragenter", "dragover", "drop"]) {
              zone.dispatchEvent(new DragEvent(type, {
                bubbles: true, cancelable: true, dataTransfer: transfer }));
            }
            """,
            path.name,
            base64.b64encode(path.read_bytes()).decode(),
        )

    def job_card(self, timeout: float = 30) -> WebElement:
        """The card of the job most recently created, once it has an id."""
        return self.wait(
            lambda d: next(
                (e for e in d.find_elements(By.CSS_SELECTOR, "article.job[data-job-id]")), None
            ),
            timeout,
            "a job to be created",
        )

    def finished(self, card: WebElement, timeout: float = READ_TIMEOUT_S) -> str:
        state: str = self.wait(
            lambda _: (s := card.get_attribute("data-state")) != "running" and s,
            timeout,
            "the job to finish",
        )
        return state

    def downloaded(self, name: str, timeout: float = 30) -> bytes:
        path = self.downloads / name
        self.wait(
            lambda _: path.is_file() and not list(self.downloads.glob("*.crdownload")),
            timeout,
            f"{name} to be downloaded",
        )
        return path.read_bytes()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs Debian's chromium and chromium-driver (`make test` installs them)")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # the suite may run as root, in a container
        "--disable-dev-shm-usage",
        "--window-size=1440,900",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield Browser(driver, downloads)
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def served(start_module_server: ServerFactory) -> Server:
    return start_module_server(workers=2)


@pytest.fixture(scope="module")
def two_pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A born-digital report page (title, list, table, figure, columns) and a scanned letter
    fed a little askew."""
    folder = tmp_path_factory.mktemp("web")
    report = corpus.structured_pdf(folder / "report.pdf")
    letter = corpus.letter_page(LETTER).rotate(1.5, expand=False, fillcolor=255)
    scan = corpus.scanned_pages_pdf(folder / "scan.pdf", [letter])
    path = folder / "two-pages.pdf"
    with pikepdf.open(report) as pdf, pikepdf.open(scan) as other:
        pdf.pages.extend(other.pages)
        pdf.save(path)
    return path


def _job(server: Server, job_id: str, key: str | None = None) -> dict[str, Any]:
    with server.client(key) as client:
        response = client.get(f"/v1/async/ocr/{job_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _text(browser: Browser, element: WebElement) -> str:
    """An element's text, shown or not (Selenium's `.text` is empty for hidden ones)."""
    return str(browser.script("return arguments[0].textContent", element))


def test_a_chosen_pdf_is_read_drawn_and_downloaded(
    served: Server, browser: Browser, two_pages: Path
) -> None:
    browser.open(served)
    browser.choose(two_pages)
    card = browser.job_card()
    assert browser.finished(card) == "completed", _text(browser, card)
    job = _job(served, card.get_attribute("data-job-id") or "")
    pages = job["result"]["pages"]
    assert len(pages) == 2

    sections = card.find_elements(By.CSS_SELECTOR, "section.page")
    assert [s.get_attribute("data-index") for s in sections] == ["0", "1"]
    for section, page in zip(sections, pages, strict=True):
        # One box drawn per block the job found, each of its type.
        drawn = section.find_elements(By.CSS_SELECTOR, "svg rect.block")
        assert len(drawn) == len(page["blocks"]) > 0
        assert [r.get_attribute("class") for r in drawn] == [
            f"block kind-{b['type']}" for b in page["blocks"]
        ]
        # The raw view is the Markdown exactly; the picture is the page as read.
        raw = section.find_element(By.CSS_SELECTOR, ".raw-markdown")
        assert _text(browser, raw) == page["markdown"]
        browser.wait(
            lambda _, s=section: browser.script(
                "const i = arguments[0].querySelector('img'); return i.complete && i.naturalWidth",
                s,
            ),
            what="the page's picture",
        )
        size = browser.script(
            "const i = arguments[0].querySelector('img'); return [i.naturalWidth, i.naturalHeight]",
            section,
        )
        dims = page["dimensions"]
        assert abs(size[0] / size[1] - dims["width"] / dims["height"]) < 0.01
        assert section.find_elements(By.CSS_SELECTOR, "svg rect.word")

    report, letter = sections
    rendered = report.find_element(By.CSS_SELECTOR, ".rendered")
    headings = rendered.find_elements(By.CSS_SELECTOR, "[class^='md-h']")
    assert [h.text for h in headings][:1] == [corpus.STRUCTURED_TITLE]
    cells = [c.text for c in rendered.find_elements(By.CSS_SELECTOR, "table td")]
    assert "North" in cells and "1200" in cells
    assert [li.text for li in rendered.find_elements(By.CSS_SELECTOR, "li")] == (
        corpus.STRUCTURED_ITEMS
    )
    read = " ".join(letter.find_element(By.CSS_SELECTOR, ".rendered").text.split())
    assert "scanned letter" in read and "each word" in read

    _block_and_text_point_at_each_other(browser, report, pages[0])
    _a_word_tells_its_confidence(browser, letter)
    browser.page_screenshot("web-read")
    for name, section in (("web-report", report), ("web-letter", letter)):
        browser.script("arguments[0].scrollIntoView({block: 'start'})", section)
        browser.screenshot(name)
    _dark(browser, report)

    # Downloads: the Markdown as shown, and the hOCR as the API serves it.
    card.find_element(By.XPATH, ".//button[text()='Markdown']").click()
    markdown = browser.downloaded("two-pages.md").decode()
    assert markdown == "\n".join(p["markdown"] for p in pages)
    card.find_element(By.XPATH, ".//button[text()='hOCR']").click()
    with served.client() as client:
        hocr = client.get(f"/v1/async/ocr/{job['id']}/outputs/hocr").content
    assert browser.downloaded("two-pages.hocr") == hocr
    card.find_element(By.XPATH, ".//button[text()='JSON']").click()
    assert json.loads(browser.downloaded("two-pages.json")) == job["result"]
    browser.assert_stays_home(served)


def _dark(browser: Browser, section: WebElement) -> None:
    """The page follows a dark colour scheme, and is screenshot in it."""
    background = "return getComputedStyle(document.documentElement).backgroundColor"
    light = browser.script(background)
    browser.driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
    )
    try:
        assert browser.script(background) != light
        browser.script("arguments[0].scrollIntoView({block: 'start'})", section)
        browser.screenshot("web-dark")
    finally:
        browser.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def _block_and_text_point_at_each_other(
    browser: Browser, section: WebElement, page: dict[str, Any]
) -> None:
    kinds = [b["type"] for b in page["blocks"]]
    title, table = kinds.index("title"), kinds.index("table")
    rects = section.find_elements(By.CSS_SELECTOR, "svg rect.block")
    browser.script(
        "arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", rects[title]
    )
    shown = section.find_element(By.CSS_SELECTOR, f".rendered .segment[data-block='{title}']")
    assert "active" in (shown.get_attribute("class") or "")
    assert "Annual Results" in shown.text
    assert "active" in (rects[title].get_attribute("class") or "")
    # And back: the table's text shows the table's box, by keyboard too.
    text = section.find_element(By.CSS_SELECTOR, f".rendered .segment[data-block='{table}']")
    browser.script("arguments[0].focus()", text)
    ActionChains(browser.driver).send_keys(Keys.ENTER).perform()
    assert "active" in (rects[table].get_attribute("class") or "")
    assert "active" not in (rects[title].get_attribute("class") or "")
    assert "active" in (text.get_attribute("class") or "")


def _a_word_tells_its_confidence(browser: Browser, section: WebElement) -> None:
    word = section.find_elements(By.CSS_SELECTOR, "svg rect.word")[0]
    tip = section.find_element(By.CSS_SELECTOR, ".tip")

    told = re.compile(rf"{re.escape(word.get_attribute('data-text') or '')} · \d+ %")

    def pointed() -> bool:
        # A smooth scroll started by the step before may still carry the word away from
        # under the pointer, and another word under it then tells its own: point again
        # until the page is still and the tip is this word's, as a person would.
        if tip.is_displayed() and told.fullmatch(tip.text):
            return True
        browser.script("arguments[0].scrollIntoView({block: 'center'})", word)
        ActionChains(browser.driver).move_to_element(word).perform()
        return bool(tip.is_displayed() and told.fullmatch(tip.text))

    browser.wait(lambda _: pointed(), what="the word's tip")


def test_a_dropped_document_can_be_cancelled(
    served: Server, browser: Browser, tmp_path: Path
) -> None:
    # Nine pages of dense text, all OCRed: long enough to be cancelled while it is read.
    long = corpus.dense_pdf(tmp_path / "long.pdf", min_pages=9)
    browser.open(served)
    Select(browser.find("#mode")).select_by_value("force")
    browser.drop(long)
    card = browser.job_card()
    cancel = card.find_element(By.CSS_SELECTOR, "button.cancel")
    browser.wait(lambda _: cancel.is_enabled(), what="the cancel button")
    cancel.click()
    assert browser.finished(card, timeout=60) == "cancelled"
    assert card.find_element(By.CSS_SELECTOR, ".status").text == "Cancelled."
    job = _job(served, card.get_attribute("data-job-id") or "")
    assert job["status"] == "failed" and job["error"]["error"]["code"] == "cancelled"
    assert job["id"] and "result" not in job
    browser.screenshot("web-cancelled")
    browser.assert_stays_home(served)


def test_the_page_asks_for_a_key_and_keeps_it_for_the_session(
    start_server: ServerFactory, browser: Browser, tmp_path: Path
) -> None:
    keyed = start_server({"TESSERA_API_KEYS": KEY}, workers=1)
    browser.open(keyed)
    dialog = browser.find("#key-dialog")
    browser.wait(lambda _: dialog.is_displayed(), what="the key prompt")
    browser.screenshot("web-key-prompt")
    browser.find("#key-input").send_keys("sk-bf-wrong\n")
    error = browser.find("#key-error")
    browser.wait(lambda _: error.is_displayed(), what="the wrong key to be refused")
    assert "not accepted" in error.text
    assert dialog.is_displayed()
    browser.find("#key-input").send_keys(KEY + "\n")
    browser.wait(lambda _: not dialog.is_displayed(), what="the prompt to close")
    with keyed.client(KEY) as client:
        models = [m["id"] for m in client.get("/v1/models").json()["data"]]
    options = browser.wait(
        lambda _: [o.text for o in browser.find_all("#model option")] == models and models,
        what="the models to be listed",
    )
    assert options
    assert browser.script("return sessionStorage.getItem('tessera.api_key')") == KEY
    assert browser.script("return localStorage.length") == 0

    # Work done with the key is the key's: its picture comes with the key the page holds.
    note = tmp_path / "note.png"
    note.write_bytes(corpus.image_bytes(corpus.letter_page(["A note read with a key"])))
    browser.choose(note)
    card = browser.job_card()
    assert browser.finished(card) == "completed", _text(browser, card)
    job = _job(keyed, card.get_attribute("data-job-id") or "", key=KEY)
    assert job["status"] == "completed"
    browser.wait(
        lambda _: browser.script("return document.querySelector('.sheet img').naturalWidth"),
        what="the page's picture",
    )
    with httpx.Client(base_url=keyed.url) as anonymous:
        assert anonymous.get(f"/v1/async/ocr/{job['id']}").status_code == 401
    browser.assert_stays_home(keyed)


def test_the_page_and_its_files_need_no_key_and_promise_no_other_host(
    start_server: ServerFactory,
) -> None:
    keyed = start_server({"TESSERA_API_KEYS": KEY}, workers=1)
    with httpx.Client(base_url=keyed.url) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "connect-src 'self'" in policy
        for name in ("app.js", "markdown.js", "style.css", "icon.svg"):
            assert client.get(f"/web/{name}").status_code == 200, name
        assert re.findall(r'(?:src|href)="(https?:)?//', page.text) == []
        assert client.get("/v1/models").status_code == 401


def test_only_the_pages_own_files_are_served(served: Server) -> None:
    with httpx.Client(base_url=served.url) as client:
        for path in ("/web/index.html", "/web/..%2F..%2Fserver%2Fapp.py", "/web/"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert response.json()["error"]["code"] == "not_found", path
