"""Shared test fixtures."""

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository's top folder."""
    return REPO


@pytest.fixture(scope="session")
def config() -> dict:
    """The project's config.yaml as a dict."""
    return yaml.safe_load((REPO / "config.yaml").read_text())
