"""The lockfiles (requirements/*.lock, CONTRIBUTING "Dependencies and the lockfiles") hold
what pyproject.toml asks for: every dependency of the service, of its tracing extra and
(test.lock) of its test tools, pinned to a version its bounds allow, with hashes. A
dependency added or re-bounded without `make lock` fails here, offline, instead of on the
first import in CI; and every runtime dependency keeps an upper bound."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPOSITORY = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)( ;[^\\]*)?", re.MULTILINE)


def _required(extras: tuple[str, ...]) -> list[Requirement]:
    """The requirements of the project with ``extras``, self-references expanded."""
    wanted = [Requirement(text) for text in PROJECT["dependencies"]]
    pending = list(extras)
    while pending:
        for text in PROJECT["optional-dependencies"][pending.pop()]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == "billclass":
                pending.extend(requirement.extras)
            else:
                wanted.append(requirement)
    return wanted


def _pins(lock: str) -> dict[str, str]:
    text = (REPOSITORY / "requirements" / lock).read_text()
    found: dict[str, str] = {}
    for name, version, marker in PIN.findall(text):
        condition = Requirement(f"x{marker}").marker if marker else None
        if condition is not None and not condition.evaluate():
            continue  # another platform's (e.g. Windows') package
        found[canonicalize_name(name)] = version
    return found


@pytest.mark.parametrize(
    ("lock", "extras"), [("test.lock", ("test",)), ("service.lock", ("otel",))]
)
def test_the_lock_pins_every_requirement_within_its_bounds(
    lock: str, extras: tuple[str, ...]
) -> None:
    pins = _pins(lock)
    problems = []
    for requirement in [*_required(extras), Requirement("setuptools>=77")]:
        version = pins.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name} is not in requirements/{lock}")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} is outside {requirement}")
    assert not problems, f"run `make lock`: {problems}"


def test_every_pin_has_hashes() -> None:
    for lock in ("test.lock", "service.lock"):
        text = (REPOSITORY / "requirements" / lock).read_text()
        entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
        unhashed = [e.split()[0] for e in entries if "==" in e and "--hash=sha256:" not in e]
        assert not unhashed, (lock, unhashed)


def test_the_service_lock_has_no_test_tools() -> None:
    pins = _pins("service.lock")
    assert not {"pytest", "ruff", "mypy", "hypothesis"} & set(pins)


def test_every_runtime_dependency_has_an_upper_bound() -> None:
    unbounded = [
        text
        for text in PROJECT["dependencies"]
        if not any(spec.operator in ("<", "==", "~=") for spec in Requirement(text).specifier)
    ]
    assert not unbounded, unbounded
