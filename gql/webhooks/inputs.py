from __future__ import annotations

import strawberry

from gql.input_shapes import check_input, check_values
from gql.webhooks.types import WebhookDeliveryStatus, WebhookEventType
from tenancy import inputs

URL_DESCRIPTION = (
    "Where events are POSTed: an absolute https URL of at most 2,048 characters (longer:"
    " TOO_LONG; blank: REQUIRED), without user or password, whose host is no private,"
    " loopback, link-local, multicast or reserved address (INVALID). Host names are"
    " resolved at every delivery and each address is checked again; redirects are not"
    " followed."
)
EVENTS_DESCRIPTION = (
    "The event types to receive, at least one (empty: REQUIRED); repeats count once."
)
DESCRIPTION_DESCRIPTION = (
    "A note for people, at most 500 characters (TOO_LONG), no control characters except"
    " line breaks and tabs (INVALID); blank or null: none."
)


@strawberry.input(description="A new webhook subscription of the caller's tenant.")
class CreateWebhookSubscriptionInput:
    url: str = strawberry.field(description=URL_DESCRIPTION)
    events: list[WebhookEventType] = strawberry.field(description=EVENTS_DESCRIPTION)
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description=DESCRIPTION_DESCRIPTION
    )


@strawberry.input(description="What to change in a subscription; omitted fields stay.")
class UpdateWebhookSubscriptionInput:
    id: strawberry.ID = strawberry.field(
        description="Global ID of a subscription the caller may see (NOT_FOUND otherwise)."
    )
    url: str | None = strawberry.field(
        default=strawberry.UNSET, description=URL_DESCRIPTION + " Null: unchanged."
    )
    events: list[WebhookEventType] | None = strawberry.field(
        default=strawberry.UNSET, description=EVENTS_DESCRIPTION + " Null: unchanged."
    )
    active: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="false stops fan-out and delivery (pending deliveries wait); true resumes"
        " them and forgets the run of failures. Null: unchanged.",
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description=DESCRIPTION_DESCRIPTION + " Omitted: unchanged."
    )


@strawberry.input(description="The subscription to delete, with its deliveries.")
class DeleteWebhookSubscriptionInput:
    id: strawberry.ID = strawberry.field(
        description="Global ID of a subscription the caller may see (NOT_FOUND otherwise)."
    )


@strawberry.input(description="The subscription whose signing secret to replace.")
class RotateWebhookSecretInput:
    id: strawberry.ID = strawberry.field(
        description="Global ID of a subscription the caller may see (NOT_FOUND otherwise)."
    )


@strawberry.input(description="The delivery to attempt again.")
class RedeliverWebhookInput:
    deliveryId: strawberry.ID = strawberry.field(
        description="Global ID of a delivery the caller may see (NOT_FOUND otherwise)."
    )


check_input(CreateWebhookSubscriptionInput, inputs.CreateWebhookSubscription)
check_input(UpdateWebhookSubscriptionInput, inputs.UpdateWebhookSubscription)
check_input(DeleteWebhookSubscriptionInput, inputs.DeleteWebhookSubscription)
check_input(RotateWebhookSecretInput, inputs.RotateWebhookSecret)
check_input(RedeliverWebhookInput, inputs.RedeliverWebhook)
check_values(WebhookEventType, inputs.WebhookEventType)
check_values(WebhookDeliveryStatus, inputs.WebhookDeliveryStatus)
