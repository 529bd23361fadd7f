"""Shared fixtures: the real model, a real index of the seed articles, helpers to run the CLI."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
QA = [sys.executable, "-m", "qa"]


def paused_qa(point: str, flag: Path) -> list[str]:
    """The qa command line that stops at ``point`` of an index write (see ``pause_at.py``)."""
    return [sys.executable, str(Path(__file__).with_name("pause_at.py")), point, str(flag)]


FIXTURES = ROOT / "tests" / "fixtures"
SMALL_SQUAD = FIXTURES / "squad"
"""Small SQuAD 2.0-format files written for the tests (train.json, dev.json)."""


def squad_data(name: str) -> Path:
    """A SQuAD 2.0 file from the datasets folder (``QA_DATASETS``, default ../shared/datasets);
    skipped with the reason when it is absent, failed instead when ``QA_REQUIRE_DATASETS`` is set
    (CI), so that the floors on real SQuAD always run there."""
    from qa.evaluation import squad

    path = squad.datasets_dir() / name
    if not path.is_file():
        why = (f"needs {path}: SQuAD 2.0 ({squad.SOURCE}, CC BY-SA 4.0); "
               "set QA_DATASETS to the folder that holds squad2/" + name)
        if os.environ.get("QA_REQUIRE_DATASETS"):
            pytest.fail(why)
        pytest.skip(why)
    return path


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache (the exported ONNX model) for the whole test session."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def qa_env(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for CLI subprocesses: isolated cache, data and config; no colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(
        QA_CACHE_DIR=str(cache_dir),
        QA_DATA_DIR=str(tmp_path_factory.mktemp("data")),
        QA_CONFIG=str(_empty_config(tmp_path_factory)),
        NO_COLOR="1",
        PYTHONPATH=str(ROOT),
    )
    return env


def _empty_config(factory: pytest.TempPathFactory) -> Path:
    path = factory.mktemp("config") / "config.toml"
    path.write_text("")
    return path


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, qa_env: dict[str, str]) -> Path:
    """An index folder holding a real index of the seed articles, built once."""
    index = tmp_path_factory.mktemp("index")
    from qa.config import load_settings
    from qa.service import QAService

    service = QAService(load_settings({"index": index}, env=qa_env))
    service.index()
    return index


@pytest.fixture(scope="session")
def service(seed_index: Path, qa_env: dict[str, str]):  # QAService
    """A warm QAService over the seed index (shared: do not change its corpus)."""
    from qa.config import load_settings
    from qa.service import QAService

    svc = QAService(load_settings({"index": seed_index}, env=qa_env))
    svc.ensure_index()
    return svc


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A private, writable copy of the seed articles."""
    dest = tmp_path / "corpus"
    shutil.copytree(SEEDS, dest)
    for path in dest.iterdir():
        path.chmod(0o644)
    return dest


def run_qa(args: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess[str]:
    """Run the qa command line as a subprocess."""
    return subprocess.run(QA + args, env=env, capture_output=True, text=True, timeout=600, **kwargs)


def kill_when_paused(proc: subprocess.Popen, paused: Path, what: str, timeout: float = 120) -> None:
    """Wait until a process run by ``paused_qa`` says it reached its point (the file
    ``paused`` appears), then kill it; fails with ``what`` if it ends or takes too long first."""
    deadline = time.monotonic() + timeout
    while not paused.exists():
        assert proc.poll() is None and time.monotonic() < deadline, what
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


REAL = {"cache_dir", "qa_env", "seed_index", "service"}
"""Fixtures that load the real model or build a real index: a test that uses one is marked slow."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests through the real model ``slow`` (``-m "not slow"`` runs the fast layer)."""
    for item in items:
        if REAL & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
