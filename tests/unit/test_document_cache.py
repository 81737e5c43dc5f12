"""The document cache is bounded in bytes (SPEC §7 "CPU and memory", issue 7 item 6:
6,600 distinct 62 KB documents grew a worker from 195 to 716 MB).

Memory is measured with tracemalloc (deterministic: the same code allocates the same
blocks; no timing): the estimate of each entry must stay an upper bound of what it keeps
alive, for every shape of document, and the cache as a whole never keeps more than its
bound, whatever stream of documents arrives.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterator

import pytest

from gql.documents import MAX_BUDGET_VERDICTS, BudgetVerdicts, DocumentCache
from gql.limits import LimitExceeded
from gql.schema import graphql_schema
from tenancy.errors import TopLevelCode

# Each shape at (close to) the 1,000-token limit; n scales it.
SHAPES: dict[str, Callable[[int], str]] = {
    "selections": lambda n: "{" + "viewer{role}" * (n // 5) + "}",
    "aliases": lambda n: (
        "{"
        + "".join(f"a{i}:viewer{{role}}" for i in range(20))
        + "viewer{role}" * (n // 5 - 20)
        + "}"
    ),
    "fragments": lambda n: (
        "{"
        + "".join(f"...F{i} " for i in range(n // 12))
        + "}"
        + "".join(f"fragment F{i} on Query{{viewer{{role}}}}" for i in range(n // 12))
    ),
    "typenames": lambda n: "{" + "__typename " * (n // 2) + "}",
    "scalar fields": lambda n: (
        '{customerClasses(filter:{nameContains:"a"}){nodes{' + "id " * (n // 2) + "}}}"
    ),
    "int list": lambda n: "{nodes(ids:[" + "1," * (n - 10) + "]){id}}",
    "string list": lambda n: "{nodes(ids:[" + '"a",' * (n - 10) + "]){id}}",
    "short comments": lambda n: "{viewer{role}}" + "#\n" * (n - 10),
    "long comments": lambda n: "{viewer{role}}" + ("#" + "c" * 60 + "\n") * (n - 10),
    "introspection": lambda n: (
        "{__schema{types{name fields{name type{name}}}}" + "__typename " * (n - 30) + "}"
    ),
    "unknown fields": lambda n: "{" + " ".join(f"x{i}" for i in range(n - 2)) + "}",
    "unknown arguments": lambda n: (
        "{viewer(" + "".join(f"a{i}:1 " for i in range(n // 3)) + "){role}}"
    ),
    "uncoercible floats": lambda n: "{nodes(ids:[" + "1.5," * (n - 10) + "]){id}}",
    "unused variables": lambda n: (
        "query Q(" + "".join(f"$v{i}:Int" for i in range(n // 4 - 5)) + "){viewer{role}}"
    ),
    "padding": lambda n: "{viewer{role}}" + " " * (n * 60),
    "long string": lambda n: (
        '{customerClasses(filter:{nameContains:"' + "x" * (n * 60) + '"}){totalCount}}'
    ),
    "4-byte characters": lambda n: (
        '{customerClasses(filter:{nameContains:"' + "\U0001f600" * (n * 15) + '"}){totalCount}}'
    ),
    "syntax error": lambda n: "{viewer{role " + " " * (n * 60),
    "too deep": lambda n: "{" + "customerClasses{nodes{" * 6 + "id" + "}}" * 6 + "}" + " " * n,
    "too many tokens": lambda n: "{" + "x " * (n + 10) + "}",
    "point lookup": lambda n: "query Probe($id: ID!) { customerClass(id: $id) { id name } }",
}


COPIES = 4


@pytest.fixture
def memory() -> Iterator[Callable[[], int]]:
    """Traced bytes alive now (after a full collection), while the test runs."""
    tracemalloc.start()

    def alive() -> int:
        gc.collect()
        return tracemalloc.get_traced_memory()[0]

    try:
        yield alive
    finally:
        tracemalloc.stop()


def released_by_clearing(cache: DocumentCache, memory: Callable[[], int]) -> int:
    """What the cache's entries keep alive: the memory freed when they are dropped.

    Growth of the whole process would also count interpreter state that entries do not
    own: CPython's type attribute cache holds up to 4,096 attribute names, which
    graphql-core's visitors build afresh for every document (about 240 KB, measured)."""
    held = memory()
    cache.clear()
    return held - memory()


@pytest.mark.parametrize("size", [100, 1000], ids=["small", "at the token limit"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_estimate_bounds_what_an_entry_keeps_alive(
    shape: str, size: int, memory: Callable[[], int]
) -> None:
    cache = DocumentCache(graphql_schema, max_bytes=1 << 40)
    text = SHAPES[shape](size)
    for i in range(COPIES):
        # A fresh string per document, as every request brings its own.
        cache.get(text + "\n" * (i + 1))
    estimated = cache.bytes
    assert len(cache) == COPIES
    kept = released_by_clearing(cache, memory)
    assert kept <= estimated, (
        f"{shape}: {kept / COPIES:.0f} B kept per entry, estimate {estimated / COPIES:.0f}"
    )


def test_distinct_large_documents_never_take_more_than_the_bound(
    memory: Callable[[], int],
) -> None:
    """The issue's flood: distinct ~60 KB documents, one after the other (mixed with
    shapes heavy per byte of text), into a 4 MiB cache."""
    bound = 4 * 1024 * 1024
    cache = DocumentCache(graphql_schema, max_bytes=bound)
    heavy = [SHAPES[s](1000) for s in ("long comments", "int list", "uncoercible floats")]
    start = memory()
    for i in range(90):
        text = heavy[i % 3] + f"#{i}\n"
        cache.get(text)
        assert cache.bytes <= bound
    grown = memory() - start
    # Still a cache: the latest documents are answered from it.
    before = cache.hits
    cache.get(text)
    assert cache.hits == before + 1
    assert len(cache) >= 3
    assert released_by_clearing(cache, memory) <= bound
    # The whole process: the cache, plus interpreter caches of fixed size (see above).
    assert grown <= bound + 1024 * 1024, f"{grown} bytes kept for a bound of {bound}"


def test_the_least_recently_used_document_goes_first() -> None:
    one, two, three = (f"{{ viewer {{ role }} }}{end}" for end in " \n\t")  # equal sizes
    cache = DocumentCache(graphql_schema, max_bytes=1 << 30)
    sizes = [cache.get(text).size for text in (one, two, three)]
    cache = DocumentCache(graphql_schema, max_bytes=sizes[0] + sizes[1])
    cache.get(one)
    cache.get(two)
    cache.get(one)  # now two is the least recently used
    cache.get(three)
    assert (one in cache, two in cache, three in cache) == (True, False, True)
    assert cache.bytes == sizes[0] + sizes[2]


def test_a_document_larger_than_the_cache_is_answered_and_not_kept() -> None:
    cache = DocumentCache(graphql_schema, max_bytes=1024)
    assert cache.get("{ viewer { role } }").document is not None
    assert (len(cache), cache.bytes) == (0, 0)
    cache = DocumentCache(graphql_schema, max_bytes=0)
    assert cache.get("{ nope }").code == "GRAPHQL_VALIDATION_FAILED"
    assert len(cache) == 0


def test_budget_verdicts_per_document_are_bounded_and_keep_no_traceback() -> None:
    verdicts = BudgetVerdicts()
    for i in range(3 * MAX_BUDGET_VERDICTS):
        try:
            raise LimitExceeded(TopLevelCode.QUERY_TOO_COMPLEX, f"verdict {i}")
        except LimitExceeded as limit:
            verdicts.remember(verdicts.key("Op", [i, "c" * 60_000]), limit)
    assert len(verdicts) == MAX_BUDGET_VERDICTS
    newest = verdicts.get(verdicts.key("Op", [3 * MAX_BUDGET_VERDICTS - 1, "c" * 60_000]))
    assert isinstance(newest, LimitExceeded)
    assert newest.message == f"verdict {3 * MAX_BUDGET_VERDICTS - 1}"
    assert newest.__traceback__ is None
    assert verdicts.key("Op", [0, "c" * 60_000]) not in verdicts  # the oldest went first
    assert len(verdicts.key("Op", ["c" * 60_000])) == 16
