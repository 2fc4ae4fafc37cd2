"""Screenshot of the `medner serve` page for the docs: a real pipeline, the example clinical sentences.

Starts ``medner serve`` on 127.0.0.1 (subprocess), opens the page in headless
Chromium (Debian's ``/usr/bin/chromium`` through Playwright), pastes the text,
annotates it and saves a full-page PNG.

    python scripts/serve_screenshot.py --model clinical --text assets/examples/clinical_sentences.txt \
        --output docs/img/serve.png
"""
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer

HOST = "127.0.0.1"
CHROMIUM = Path("/usr/bin/chromium")
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    model: List[str] = typer.Option(..., "--model", "-m", help="Pipeline(s) to serve; the first is shown."),
    text: Path = typer.Option(Path("assets/examples/clinical_sentences.txt"), "--text", exists=True),
    output: Path = typer.Option(Path("docs/img/serve.png"), "--output", "-o"),
    lines: Optional[int] = typer.Option(12, "--lines", help="Use the first N lines of the text (0: all)."),
    width: int = typer.Option(1280, "--width"),
) -> None:
    import httpx
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        typer.echo("headless Chromium is missing: run `bash scripts/install_browser.sh`", err=True)
        raise typer.Exit(1)
    content = text.read_text(encoding="utf-8")
    if lines:
        content = "".join(content.splitlines(keepends=True)[:lines])
    from benchmark_serve import free_port  # scripts/ is on sys.path when this script runs

    port = free_port()
    url = f"http://{HOST}:{port}"
    args = [sys.executable, "-m", "medner", "serve", "--host", HOST, "--port", str(port), "--no-access-log"]
    for name in model:
        args += ["--model", name]
    process = subprocess.Popen(args)
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise typer.Exit(process.returncode or 1)
            try:
                if httpx.get(f"{url}/health", timeout=2).json().get("status") == "ok":
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                typer.echo("medner serve did not start in 180 s", err=True)
                raise typer.Exit(1)
            time.sleep(0.5)
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
        typer.echo(f"{status}; wrote {output}")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


if __name__ == "__main__":
    app()
