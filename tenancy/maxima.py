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

# Webhook subscriptions per tenant (a reseller, or the administrators together; issue 12).
WEBHOOK_SUBSCRIPTIONS_PER_TENANT = 10
