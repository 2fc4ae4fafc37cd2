"""Screenshot of the `medner serve` page for the docs (``scripts/serve_screenshot.py``).

Starts ``medner serve`` on 127.0.0.1 (subprocess), opens the page in headless
Chromium (Debian's ``/usr/bin/chromium`` through Playwright), pastes the text,
annotates it and saves a full-page PNG.
"""
import signal
import subprocess
import sys
from pathlib import Path
from typing import List

HOST = "127.0.0.1"
CHROMIUM = Path("/usr/bin/chromium")
START_SECONDS = 180


class ScreenshotError(RuntimeError):
    """The browser is missing or the server did not start: one line for the user."""


def serve_screenshot(models: List[str], content: str, output: Path, width: int = 1280) -> str:
    """Serve ``models`` (the first is shown), annotate ``content`` in the page, save ``output``; the page's status."""
    from playwright.sync_api import sync_playwright

    from medner.bench.serve import free_port, wait_until_ready

    if not CHROMIUM.exists():
        raise ScreenshotError("headless Chromium is missing: run `bash scripts/install_browser.sh`")
    port = free_port()
    url = f"http://{HOST}:{port}"
    args = [sys.executable, "-m", "medner", "serve", "--host", HOST, "--port", str(port), "--no-access-log"]
    for name in models:
        args += ["--model", name]
    process = subprocess.Popen(args)
    try:
        try:
            wait_until_ready(url, process, timeout_s=START_SECONDS)
        except RuntimeError as err:
            raise ScreenshotError(str(err)) from None
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                 args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(url + "/")
            page.wait_for_function("document.querySelectorAll('#pipeline option').length > 0")
            page.fill("#text", content)
            page.click("#annotate")
            page.wait_for_selector("#view mark, #status.error")
            page.evaluate("document.querySelector('#text').scrollTop = 0")
            status = page.locator("#status").inner_text()
            output.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(output), full_page=True)
            browser.close()
        return status
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
