"""Screenshot of the `medner serve` page for the docs: a real pipeline, the example clinical sentences
(medner.serve.screenshot).

    python scripts/serve_screenshot.py --model clinical --text assets/examples/clinical_sentences.txt \
        --output docs/img/serve.png
"""
from pathlib import Path
from typing import List, Optional

import typer

from medner.serve.screenshot import ScreenshotError, serve_screenshot

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    model: List[str] = typer.Option(..., "--model", "-m", help="Pipeline(s) to serve; the first is shown."),
    text: Path = typer.Option(Path("assets/examples/clinical_sentences.txt"), "--text", exists=True),
    output: Path = typer.Option(Path("docs/img/serve.png"), "--output", "-o"),
    lines: Optional[int] = typer.Option(12, "--lines", help="Use the first N lines of the text (0: all)."),
    width: int = typer.Option(1280, "--width"),
) -> None:
    content = text.read_text(encoding="utf-8")
    if lines:
        content = "".join(content.splitlines(keepends=True)[:lines])
    try:
        status = serve_screenshot(model, content, output, width=width)
    except ScreenshotError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1)
    typer.echo(f"{status}; wrote {output}")


if __name__ == "__main__":
    app()
