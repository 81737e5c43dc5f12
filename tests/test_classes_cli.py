"""``billclass classes export/apply`` (issue 11): classes as code on the command line, run
in process as an operator runs it, against the database the API serves (both databases)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests import test_cli
from tests.api.test_classes_as_code import EXPORT, RICH, make_catalogs, named
from tests.api_client import Api, World
from tests.support.audit import event_count
from tests.test_cli import Run

in_process = test_cli.in_process  # the fixture, shared


class Classes:
    """``billclass classes ...`` against one database."""

    def __init__(self, run: Run, database_url: str, tmp_path: Path) -> None:
        self.run = run
        self.database_url = database_url
        self.tmp_path = tmp_path

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.run(self.database_url, "classes", *args)
        assert "Traceback" not in result.stderr + result.stdout
        return result

    def write(self, document: Any, name: str = "classes.json") -> str:
        path = self.tmp_path / name
        path.write_text(json.dumps(document))
        return str(path)

    def export(self, *args: str) -> str:
        result = self("export", *args)
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture
def classes(in_process: Run, database_url: str, tmp_path: Path) -> Classes:
    return Classes(in_process, database_url, tmp_path)


def plan_rows(stdout: str) -> list[list[str]]:
    """The plan table's rows (header and summary line dropped), cells split on 2+ spaces."""
    import re

    lines = stdout.splitlines()
    assert lines[0].split() == ["ACTION", "CLASS", "CHANGES"], stdout
    return [re.split(r"\s{2,}", line.strip()) for line in lines[1:-1]]


def test_export_writes_the_apis_document_byte_for_byte_stable(
    classes: Classes, api: Api, world: World, tmp_path: Path
) -> None:
    make_catalogs(api)
    api.ok("applyCustomerClasses", {"document": {"formatVersion": 1, "classes": [RICH]}})
    text = classes.export()
    assert text == classes.export()  # two exports of unchanged classes: the same bytes
    assert text.endswith("}\n") and '  "classes": [' in text
    assert json.loads(text) == api.data(EXPORT)["exportCustomerClasses"]
    result = classes("export", "--output", str(tmp_path / "out.json"))
    assert result.returncode == 0 and result.stdout == ""
    assert "4 classes exported to" in result.stderr
    assert (tmp_path / "out.json").read_text(encoding="utf-8") == text
    # One reseller's classes: as the administrator's export of them over the API.
    mine = classes.export("--reseller", world.a.id)
    assert json.loads(mine) == api.data(EXPORT, {"r": world.a.id})["exportCustomerClasses"]
    assert "with 2 read-only references" in classes("export", "--reseller", world.a.id).stderr


def test_export_refuses_what_is_not_a_reseller(classes: Classes, world: World) -> None:
    for value in (world.a.customer_id, "nonsense"):
        result = classes("export", "--reseller", value)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.startswith("billclass: BAD_USER_INPUT --reseller:"), result.stderr
    result = classes("export", "--output", "/nonexistent/dir/out.json")
    assert result.returncode == 2 and "cannot write" in result.stderr


def test_apply_prints_the_plan_then_applies_it_once(
    classes: Classes, api: Api, world: World
) -> None:
    document = json.loads(classes.export())
    named(document, "Admin private")["regularInvoices"]["paymentTerms"]["netDays"] = 30
    named(document, "Admin private")["taxation"]["method"] = "NO_TAXATION"
    document["classes"].append({"name": "Business", "currencyCode": "EUR"})
    document["classes"] = [c for c in document["classes"] if c["name"] != "Admin shared"]
    path = classes.write(document)
    before_export, before_events = classes.export(), event_count(api)
    dry = classes("apply", path, "--dry-run", "--prune")
    assert dry.returncode == 0, dry.stderr
    assert plan_rows(dry.stdout) == [
        ["UPDATE", "Admin private", "regularInvoices.paymentTerms.netDays: 0 -> 30"],
        ["DELETE", "Admin shared", "deleted, 131 settings"],
        ["CREATE", "Business", "new class, 131 settings"],
        ["UNCHANGED", "Default", "-"],
    ]
    assert dry.stdout.splitlines()[-1] == (
        "Dry run: 1 to create, 1 to update, 1 to delete, 1 unchanged; nothing was written."
    )
    assert classes.export() == before_export and event_count(api) == before_events
    real = classes("apply", path, "--prune")
    assert real.returncode == 0, real.stderr
    assert plan_rows(real.stdout) == plan_rows(dry.stdout)
    assert (
        real.stdout.splitlines()[-1]
        == "Applied: 1 to create, 1 to update, 1 to delete, 1 unchanged."
    )
    assert event_count(api) == before_events + 3
    again = classes("apply", path, "--prune")
    assert [row[0] for row in plan_rows(again.stdout)] == ["UNCHANGED"] * 3
    assert event_count(api) == before_events + 3
    # The events name the command line.
    events = api.data("{ auditEvents(first: 1) { nodes { actorTokenName } } }")
    assert events["auditEvents"]["nodes"] == [{"actorTokenName": "cli"}]


def test_apply_reports_every_error_with_its_class_and_applies_nothing(
    classes: Classes, api: Api, world: World
) -> None:
    document = {
        "formatVersion": 1,
        "classes": [
            {"name": "Ok"},
            {"name": "Vat", "taxation": {"method": "FIXED_VAT_RATE", "vatRatePercent": "200"}},
            {"name": "Typo", "generalInfo": {"roundingPrecison": 2}},
        ],
    }
    before = classes.export()
    result = classes("apply", classes.write(document))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "billclass: OUT_OF_RANGE classes.1.taxation.vatRatePercent (Vat): vatRatePercent must"
        " be between 0 and 100.",
        "billclass: INVALID classes.2.generalInfo.roundingPrecison (Typo): Unknown key"
        " 'roundingPrecison'; known: billedExternally, billingPeriodClosure,"
        " closeDelayHours, generateStatistics, hideBalanceResetXdr,"
        " resetBalanceEveryPeriod, roundingMethod, roundingPrecision, sendStatistics,"
        " suspendOnInsufficientFunds.",
        "billclass: nothing applied (2 errors)",
    ]
    assert classes.export() == before
    pruned = {"formatVersion": 1, "classes": []}
    api.create_customer(name="Direct", customerClassId=world.admin_class_id)
    result = classes("apply", classes.write(pruned), "--prune")
    assert result.returncode == 1
    assert result.stderr.splitlines()[0].startswith("billclass: IN_USE prune: 'Admin private'")
    assert result.stderr.splitlines()[-1] == "billclass: nothing applied (1 error)"


def test_apply_refuses_files_that_are_no_json(classes: Classes, tmp_path: Path) -> None:
    missing = classes("apply", str(tmp_path / "missing.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"formatVersion": 1,')
    result = classes("apply", str(broken))
    assert result.returncode == 2 and "is not a JSON document" in result.stderr
    result = classes("apply", classes.write([1, 2]))
    assert result.returncode == 1
    assert (
        result.stderr.splitlines()[0] == "billclass: INVALID document: document must be an object."
    )


def test_apply_to_a_resellers_classes(classes: Classes, api: Api, world: World) -> None:
    """A reseller's own export names no reseller: --reseller says whose classes it is."""
    own = api.data(EXPORT, token=world.a.token)["exportCustomerClasses"]
    named(own, "Reseller A class")["description"] = "From the reseller's file"
    path = classes.write(own)
    result = classes("apply", path)
    assert result.returncode == 1
    assert "REQUIRED managingResellerId" in result.stderr
    result = classes("apply", path, "--reseller", world.a.id)
    assert result.returncode == 0, result.stderr
    assert plan_rows(result.stdout) == [
        ["UNCHANGED", "Admin shared", "read-only reference to a shared class"],
        ["UNCHANGED", "Default", "read-only reference to a shared class"],
        ["UPDATE", "Reseller A class", 'description: null -> "From the reseller\'s file"'],
    ]
    named_b = classes.write({**own, "managingResellerId": world.b.id}, "b.json")
    result = classes("apply", named_b, "--reseller", world.a.id)
    assert result.returncode == 2 and "names the reseller" in result.stderr
