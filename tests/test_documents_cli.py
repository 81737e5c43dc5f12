"""``billclass documents push/list/remove``: the registry of trusted documents (issue 10),
run in process as an operator runs it, on a fresh database per test (as the owner role
on PostgreSQL: the service role may only read the registry)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import trusted_document_table
from db.settings import Settings
from tests import test_cli
from tests.databases import Databases
from tests.support.cli import run_as_cli
from tests.test_cli import Run

in_process = test_cli.in_process  # the fixture, shared
FIXTURE = Path(__file__).parent / "fixtures" / "persisted-documents.json"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Documents:
    """``billclass documents ...`` against one database, as the owner may run it."""

    def __init__(self, run: Run, database_url: str, tmp_path: Path) -> None:
        self.run = run
        self.database_url = database_url
        self.tmp_path = tmp_path
        self.env = {"BILLCLASS_MIGRATION_DATABASE_URL": Databases.owner_url(database_url)}

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.run(self.database_url, "documents", *args, env=self.env)
        assert "Traceback" not in result.stderr + result.stdout
        return result

    def push(self, manifest: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        path = self.tmp_path / "manifest.json"
        path.write_text(json.dumps(manifest))
        return self("push", str(path))

    def rows(self) -> list[list[str]]:
        result = self("list")
        assert result.returncode == 0, result.stderr
        return [line.split(None, 3) for line in result.stdout.splitlines()[1:]]

    def ids(self) -> list[str]:
        return [row[0] for row in self.rows()]


@pytest.fixture
def documents(in_process: Run, database_url: str, tmp_path: Path) -> Documents:
    return Documents(in_process, database_url, tmp_path)


def test_push_registers_a_codegen_manifest_once(documents: Documents) -> None:
    manifest = json.loads(FIXTURE.read_text())
    pushed = documents("push", str(FIXTURE))
    assert pushed.returncode == 0, pushed.stderr
    assert "3 registered, 0 already registered" in pushed.stderr
    rows = documents.rows()
    assert sorted(row[0] for row in rows) == sorted(f"sha256:{key}" for key in manifest)
    assert {row[1] for row in rows} == {"Viewer", "ClassNames", "CustomerClass"}
    assert {row[3] for row in rows} == {"valid"}
    again = documents("push", str(FIXTURE))
    assert again.returncode == 0, again.stderr
    assert "0 registered, 3 already registered" in again.stderr
    assert len(documents.rows()) == 3


def test_keys_may_carry_the_sha256_prefix(documents: Documents) -> None:
    text = "{ viewer { role } }"
    assert documents.push({f"sha256:{sha(text)}": text}).returncode == 0
    assert documents.ids() == [f"sha256:{sha(text)}"]


def test_a_bad_entry_refuses_the_whole_manifest(documents: Documents) -> None:
    good = "{ viewer { role } }"
    unknown_field = "query Bad { viewer { nonsense } }"
    too_large_page = "query Big { customerClasses(first: 500) { totalCount } }"
    too_deep = "query Deep { viewer { reseller " + "{ parent " * 9 + "{ id }" + " }" * 11
    mismatch = "{ viewer { tokenName } }"
    result = documents.push(
        {
            sha(good): good,
            sha(unknown_field): unknown_field,
            sha(too_large_page): too_large_page,
            sha(too_deep): too_deep,
            sha(mismatch): mismatch + " ",
            "not-a-hash": good,
        }
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("billclass: refused")]
    assert len(lines) == 5, result.stderr
    assert f"sha256:{sha(unknown_field)}: GRAPHQL_VALIDATION_FAILED" in result.stderr
    assert f"sha256:{sha(too_large_page)}: PAGE_TOO_LARGE" in result.stderr
    assert f"sha256:{sha(too_deep)}: QUERY_TOO_DEEP" in result.stderr
    assert f"{sha(mismatch)}: hash mismatch" in result.stderr
    assert "not-a-hash: not a SHA-256" in result.stderr
    assert "nothing registered" in result.stderr
    assert documents.ids() == []  # all or nothing


def test_a_document_over_the_node_budget_is_refused(documents: Documents) -> None:
    text = (
        "query Huge { customerClasses(first: 100)"
        " { nodes { customers(first: 100) { totalCount } } } }"
    )
    result = documents.push({sha(text): text})
    assert result.returncode == 1
    assert f"sha256:{sha(text)}: QUERY_TOO_COMPLEX: The requested cost of the query is 10100" in (
        result.stderr
    )


def test_a_manifest_that_is_not_json_is_one_line(documents: Documents) -> None:
    path = documents.tmp_path / "broken.json"
    path.write_text("{not json")
    result = documents("push", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith("billclass: error:") and len(result.stderr.splitlines()) == 1
    missing = documents("push", str(documents.tmp_path / "absent.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    array = documents.tmp_path / "array.json"
    array.write_text("[]")
    assert documents("push", str(array)).returncode == 1


def test_remove_takes_every_id_or_none(documents: Documents) -> None:
    one, two = "{ viewer { role } }", "{ viewer { tokenName } }"
    assert documents.push({sha(one): one, sha(two): two}).returncode == 0
    unknown = "sha256:" + "0" * 64
    refused = documents("remove", f"sha256:{sha(one)}", unknown)
    assert refused.returncode == 1
    assert f"NOT_FOUND {unknown}" in refused.stderr
    assert len(documents.ids()) == 2
    removed = documents("remove", f"sha256:{sha(one)}", sha(two))  # bare hex too
    assert removed.returncode == 0, removed.stderr
    assert documents.ids() == []


def test_list_reports_a_document_the_schema_no_longer_validates(
    documents: Documents, database_url: str
) -> None:
    """A document registered against an earlier schema (a field since removed) is listed
    INVALID with the reason."""
    assert documents.push({}).returncode == 1  # empty manifest: refused, and migrated
    text = "query Old { viewer { removedField } }"

    async def plant(conn: AsyncConnection) -> None:
        await conn.execute(
            sa.insert(trusted_document_table).values(
                id=f"sha256:{sha(text)}",
                document=text,
                operation_names=["Old"],
                requested_costs={"Old": [1, 0]},
                created_at=sa.func.now(),
            )
        )

    run_as_cli(Settings(database_url=Databases.owner_url(database_url)), plant)
    (row,) = documents.rows()
    assert row[1] == "Old"
    assert row[3].startswith("INVALID: GRAPHQL_VALIDATION_FAILED")


def test_help_documents_the_commands(in_process: Run, database_url: str) -> None:
    for args in (["documents", "push", "--help"], ["documents", "remove", "--help"]):
        result = in_process(database_url, *args)
        assert result.returncode == 0
        assert "MANIFEST" in result.stdout or "ID" in result.stdout


@pytest.mark.postgres
def test_the_service_role_cannot_register_documents(
    in_process: Run, database_url: str, tmp_path: Path
) -> None:
    """Without the owner's URL the command connects as the service role, which may only
    read the registry: one line saying what to set, nothing written."""
    text = "{ viewer { role } }"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({sha(text): text}))
    owner = {"BILLCLASS_MIGRATION_DATABASE_URL": Databases.owner_url(database_url)}
    assert in_process(database_url, "documents", "list", env=owner).returncode == 0  # migrated
    result = in_process(database_url, "documents", "push", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "may only read trusted documents" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
