"""Running the console under uvicorn, with one or several worker processes.

Each worker builds the application from the environment (``factory``), so the
settings reach processes uvicorn starts itself: the database URL
(``PLACEMENT_DATABASE_URL``), the default cohort (``PLACEMENT_COHORT``) and
whether cookies are Secure (``PLACEMENT_WEB_SECURE_COOKIES``).
"""

from __future__ import annotations

import ipaddress
import os

from starlette.applications import Starlette

from ..cohorts import COHORT_ENV
from ..config import DATABASE_URL_ENV, database_url

SECURE_ENV = "PLACEMENT_WEB_SECURE_COOKIES"


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def factory() -> Starlette:
    from ..accounts import forget_old
    from ..db.session import make_engine, require_schema
    from .app import create_app
    from .pages import keep_warm

    engine = make_engine(database_url())
    require_schema(engine)
    forget_old(engine)
    app = create_app(
        engine, cohort=os.environ.get(COHORT_ENV) or None, secure_cookies=os.environ.get(SECURE_ENV, "") == "1"
    )
    keep_warm(app.state)  # each worker process keeps its own views warm
    return app


def run(
    db_url: str,
    *,
    host: str,
    port: int,
    workers: int = 1,
    cohort: str | None = None,
    secure_cookies: bool | None = None,
    proxy_headers: bool = False,
) -> None:
    import uvicorn

    os.environ[DATABASE_URL_ENV] = db_url
    if cohort:
        os.environ[COHORT_ENV] = cohort
    secure = (not _loopback(host)) if secure_cookies is None else secure_cookies
    os.environ[SECURE_ENV] = "1" if secure else "0"
    uvicorn.run(
        "placement.web.server:factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=proxy_headers,
        forwarded_allow_ips="127.0.0.1" if proxy_headers else None,
        server_header=False,
        log_level="info",
    )
