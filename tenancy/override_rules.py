"""Which customer overrides depend on the class they combine with (SPEC §4, §5).

Effective settings (the class's values with a customer's overrides applied) must always
pass the tab rules. Of the overridable settings only two take part in a cross-field rule,
both with the class's ``generalInfo.generateStatistics``: regular invoices on, and
statistics sent (anything but DO_NOT_SEND), need statistics on. So an override can be
refused when it is written (``updateCustomerOverrides``), and the class side can be
refused when it would break a stored override: turning statistics off on a class
(``updateCustomerClass``) or assigning a customer to a class with statistics off
(``assignCustomerClass``). This module is the one statement of that dependency; a new
overridable setting that takes part in a tab rule belongs here too.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

# Override input key -> its customer column, for the overrides that need statistics on.
NEEDING_STATISTICS = {
    "regularInvoicesEnabled": "override_regular_invoices_enabled",
    "sendStatistics": "override_send_statistics",
}


def needs_statistics(key: str, value: object) -> bool:
    """Whether override ``key`` set to ``value`` (None: not overridden) needs the
    class's statistics on."""
    if value is None:
        return False
    if key == "regularInvoicesEnabled":
        return bool(value)
    if key == "sendStatistics":
        return str(value) != "DO_NOT_SEND"
    return False


def stored_needing_statistics(customer: Any) -> list[str]:
    """The override keys of a customer row whose stored values need statistics on."""
    m = customer._mapping
    return [key for key, column in NEEDING_STATISTICS.items() if needs_statistics(key, m[column])]


def needing_statistics_clause(customers: sa.FromClause) -> sa.ColumnElement[bool]:
    """SQL for :func:`stored_needing_statistics` being non-empty."""
    c = customers.c
    send = c[NEEDING_STATISTICS["sendStatistics"]]
    return sa.or_(
        c[NEEDING_STATISTICS["regularInvoicesEnabled"]].is_(True),
        sa.and_(send.is_not(None), send != "DO_NOT_SEND"),
    )
