from __future__ import annotations

from typing import Annotated, Any

import strawberry

from gql import mutation
from gql.common import INPUT, UserError
from gql.context import Info
from gql.webhooks.inputs import (
    CreateWebhookSubscriptionInput,
    DeleteWebhookSubscriptionInput,
    RedeliverWebhookInput,
    RotateWebhookSecretInput,
    UpdateWebhookSubscriptionInput,
)
from gql.webhooks.types import WebhookDelivery, WebhookSubscription
from tenancy import webhooks

USER_ERRORS = "Why the input was refused; empty on success."


@strawberry.type(description="The result of a webhook subscription mutation.")
class WebhookSubscriptionPayload:
    webhookSubscription: WebhookSubscription | None = strawberry.field(
        description="The subscription as the mutation left it (deleteWebhookSubscription: as"
        " it was); null when the input was refused."
    )
    secret: str | None = strawberry.field(
        description="The signing secret (whsec_...), shown only by create and rotate. Verify"
        " the webhook-signature header with it using any Standard Webhooks library; it is"
        " stored encrypted and never shown again."
    )
    userErrors: list[UserError] = strawberry.field(description=USER_ERRORS)


@strawberry.type(description="The result of redeliverWebhook.")
class WebhookDeliveryPayload:
    delivery: WebhookDelivery | None = strawberry.field(
        description="The delivery, queued again; null when the input was refused."
    )
    userErrors: list[UserError] = strawberry.field(description=USER_ERRORS)


def _with_secret(result: Any, errors: list[UserError]) -> WebhookSubscriptionPayload:
    if result is None:
        return WebhookSubscriptionPayload(webhookSubscription=None, secret=None, userErrors=errors)
    row, secret = result
    return WebhookSubscriptionPayload(
        webhookSubscription=WebhookSubscription.of(row), secret=secret, userErrors=errors
    )


def _without_secret(row: Any, errors: list[UserError]) -> WebhookSubscriptionPayload:
    return WebhookSubscriptionPayload(
        webhookSubscription=row and WebhookSubscription.of(row), secret=None, userErrors=errors
    )


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        description="Subscribe the caller's tenant to change events: at most 10 subscriptions"
        ' per tenant (OUT_OF_RANGE on ["input"]). Returns the signing secret, shown only'
        " here. Audited as CREATE (never the secret)."
    )
    async def createWebhookSubscription(
        self, info: Info, input: Annotated[CreateWebhookSubscriptionInput, INPUT]
    ) -> WebhookSubscriptionPayload:
        return await mutation.run(info, webhooks.create_webhook_subscription, input, _with_secret)

    @strawberry.mutation(
        description="Change a subscription's url, events, active flag or description. Audited"
        " as UPDATE with what changed (nothing changed: no event)."
    )
    async def updateWebhookSubscription(
        self, info: Info, input: Annotated[UpdateWebhookSubscriptionInput, INPUT]
    ) -> WebhookSubscriptionPayload:
        return await mutation.run(
            info, webhooks.update_webhook_subscription, input, _without_secret
        )

    @strawberry.mutation(
        description="Delete a subscription and its deliveries; nothing more is sent to it."
        " Audited as DELETE."
    )
    async def deleteWebhookSubscription(
        self, info: Info, input: Annotated[DeleteWebhookSubscriptionInput, INPUT]
    ) -> WebhookSubscriptionPayload:
        return await mutation.run(
            info, webhooks.delete_webhook_subscription, input, _without_secret
        )

    @strawberry.mutation(
        description="Replace the signing secret, returned once. For 24 hours every delivery"
        " carries two signatures (new and old secret), so receivers can switch without"
        " losing events. Audited as UPDATE (secretRotatedAt; never a secret)."
    )
    async def rotateWebhookSecret(
        self, info: Info, input: Annotated[RotateWebhookSecretInput, INPUT]
    ) -> WebhookSubscriptionPayload:
        return await mutation.run(info, webhooks.rotate_webhook_secret, input, _with_secret)

    @strawberry.mutation(
        description="Queue a new attempt of a delivery now, with the same eventId (the"
        " webhook-id), whatever its status; retries then run for 3 more days. Sent once its"
        " subscription is active."
    )
    async def redeliverWebhook(
        self, info: Info, input: Annotated[RedeliverWebhookInput, INPUT]
    ) -> WebhookDeliveryPayload:
        return await mutation.run(
            info,
            webhooks.redeliver_webhook,
            input,
            lambda row, errors: WebhookDeliveryPayload(
                delivery=row and WebhookDelivery.of(row), userErrors=errors
            ),
        )
