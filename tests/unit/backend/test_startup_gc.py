"""Start-up runs with the cyclic collector paused (issue #18: start in ≤ 3 s); every long-running role turns
it back on when it has started (tests/integration/test_process_lifecycle.py sees `linkflow up` collect again),
and a backstop does so if start-up never gets there."""

from __future__ import annotations

import gc
import time

import pytest

from backend import cli, observability


@pytest.fixture
def collector():
    was = gc.isenabled()
    yield
    gc.enable() if was else gc.disable()


def test_freezing_the_startup_heap_turns_the_collector_back_on(collector):
    observability.pause_collection_for_startup()
    assert not gc.isenabled()
    observability.freeze_startup_heap()
    assert gc.isenabled()
    gc.unfreeze()


def test_the_backstop_turns_it_on_when_start_up_never_finishes(collector, caplog):
    observability.pause_collection_for_startup(backstop_s=0.05)
    deadline = time.monotonic() + 5
    while not gc.isenabled() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gc.isenabled()
    assert "still paused" in caplog.text


@pytest.mark.parametrize(("argv", "paused"), [
    (["up"], True), (["worker"], True), (["serve", "--role", "api"], True), (["serve", "--role", "webhook"], True),
    (["serve", "--role", "ui"], True), (["serve", "--role", "code-runner"], False), (["scheduler"], False),
    (["db", "upgrade"], False), (["run", "flow.json"], False),
])
def test_only_roles_that_freeze_their_heap_pause_it(argv, paused):
    assert cli._freezes_startup_heap(cli.build_parser().parse_args(argv)) is paused
