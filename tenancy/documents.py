"""The shape of a customer class's tabs document (SPEC §5), as mypy sees it.

The document is stored as JSON, one column per tab, in the shape of the GraphQL output:
camelCase keys (so ``Type(**doc)`` builds an output type), money and percentages as exact
decimal strings, referenced catalog entries as raw integer keys under ``...Id``/``...Ids``,
enum values as their names. Each ``TypedDict`` below is one object of that document, so a
misspelt key (``doc["generalInfo"]["sendStatistic"]``) or value
(``== "AFTER_ADMINISTRATOR_REVEIW"``: strict equality) is a mypy error.

The ``Literal`` sets are the closed value sets of the GraphQL enums of the same names;
``gql.customer_classes.tabs`` checks at import that each enum lists exactly these values.
"""

from __future__ import annotations

from typing import Literal, TypedDict

# --------------------------------------------------------------------------- value sets

StatisticsDelivery = Literal["FULL_STATISTICS", "SUMMARY_ONLY", "DO_NOT_SEND"]
BillingPeriodClosure = Literal[
    "AFTER_GLOBAL_DELAY", "WITH_EXTRA_DELAY", "UPON_ADMINISTRATOR_APPROVAL"
]
RoundingMethod = Literal[
    "AWAY_FROM_ZERO", "HALF_AWAY_FROM_ZERO", "HALF_EVEN", "TOWARDS_ZERO", "SPECIAL_MALAYSIAN"
]
MeasuredParameter = Literal["ACTIVE_CALLS", "CONCURRENT_CALLS", "PBX_EXTENSIONS"]
MeasuredChargeBasis = Literal["DO_NOT_CHARGE", "AVERAGE", "MAXIMUM", "MINIMUM"]
NotificationType = Literal[
    "INVOICE_ISSUED",
    "DUE_DATE_APPROACHING",
    "INVOICE_OVERDUE",
    "LATE_FEE_APPLIED",
    "SERVICE_LIMITATION_APPROACHING",
    "SERVICE_LIMITED",
    "SUSPENSION_APPROACHING",
    "SERVICE_SUSPENDED",
    "TERMINATION_APPROACHING",
    "CUSTOMER_TERMINATED",
    "PAYMENT_RECEIVED",
    "AUTO_CHARGE_FAILED",
    "LOW_BALANCE",
    "STATISTICS_READY",
    "FRAUD_SPENDING_WARNING",
]
NotificationChannel = Literal["email", "sms"]
TemplateOrigin = Literal["SYSTEM", "CUSTOM"]
InvoicePdfGeneration = Literal[
    "AT_END_OF_BILLING_PERIOD", "POSTPONED_BY_RESOURCE_AVAILABILITY", "ON_DEMAND"
]
RegularInvoiceDelivery = Literal["AUTOMATICALLY", "AFTER_ADMINISTRATOR_REVIEW"]
OutOfTurnInvoiceDelivery = Literal["AUTOMATICALLY", "NEVER"]
AutoChargeTiming = Literal["UPON_INVOICE_GENERATION", "UPON_DUE_DATE"]
TaxationMethod = Literal[
    "NO_TAXATION", "FIXED_VAT_RATE", "CUSTOM_TAXATION", "EZTAX", "SURETAX", "AVALARA", "GST"
]
TaxAssessment = Literal["AT_END_OF_BILLING_PERIOD", "AT_TIME_OF_PAYMENT"]
# What a custom tax applies to (CustomTaxAppliedTo).
TaxAppliedTo = Literal["ALL_CHARGES", "SUBSCRIPTIONS", "USAGE"]

# Tab keys of the document, in output order.
TabKey = Literal[
    "generalInfo",
    "measuredServices",
    "notifications",
    "regularInvoices",
    "outOfTurnInvoices",
    "taxation",
    "customFieldIds",
    "fraudProtection",
]
# The keys of the two invoice tabs, which share payment terms and a past-due policy.
InvoiceTab = Literal["regularInvoices", "outOfTurnInvoices"]

# A decimal number written as a string, e.g. "12.50" (see tenancy.fields.check_money).
DecimalString = str


# --------------------------------------------------------------------------- tabs


class GeneralInfo(TypedDict):
    """The General info tab: statistics, billing-period closure, rounding, balances."""

    generateStatistics: bool
    sendStatistics: StatisticsDelivery
    billingPeriodClosure: BillingPeriodClosure
    closeDelayHours: int | None
    roundingMethod: RoundingMethod
    roundingPrecision: int
    suspendOnInsufficientFunds: bool
    billedExternally: bool
    resetBalanceEveryPeriod: bool
    hideBalanceResetXdr: bool


class MeasuredService(TypedDict):
    """One entry of the Measured services tab; each parameter appears at most once."""

    parameter: MeasuredParameter
    chargeBasedOn: MeasuredChargeBasis
    pricePerItem: DecimalString
    itemsFreeOfCharge: int
    rateCode: str | None
    service: str | None


class ChannelSetting(TypedDict):
    """Whether one notification type is sent on one channel, and with which template."""

    send: bool
    template: TemplateOrigin


class NotificationSetting(TypedDict):
    """The channels of one notification type."""

    email: ChannelSetting
    sms: ChannelSetting


class Notifications(TypedDict):
    """The Notifications tab: the set, and every type's channels keyed by type.

    ``settings`` is stored keyed by type (the output lists it in enum order); a row
    written by an older version may lack a type, which reads as its default."""

    notificationSetId: int | None
    settings: dict[NotificationType, NotificationSetting]


class PaymentTerms(TypedDict):
    """Payment terms of an invoice tab."""

    netDays: int
    dueDateReminderDays: list[int]
    autoCharge: bool
    autoChargeTiming: AutoChargeTiming


class PastDuePolicy(TypedDict):
    """Past-due steps of an invoice tab; each ``...AfterDays`` is None when off."""

    collectionThreshold: DecimalString
    resendInvoiceDays: list[int]
    lateFee: DecimalString | None
    limitServiceAfterDays: int | None
    limitationNoticeDays: list[int]
    suspendAfterDays: int | None
    suspensionNoticeDays: list[int]
    reactivationFee: DecimalString | None
    terminateAfterDays: int | None
    terminationNoticeDays: list[int]
    terminateCommitments: bool
    restoreAfterPartialPayment: bool


class InvoiceTerms(TypedDict):
    """What both invoice tabs hold (``copyRegularInvoiceSettingsToOutOfTurn`` copies it)."""

    enabled: bool
    invoiceTemplateId: int | None
    paymentTerms: PaymentTerms
    pastDue: PastDuePolicy


class RegularInvoices(InvoiceTerms):
    """The Regular invoices tab."""

    pdfGeneration: InvoicePdfGeneration
    delivery: RegularInvoiceDelivery
    holdForReviewDays: int | None


class OutOfTurnInvoices(InvoiceTerms):
    """The Out-of-turn invoices tab."""

    delivery: OutOfTurnInvoiceDelivery
    separateInvoiceForRecurringFees: bool


class Taxation(TypedDict):
    """The Taxation tab; ``vatRatePercent`` is a decimal string."""

    method: TaxationMethod
    assessTaxes: bool
    taxesIncludedInRates: bool
    assessment: TaxAssessment
    vatRatePercent: DecimalString | None
    taxName: str | None
    customTaxIds: list[int]


class FraudProtection(TypedDict):
    """The Fraud protection tab (only for a class with a currency)."""

    dailySpendingThreshold: DecimalString | None
    checkRemainingFunds: bool
    sendWarning: bool
    warningThresholdPercent: int | None


class Tabs(TypedDict):
    """Every tab of a class: the document stored in the tab columns of customer_class.

    ``customFieldIds`` is the Custom fields tab (sorted keys of enabled definitions);
    ``fraudProtection`` is None exactly when the class has no currency."""

    generalInfo: GeneralInfo
    measuredServices: list[MeasuredService]
    notifications: Notifications
    regularInvoices: RegularInvoices
    outOfTurnInvoices: OutOfTurnInvoices
    taxation: Taxation
    customFieldIds: list[int]
    fraudProtection: FraudProtection | None
