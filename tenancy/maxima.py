"""List maxima of SPEC §7, in one place.

They are enforced when written (``OUT_OF_RANGE``) and they are the lengths the requested
cost of a query assumes for each list (``gql.limits``), so the two can never disagree: a
list can never hold more objects than a query was charged for.
"""

from __future__ import annotations

# Per customer class.
CUSTOM_FIELDS_PER_CLASS = 50
CUSTOM_TAXES_PER_CLASS = 10
# measuredServices and notification settings are bounded by their enum sizes (each
# parameter / notification type at most once), so they need no constant of their own.

# Classes one applyCustomerClasses request may name or prune (its plan lists each). Times
# the changes of a plan entry (at most tenancy.class_rows.MAX_LEAVES, 132), plus the plan
# itself, it stays below the node budget of 10,000, so a plan with every change can be
# asked for in one request.
CLASSES_PER_APPLY = 50

# Per custom field definition of type LIST.
LIST_VALUES_PER_FIELD = 100

# Entries per catalog (business models, invoice templates, notification sets, custom
# field definitions, custom taxes).
CATALOG_ENTRIES = 500

# API tokens listed per owner (a reseller, or the administrators together), revoked ones
# kept for the record included; the oldest revoked tokens are dropped first.
API_TOKENS_PER_OWNER = 100
# Unrevoked tokens a reseller may hold at once (SPEC §2).
UNREVOKED_RESELLER_TOKENS = 20

# Resellers listed in a class change's impact (affectedByReseller, the most affected
# first); the total is always in affectedCustomerCount.
RESELLER_IMPACTS = 100

# Webhook subscriptions per tenant (a reseller, or the administrators together; issue 12).
WEBHOOK_SUBSCRIPTIONS_PER_TENANT = 10
