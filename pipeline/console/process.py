"""Start the console as a child process (for ``leadpipe demo`` and tests)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.broker import free_port
from pipeline.processes import ServiceProcess


class ConsoleProcess(ServiceProcess):
    """``leadpipe console`` on ``127.0.0.1:<port>`` reading ``bootstrap`` and scraping ``worker_urls``;
    ready once its reader caught up with the topics."""

    name = "console"

    def __init__(self, *, bootstrap: str, worker_urls: Sequence[str], env: dict[str, str] | None = None,
                 log_path: Path | None = None, web_port: int | None = None) -> None:
        port = web_port or free_port()
        extra = {
            "LEADPIPE_BOOTSTRAP_SERVERS": bootstrap,
            "LEADPIPE_CONSOLE_HOST": "127.0.0.1",
            "LEADPIPE_CONSOLE_PORT": str(port),
            "LEADPIPE_WORKER_URLS": ",".join(worker_urls),
        }
        super().__init__(["console"], env=env, extra_env=extra, log_path=log_path, web_port=port)

    @property
    def dashboard_url(self) -> str:
        return f"{self.url}/dashboard"
