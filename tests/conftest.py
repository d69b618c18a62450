"""Shared fixtures: a real database file, a clock the test moves, and a scripted fleet."""

from __future__ import annotations

import os

# Before anything imports Qt: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from jobdesk.domain.inventory import make_device
from jobdesk.runtime.actions import JobService
from jobdesk.runtime.ca import LocalCA
from jobdesk.runtime.engine import Engine
from jobdesk.runtime.events import Event
from jobdesk.settings import Settings
from jobdesk.store import Store
from tests import thread_guard
from tests.fake_driver import FakeDriver
from tests.postgres_cluster import REQUIRED, Cluster, find_binaries

if TYPE_CHECKING:
    from jobdesk.ui.context import AppContext
    from jobdesk.ui.gateway import StoreGateway

T = TypeVar("T")
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


@dataclass
class Harness:
    store: Store
    clock: FakeClock
    driver: FakeDriver
    settings: Settings
    service: JobService
    engine: Engine
    events: list[Event]
    tmp: Path

    def add_devices(self, *names: str, tags: tuple[str, ...] = ()) -> None:
        for name in names:
            self.store.devices.add(make_device(name, "127.0.0.1", tags=tags), self.clock.now())

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    async def cycle(self) -> int:
        """One runtime pass at the clock's time, waiting for every attempt it started."""
        started = await self.engine.run_pass()
        await self.engine.drain()
        return started

    loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]


thread_guard.install()


@pytest.fixture(autouse=True)
def _no_thread_left_running() -> Iterator[None]:
    """Every thread a test starts is stopped by its end (see tests/thread_guard.py)."""
    yield from thread_guard.watch()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster | None]:
    """A PostgreSQL cluster for the session, where PostgreSQL is installed."""
    binaries = find_binaries()
    if binaries is None:
        if REQUIRED:
            pytest.fail("PostgreSQL is required here but initdb was not found")
        yield None
        return
    cluster = Cluster(binaries)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path,
             pg_cluster: Cluster | None) -> Iterator[str]:
    """Where a test's database is: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "jobdesk.db")
        return
    yield request.getfixturevalue("pg_database")


@pytest.fixture
def pg_database(pg_cluster: Cluster | None) -> Iterator[str]:
    """A fresh PostgreSQL database, for what only the team store has."""
    if pg_cluster is None:
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql)")
    url = pg_cluster.new_database()
    try:
        yield url
    finally:
        pg_cluster.drop_database(url)


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    """The store on each backend: every store and engine test runs on both."""
    with Store(database) as opened:
        yield opened


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A SQLite store, for what only SQLite has (files, the window's tests)."""
    with Store(tmp_path / "jobdesk.db") as opened:
        yield opened


@pytest.fixture
def harness(tmp_path: Path, store: Store, clock: FakeClock) -> Iterator[Harness]:
    settings = Settings()
    driver = FakeDriver()
    events: list[Event] = []
    engine = Engine(
        store, settings, clock, driver, LocalCA(tmp_path / "ca"), events.append,
        system_jobs=False,
    )
    loop = asyncio.new_event_loop()
    h = Harness(store, clock, driver, settings, JobService(store, settings, clock), engine,
                events, tmp_path)
    h.loop = loop
    loop.run_until_complete(engine.start())
    try:
        yield h
    finally:
        loop.run_until_complete(engine.shutdown())
        loop.close()


@pytest.fixture
def app_context(tmp_path: Path, sqlite_store: Store, clock: FakeClock) -> AppContext:
    """What the window gets: the store, settings and a clock the test moves."""
    from jobdesk.ui.context import AppContext

    store = sqlite_store
    return AppContext(
        store=store, settings=Settings(), clock=clock,
        config_path=tmp_path / "settings.toml", data_dir=tmp_path / "data",
    )


@pytest.fixture
def window(qtbot: Any, app_context: AppContext) -> Iterator[Any]:
    """The main window on `app_context`, shown (offscreen)."""
    from jobdesk.ui.main_window import MainWindow

    win = MainWindow(app_context)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


@pytest.fixture
def gateway(qtbot: Any) -> Iterator[StoreGateway]:
    """The store's worker thread; stopped after the test so no thread dangles."""
    from jobdesk.ui.gateway import StoreGateway

    opened = StoreGateway()
    yield opened
    opened.stop()
