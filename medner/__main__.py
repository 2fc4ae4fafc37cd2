"""``python -m medner ...``: the same CLI as the ``medner`` console script."""
from .cli import app

app(prog_name="medner")
