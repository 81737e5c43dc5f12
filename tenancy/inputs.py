"""The inputs the use-cases take, as mypy sees them: one ``TypedDict`` per GraphQL input.

The GraphQL layer hands each use-case its input as plain data (``gql.common.patch_of``):
the input's camelCase keys, an omitted field absent (``NotRequired``), an explicit null
None, enums as their value (``Literal``), IDs as the global ID text the client sent,
nested inputs as dicts. Values are not yet validated: the use-case checks them and
reports each problem on its input path, so a misspelt key (``data["resellerID"]``) is a
mypy error rather than a field the use-case silently never sees.

``Decimal`` and ``DateTime`` inputs reach the use-case untouched (SPEC §5 "Numbers"), so
their values are typed ``object`` here: ``tenancy.fields`` parses them.
``gql.input_shapes`` checks at import that each GraphQL input has exactly these keys.
"""

# (No ``from __future__ import annotations``: TypedDict reads NotRequired from evaluated
# annotations only, and gql.input_shapes relies on __required_keys__.)
from typing import Literal, NotRequired, TypedDict

from tenancy import documents

# A raw Decimal or DateTime input value, parsed by tenancy.fields.
Raw = object

Role = Literal["ADMINISTRATOR", "RESELLER"]
CustomerType = Literal["RETAIL", "RESELLER"]
ManagerKind = Literal["ADMINISTRATOR", "RESELLER"]
InvoicingPreference = Literal["INVOICING_ENABLED", "REGULAR_ONLY", "OUT_OF_TURN_ONLY", "DISABLED"]
CustomFieldObject = Literal["CUSTOMER", "ACCOUNT"]
CustomFieldType = Literal["TEXT", "NUMBER", "DATE", "DATE_TIME", "LIST"]


# --------------------------------------------------------------------------- class tabs
# A tab patch names only the fields it changes; null clears a nullable field.


class GeneralInfoPatch(TypedDict, total=False):
    """Changes to the General info tab (``documents.GeneralInfo``)."""

    generateStatistics: bool | None
    sendStatistics: documents.StatisticsDelivery | None
    billingPeriodClosure: documents.BillingPeriodClosure | None
    closeDelayHours: int | None
    roundingMethod: documents.RoundingMethod | None
    roundingPrecision: int | None
    suspendOnInsufficientFunds: bool | None
    billedExternally: bool | None
    resetBalanceEveryPeriod: bool | None
    hideBalanceResetXdr: bool | None


class MeasuredServiceInput(TypedDict):
    """One measured service; the list replaces the tab as a whole."""

    parameter: documents.MeasuredParameter
    chargeBasedOn: documents.MeasuredChargeBasis
    pricePerItem: Raw
    itemsFreeOfCharge: NotRequired[int]  # 0 when omitted
    rateCode: NotRequired[str | None]
    service: NotRequired[str | None]


class ChannelPatch(TypedDict):
    """One channel of one notification type."""

    send: bool
    template: NotRequired[documents.TemplateOrigin | None]


class NotificationSettingPatch(TypedDict):
    """The channels of one notification type; only the listed channels change."""

    type: documents.NotificationType
    email: NotRequired[ChannelPatch | None]
    sms: NotRequired[ChannelPatch | None]


class NotificationsPatch(TypedDict, total=False):
    """Changes to the Notifications tab: the set, and the listed types only."""

    notificationSetId: str | None
    settings: list[NotificationSettingPatch] | None


class PaymentTermsPatch(TypedDict, total=False):
    netDays: int | None
    dueDateReminderDays: list[int] | None
    autoCharge: bool | None
    autoChargeTiming: documents.AutoChargeTiming | None


class PastDuePolicyPatch(TypedDict, total=False):
    collectionThreshold: Raw | None
    resendInvoiceDays: list[int] | None
    lateFee: Raw | None
    limitServiceAfterDays: int | None
    limitationNoticeDays: list[int] | None
    suspendAfterDays: int | None
    suspensionNoticeDays: list[int] | None
    reactivationFee: Raw | None
    terminateAfterDays: int | None
    terminationNoticeDays: list[int] | None
    terminateCommitments: bool | None
    restoreAfterPartialPayment: bool | None


class RegularInvoicesPatch(TypedDict, total=False):
    enabled: bool | None
    invoiceTemplateId: str | None
    pdfGeneration: documents.InvoicePdfGeneration | None
    delivery: documents.RegularInvoiceDelivery | None
    holdForReviewDays: int | None
    paymentTerms: PaymentTermsPatch | None
    pastDue: PastDuePolicyPatch | None


class OutOfTurnInvoicesPatch(TypedDict, total=False):
    enabled: bool | None
    invoiceTemplateId: str | None
    delivery: documents.OutOfTurnInvoiceDelivery | None
    separateInvoiceForRecurringFees: bool | None
    paymentTerms: PaymentTermsPatch | None
    pastDue: PastDuePolicyPatch | None


class TaxationPatch(TypedDict, total=False):
    method: documents.TaxationMethod | None
    assessTaxes: bool | None
    taxesIncludedInRates: bool | None
    assessment: documents.TaxAssessment | None
    vatRatePercent: Raw | None
    taxName: str | None
    customTaxIds: list[str] | None


class FraudProtectionPatch(TypedDict, total=False):
    dailySpendingThreshold: Raw | None
    checkRemainingFunds: bool | None
    sendWarning: bool | None
    warningThresholdPercent: int | None


class TabsPatch(TypedDict, total=False):
    """The tab part of a create or update input (``tenancy.tabs.apply_patch``)."""

    generalInfo: GeneralInfoPatch | None
    measuredServices: list[MeasuredServiceInput] | None
    notifications: NotificationsPatch | None
    outOfTurnInvoices: OutOfTurnInvoicesPatch | None
    regularInvoices: RegularInvoicesPatch | None
    taxation: TaxationPatch | None
    customFieldIds: list[str] | None
    fraudProtection: FraudProtectionPatch | None


# --------------------------------------------------------------------------- classes


class CreateCustomerClass(TabsPatch):
    """``createCustomerClass``: a header and any subset of the tabs."""

    name: str
    sharedWithResellers: NotRequired[bool]  # false when omitted
    description: NotRequired[str | None]
    managingResellerId: NotRequired[str | None]
    businessModelId: NotRequired[str | None]
    currencyCode: NotRequired[str | None]
    notificationSender: NotRequired[str | None]


class UpdateCustomerClass(TabsPatch):
    """``updateCustomerClass``: the class, an optional version, the fields that change."""

    id: str
    expectedVersion: NotRequired[int | None]
    name: NotRequired[str | None]
    description: NotRequired[str | None]
    notificationSender: NotRequired[str | None]
    dryRun: NotRequired[bool | None]  # read by gql.mutation only: the use-case is the same


class RevertCustomerClass(TypedDict):
    """``revertCustomerClass``: the class, the version to restore, an optional version to
    expect, and whether to only try."""

    id: str
    toVersion: int
    expectedVersion: NotRequired[int | None]
    dryRun: NotRequired[bool | None]


class CloneCustomerClass(TypedDict):
    id: str
    name: str


class DeleteCustomerClasses(TypedDict):
    ids: list[str]
    dryRun: NotRequired[bool | None]


class SetCustomerClassSharing(TypedDict):
    id: str
    shared: bool
    expectedVersion: NotRequired[int | None]
    dryRun: NotRequired[bool | None]


class CopyRegularInvoiceSettings(TypedDict):
    id: str
    expectedVersion: NotRequired[int | None]


class ApplyCustomerClasses(TypedDict):
    """``applyCustomerClasses``: a document of classes (JSON, checked by the use-case)."""

    document: object
    prune: NotRequired[bool | None]  # each false when omitted or null
    dryRun: NotRequired[bool | None]


class ManagedBy(TypedDict):
    kind: ManagerKind
    resellerId: NotRequired[str | None]


class CustomerClassFilter(TypedDict, total=False):
    """The ``filter`` of ``customerClasses`` (``includeShared`` defaults to true)."""

    nameContains: str | None
    businessModelId: str | None
    currencyCode: str | None
    managedBy: ManagedBy | None
    invoicing: InvoicingPreference | None
    taxationMethod: documents.TaxationMethod | None
    includeShared: bool


# --------------------------------------------------------------------------- customers


class CreateCustomer(TypedDict):
    name: str
    customerType: NotRequired[CustomerType]  # RETAIL when omitted
    currencyCode: str
    parentId: NotRequired[str | None]
    customerClassId: NotRequired[str | None]


class AssignCustomerClass(TypedDict):
    customerId: str
    customerClassId: NotRequired[str | None]
    dryRun: NotRequired[bool | None]


class TemplateOverride(TypedDict, total=False):
    templateId: str | None


# The keys of UpdateCustomerOverrides that override one tab field, and one template.
OverrideKey = Literal[
    "regularInvoicesEnabled",
    "outOfTurnInvoicesEnabled",
    "sendStatistics",
    "suspendOnInsufficientFunds",
]
TemplateOverrideKey = Literal["regularInvoiceTemplate", "outOfTurnInvoiceTemplate"]


class UpdateCustomerOverrides(TypedDict):
    """``updateCustomerOverrides``: null returns a field to the class value."""

    customerId: str
    regularInvoiceTemplate: NotRequired[TemplateOverride | None]
    outOfTurnInvoiceTemplate: NotRequired[TemplateOverride | None]
    regularInvoicesEnabled: NotRequired[bool | None]
    outOfTurnInvoicesEnabled: NotRequired[bool | None]
    sendStatistics: NotRequired[documents.StatisticsDelivery | None]
    suspendOnInsufficientFunds: NotRequired[bool | None]


class CustomerFilter(TypedDict, total=False):
    nameContains: str | None
    customerType: CustomerType | None
    parentId: str | None
    customerClassId: str | None


# --------------------------------------------------------------------------- tokens


class CreateApiToken(TypedDict):
    name: str
    role: Role
    resellerId: NotRequired[str | None]
    expiresAt: NotRequired[Raw | None]


class RevokeApiToken(TypedDict):
    id: str


# --------------------------------------------------------------------------- catalogs


class CreateNamedCatalogEntry(TypedDict):
    name: str


class CreateBusinessModel(TypedDict):
    code: str
    name: str


class CreateCustomTax(TypedDict):
    name: str
    ratePercent: Raw
    appliedTo: documents.TaxAppliedTo


class CreateCustomFieldDefinition(TypedDict):
    object: CustomFieldObject
    name: str
    type: CustomFieldType
    mandatory: NotRequired[bool]  # each false when omitted
    visibleToEndUser: NotRequired[bool]
    containsPersonalData: NotRequired[bool]
    listValues: NotRequired[list[str] | None]
    defaultValue: NotRequired[str | None]


# --------------------------------------------------------------------------- webhooks

WebhookEventType = Literal[
    "CUSTOMER_CLASS_CREATED",
    "CUSTOMER_CLASS_UPDATED",
    "CUSTOMER_CLASS_DELETED",
    "CUSTOMER_CLASS_SHARING_CHANGED",
    "CUSTOMER_CREATED",
    "CUSTOMER_CLASS_ASSIGNED",
    "CUSTOMER_OVERRIDES_UPDATED",
    "API_TOKEN_REVOKED",
]
WebhookDeliveryStatus = Literal["PENDING", "DELIVERED", "FAILED", "DEAD"]


class CreateWebhookSubscription(TypedDict):
    url: str
    events: list[WebhookEventType]
    description: NotRequired[str | None]


class UpdateWebhookSubscription(TypedDict):
    id: str
    url: NotRequired[str | None]
    events: NotRequired[list[WebhookEventType] | None]
    active: NotRequired[bool | None]
    description: NotRequired[str | None]


class DeleteWebhookSubscription(TypedDict):
    id: str


class RotateWebhookSecret(TypedDict):
    id: str


class RedeliverWebhook(TypedDict):
    deliveryId: str
