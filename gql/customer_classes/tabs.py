"""Output types of the tabs of a customer class (SPEC §5), built from the stored tabs
document (``tenancy.documents``). Field names are the document's keys, so a tab could be
built with ``Type(**doc)``; each is built by its ``of(doc)`` instead, naming every key, so
that mypy checks each name against both the document and the type.

Stored enum values and decimals are strings; they are passed as they are (``cast``),
since Strawberry serializes an enum field from its value as well as from its member."""

from __future__ import annotations

from enum import Enum
from typing import cast, get_args

import strawberry

from gql.catalogs.types import CustomFieldDefinition, CustomTax, InvoiceTemplate, NotificationSet
from gql.common import Decimal
from gql.context import Info
from tenancy import documents
from tenancy.tabs import NOTIFICATION_TYPES, default_channel


@strawberry.enum
class StatisticsDelivery(Enum):
    FULL_STATISTICS = "FULL_STATISTICS"
    SUMMARY_ONLY = "SUMMARY_ONLY"
    DO_NOT_SEND = "DO_NOT_SEND"


@strawberry.enum
class BillingPeriodClosure(Enum):
    AFTER_GLOBAL_DELAY = strawberry.enum_value(
        "AFTER_GLOBAL_DELAY",
        description="Closed after the global delay once the period ends at midnight.",
    )
    WITH_EXTRA_DELAY = strawberry.enum_value(
        "WITH_EXTRA_DELAY", description="Closed after the global delay plus closeDelayHours."
    )
    UPON_ADMINISTRATOR_APPROVAL = strawberry.enum_value(
        "UPON_ADMINISTRATOR_APPROVAL",
        description="Held open until an administrator approves the closure.",
    )


@strawberry.enum
class RoundingMethod(Enum):
    AWAY_FROM_ZERO = "AWAY_FROM_ZERO"
    HALF_AWAY_FROM_ZERO = "HALF_AWAY_FROM_ZERO"
    HALF_EVEN = "HALF_EVEN"
    TOWARDS_ZERO = "TOWARDS_ZERO"
    SPECIAL_MALAYSIAN = strawberry.enum_value(
        "SPECIAL_MALAYSIAN",
        description="Formerly custom rounding: depends on the last decimal at the precision point.",
    )


@strawberry.enum
class MeasuredParameter(Enum):
    ACTIVE_CALLS = "ACTIVE_CALLS"
    CONCURRENT_CALLS = "CONCURRENT_CALLS"
    PBX_EXTENSIONS = "PBX_EXTENSIONS"


@strawberry.enum
class MeasuredChargeBasis(Enum):
    DO_NOT_CHARGE = "DO_NOT_CHARGE"
    AVERAGE = "AVERAGE"
    MAXIMUM = "MAXIMUM"
    MINIMUM = "MINIMUM"


@strawberry.enum(
    description="What a notification is about. The reminder and notice day lists of the"
    " invoice tabs schedule DUE_DATE_APPROACHING, SERVICE_LIMITATION_APPROACHING,"
    " SUSPENSION_APPROACHING and TERMINATION_APPROACHING: those types must be sent (and a"
    " notification set chosen) for the messages to reach anyone."
)
class NotificationType(Enum):
    INVOICE_ISSUED = "INVOICE_ISSUED"
    DUE_DATE_APPROACHING = "DUE_DATE_APPROACHING"
    INVOICE_OVERDUE = "INVOICE_OVERDUE"
    LATE_FEE_APPLIED = "LATE_FEE_APPLIED"
    SERVICE_LIMITATION_APPROACHING = "SERVICE_LIMITATION_APPROACHING"
    SERVICE_LIMITED = "SERVICE_LIMITED"
    SUSPENSION_APPROACHING = "SUSPENSION_APPROACHING"
    SERVICE_SUSPENDED = "SERVICE_SUSPENDED"
    TERMINATION_APPROACHING = "TERMINATION_APPROACHING"
    CUSTOMER_TERMINATED = "CUSTOMER_TERMINATED"
    PAYMENT_RECEIVED = "PAYMENT_RECEIVED"
    AUTO_CHARGE_FAILED = "AUTO_CHARGE_FAILED"
    LOW_BALANCE = "LOW_BALANCE"
    STATISTICS_READY = "STATISTICS_READY"
    FRAUD_SPENDING_WARNING = "FRAUD_SPENDING_WARNING"


# The tabs' own order is the enum's order (outputs list every type in it).
if tuple(NotificationType.__members__) != NOTIFICATION_TYPES:  # pragma: no cover
    raise RuntimeError("NotificationType and tenancy.tabs.NOTIFICATION_TYPES differ")


@strawberry.enum
class TemplateOrigin(Enum):
    SYSTEM = "SYSTEM"
    CUSTOM = "CUSTOM"


@strawberry.enum
class InvoicePdfGeneration(Enum):
    AT_END_OF_BILLING_PERIOD = "AT_END_OF_BILLING_PERIOD"
    POSTPONED_BY_RESOURCE_AVAILABILITY = "POSTPONED_BY_RESOURCE_AVAILABILITY"
    ON_DEMAND = "ON_DEMAND"


@strawberry.enum
class RegularInvoiceDelivery(Enum):
    AUTOMATICALLY = "AUTOMATICALLY"
    AFTER_ADMINISTRATOR_REVIEW = "AFTER_ADMINISTRATOR_REVIEW"


@strawberry.enum
class OutOfTurnInvoiceDelivery(Enum):
    AUTOMATICALLY = "AUTOMATICALLY"
    NEVER = "NEVER"


@strawberry.enum
class AutoChargeTiming(Enum):
    UPON_INVOICE_GENERATION = "UPON_INVOICE_GENERATION"
    UPON_DUE_DATE = "UPON_DUE_DATE"


@strawberry.enum
class TaxationMethod(Enum):
    NO_TAXATION = "NO_TAXATION"
    FIXED_VAT_RATE = "FIXED_VAT_RATE"
    CUSTOM_TAXATION = "CUSTOM_TAXATION"
    EZTAX = "EZTAX"
    SURETAX = "SURETAX"
    AVALARA = "AVALARA"
    GST = "GST"


@strawberry.enum
class TaxAssessment(Enum):
    AT_END_OF_BILLING_PERIOD = "AT_END_OF_BILLING_PERIOD"
    AT_TIME_OF_PAYMENT = strawberry.enum_value(
        "AT_TIME_OF_PAYMENT",
        description="Prepaid customers are taxed when they pay; postpaid at the end of the period.",
    )


# Each GraphQL enum lists exactly the values its tenancy.documents Literal allows, in order.
_VALUE_SETS: tuple[tuple[type[Enum], object], ...] = (
    (StatisticsDelivery, documents.StatisticsDelivery),
    (BillingPeriodClosure, documents.BillingPeriodClosure),
    (RoundingMethod, documents.RoundingMethod),
    (MeasuredParameter, documents.MeasuredParameter),
    (MeasuredChargeBasis, documents.MeasuredChargeBasis),
    (NotificationType, documents.NotificationType),
    (TemplateOrigin, documents.TemplateOrigin),
    (InvoicePdfGeneration, documents.InvoicePdfGeneration),
    (RegularInvoiceDelivery, documents.RegularInvoiceDelivery),
    (OutOfTurnInvoiceDelivery, documents.OutOfTurnInvoiceDelivery),
    (AutoChargeTiming, documents.AutoChargeTiming),
    (TaxationMethod, documents.TaxationMethod),
    (TaxAssessment, documents.TaxAssessment),
)
for _enum, _values in _VALUE_SETS:
    if tuple(member.value for member in _enum) != get_args(_values):  # pragma: no cover
        raise RuntimeError(f"{_enum.__name__} and tenancy.documents.{_enum.__name__} differ")


@strawberry.type
class GeneralInfo:
    generateStatistics: bool = strawberry.field(
        description="Statistics (xDR) generation; shown as Archive xDRs on the list page."
    )
    sendStatistics: StatisticsDelivery = strawberry.field(
        description="Must be DO_NOT_SEND while generateStatistics is off."
    )
    billingPeriodClosure: BillingPeriodClosure
    closeDelayHours: int | None = strawberry.field(description="Only with WITH_EXTRA_DELAY.")
    roundingMethod: RoundingMethod
    roundingPrecision: int = strawberry.field(
        description="Decimal places kept when rounding, 0..6."
    )
    suspendOnInsufficientFunds: bool = strawberry.field(
        description="Prepaid customers whose funds do not cover subscriptions are suspended."
    )
    billedExternally: bool = strawberry.field(
        description="Postpaid customers are billed by an external system."
    )
    resetBalanceEveryPeriod: bool = strawberry.field(description="Only with billedExternally.")
    hideBalanceResetXdr: bool = strawberry.field(description="Only with resetBalanceEveryPeriod.")

    @classmethod
    def of(cls, doc: documents.GeneralInfo) -> GeneralInfo:
        return cls(
            generateStatistics=doc["generateStatistics"],
            sendStatistics=cast(StatisticsDelivery, doc["sendStatistics"]),
            billingPeriodClosure=cast(BillingPeriodClosure, doc["billingPeriodClosure"]),
            closeDelayHours=doc["closeDelayHours"],
            roundingMethod=cast(RoundingMethod, doc["roundingMethod"]),
            roundingPrecision=doc["roundingPrecision"],
            suspendOnInsufficientFunds=doc["suspendOnInsufficientFunds"],
            billedExternally=doc["billedExternally"],
            resetBalanceEveryPeriod=doc["resetBalanceEveryPeriod"],
            hideBalanceResetXdr=doc["hideBalanceResetXdr"],
        )


@strawberry.type
class MeasuredService:
    parameter: MeasuredParameter = strawberry.field(
        description="Each parameter appears at most once per class."
    )
    chargeBasedOn: MeasuredChargeBasis
    pricePerItem: Decimal
    itemsFreeOfCharge: int
    rateCode: str | None
    service: str | None

    @classmethod
    def of(cls, doc: documents.MeasuredService) -> MeasuredService:
        return cls(
            parameter=cast(MeasuredParameter, doc["parameter"]),
            chargeBasedOn=cast(MeasuredChargeBasis, doc["chargeBasedOn"]),
            pricePerItem=Decimal(doc["pricePerItem"]),
            itemsFreeOfCharge=doc["itemsFreeOfCharge"],
            rateCode=doc["rateCode"],
            service=doc["service"],
        )


@strawberry.type
class NotificationChannelSetting:
    send: bool
    template: TemplateOrigin

    @classmethod
    def of(cls, doc: documents.ChannelSetting) -> NotificationChannelSetting:
        return cls(send=doc["send"], template=cast(TemplateOrigin, doc["template"]))


@strawberry.type
class NotificationSetting:
    type: NotificationType
    email: NotificationChannelSetting
    sms: NotificationChannelSetting


@strawberry.type
class NotificationSettings:
    notificationSetId: strawberry.Private[int | None]
    settings: list[NotificationSetting] = strawberry.field(
        description="One entry per NotificationType, in enum order, always complete."
    )

    @strawberry.field(description="Notifications are active only when a set is chosen.")
    async def notificationSet(self, info: Info) -> NotificationSet | None:
        if self.notificationSetId is None:
            return None
        row = await info.context.loaders.catalog("NotificationSet").load(self.notificationSetId)
        return row and NotificationSet.of(row)

    @classmethod
    def of(cls, doc: documents.Notifications) -> NotificationSettings:
        # (.get: a row written by an older version may lack a key; it reads as default)
        stored = doc.get("settings") or {}
        settings = []
        for kind in NOTIFICATION_TYPES:
            entry = stored.get(kind)
            email = entry.get("email") if entry else None
            sms = entry.get("sms") if entry else None
            settings.append(
                NotificationSetting(
                    type=cast(NotificationType, kind),
                    email=NotificationChannelSetting.of(email or default_channel()),
                    sms=NotificationChannelSetting.of(sms or default_channel()),
                )
            )
        return cls(notificationSetId=doc.get("notificationSetId"), settings=settings)


@strawberry.type
class PaymentTerms:
    netDays: int = strawberry.field(description="0 means due upon receipt.")
    dueDateReminderDays: list[int] = strawberry.field(
        description="Days before the due date to remind the customer, strictly decreasing;"
        " empty when netDays is 0. DUE_DATE_APPROACHING must be sent for them to reach anyone."
    )
    autoCharge: bool
    autoChargeTiming: AutoChargeTiming

    @classmethod
    def of(cls, doc: documents.PaymentTerms) -> PaymentTerms:
        return cls(
            netDays=doc["netDays"],
            dueDateReminderDays=doc["dueDateReminderDays"],
            autoCharge=doc["autoCharge"],
            autoChargeTiming=cast(AutoChargeTiming, doc["autoChargeTiming"]),
        )


@strawberry.type(
    description="Past-due steps, each optional (null = off); day offsets count from the due"
    " date and must increase: limit < suspend < terminate."
)
class PastDuePolicy:
    collectionThreshold: Decimal = strawberry.field(
        description="Owed amounts at or below this are not collected."
    )
    resendInvoiceDays: list[int]
    lateFee: Decimal | None
    limitServiceAfterDays: int | None
    limitationNoticeDays: list[int]
    suspendAfterDays: int | None
    suspensionNoticeDays: list[int]
    reactivationFee: Decimal | None
    terminateAfterDays: int | None
    terminationNoticeDays: list[int]
    terminateCommitments: bool
    restoreAfterPartialPayment: bool

    @classmethod
    def of(cls, doc: documents.PastDuePolicy) -> PastDuePolicy:
        return cls(
            collectionThreshold=Decimal(doc["collectionThreshold"]),
            resendInvoiceDays=doc["resendInvoiceDays"],
            lateFee=cast("Decimal | None", doc["lateFee"]),
            limitServiceAfterDays=doc["limitServiceAfterDays"],
            limitationNoticeDays=doc["limitationNoticeDays"],
            suspendAfterDays=doc["suspendAfterDays"],
            suspensionNoticeDays=doc["suspensionNoticeDays"],
            reactivationFee=cast("Decimal | None", doc["reactivationFee"]),
            terminateAfterDays=doc["terminateAfterDays"],
            terminationNoticeDays=doc["terminationNoticeDays"],
            terminateCommitments=doc["terminateCommitments"],
            restoreAfterPartialPayment=doc["restoreAfterPartialPayment"],
        )


async def _template(info: Info, key: int | None) -> InvoiceTemplate | None:
    if key is None:
        return None
    row = await info.context.loaders.catalog("InvoiceTemplate").load(key)
    return row and InvoiceTemplate.of(row)


@strawberry.type
class RegularInvoices:
    invoiceTemplateId: strawberry.Private[int | None]
    enabled: bool
    pdfGeneration: InvoicePdfGeneration
    delivery: RegularInvoiceDelivery
    holdForReviewDays: int | None = strawberry.field(
        description="Only with AFTER_ADMINISTRATOR_REVIEW; unapproved invoices are sent after"
        " this many days."
    )
    paymentTerms: PaymentTerms
    pastDue: PastDuePolicy

    @strawberry.field(
        description="Null means do not create invoice documents (xDR summaries only)."
    )
    async def invoiceTemplate(self, info: Info) -> InvoiceTemplate | None:
        return await _template(info, self.invoiceTemplateId)

    @classmethod
    def of(cls, doc: documents.RegularInvoices) -> RegularInvoices:
        return cls(
            invoiceTemplateId=doc["invoiceTemplateId"],
            enabled=doc["enabled"],
            pdfGeneration=cast(InvoicePdfGeneration, doc["pdfGeneration"]),
            delivery=cast(RegularInvoiceDelivery, doc["delivery"]),
            holdForReviewDays=doc["holdForReviewDays"],
            paymentTerms=PaymentTerms.of(doc["paymentTerms"]),
            pastDue=PastDuePolicy.of(doc["pastDue"]),
        )


@strawberry.type
class OutOfTurnInvoices:
    invoiceTemplateId: strawberry.Private[int | None]
    enabled: bool
    delivery: OutOfTurnInvoiceDelivery
    separateInvoiceForRecurringFees: bool
    paymentTerms: PaymentTerms
    pastDue: PastDuePolicy

    @strawberry.field
    async def invoiceTemplate(self, info: Info) -> InvoiceTemplate | None:
        return await _template(info, self.invoiceTemplateId)

    @classmethod
    def of(cls, doc: documents.OutOfTurnInvoices) -> OutOfTurnInvoices:
        return cls(
            invoiceTemplateId=doc["invoiceTemplateId"],
            enabled=doc["enabled"],
            delivery=cast(OutOfTurnInvoiceDelivery, doc["delivery"]),
            separateInvoiceForRecurringFees=doc["separateInvoiceForRecurringFees"],
            paymentTerms=PaymentTerms.of(doc["paymentTerms"]),
            pastDue=PastDuePolicy.of(doc["pastDue"]),
        )


@strawberry.type
class Taxation:
    customTaxIds: strawberry.Private[list[int]]
    method: TaxationMethod
    assessTaxes: bool
    taxesIncludedInRates: bool = strawberry.field(
        description="Taxes are already inside rates and fees (back-calculated)"
        " rather than added on top."
    )
    assessment: TaxAssessment
    vatRatePercent: Decimal | None = strawberry.field(description="FIXED_VAT_RATE only.")
    taxName: str | None = strawberry.field(description="FIXED_VAT_RATE only, e.g. VAT.")

    @strawberry.field(description="CUSTOM_TAXATION only.")
    async def customTaxes(self, info: Info) -> list[CustomTax]:
        rows = await info.context.loaders.catalog("CustomTax").load_many(self.customTaxIds)
        return [CustomTax.of(row) for row in rows if row is not None]

    @classmethod
    def of(cls, doc: documents.Taxation) -> Taxation:
        return cls(
            customTaxIds=doc["customTaxIds"],
            method=cast(TaxationMethod, doc["method"]),
            assessTaxes=doc["assessTaxes"],
            taxesIncludedInRates=doc["taxesIncludedInRates"],
            assessment=cast(TaxAssessment, doc["assessment"]),
            vatRatePercent=cast("Decimal | None", doc["vatRatePercent"]),
            taxName=doc["taxName"],
        )


@strawberry.type
class FraudProtection:
    dailySpendingThreshold: Decimal | None
    checkRemainingFunds: bool
    sendWarning: bool
    warningThresholdPercent: int | None

    @classmethod
    def of(cls, doc: documents.FraudProtection) -> FraudProtection:
        return cls(
            dailySpendingThreshold=cast("Decimal | None", doc["dailySpendingThreshold"]),
            checkRemainingFunds=doc["checkRemainingFunds"],
            sendWarning=doc["sendWarning"],
            warningThresholdPercent=doc["warningThresholdPercent"],
        )


@strawberry.type
class Tabs:
    """Fields shared by CustomerClass and EffectiveSettings: the tabs of a document that
    the concrete type provides through ``tab_document()``."""

    def tab_document(self) -> documents.Tabs:  # pragma: no cover - overridden
        raise NotImplementedError

    @strawberry.field
    def generalInfo(self) -> GeneralInfo:
        return GeneralInfo.of(self.tab_document()["generalInfo"])

    @strawberry.field
    def measuredServices(self) -> list[MeasuredService]:
        return [MeasuredService.of(item) for item in self.tab_document()["measuredServices"]]

    @strawberry.field
    def notifications(self) -> NotificationSettings:
        return NotificationSettings.of(self.tab_document()["notifications"])

    @strawberry.field
    def outOfTurnInvoices(self) -> OutOfTurnInvoices:
        return OutOfTurnInvoices.of(self.tab_document()["outOfTurnInvoices"])

    @strawberry.field
    def regularInvoices(self) -> RegularInvoices:
        return RegularInvoices.of(self.tab_document()["regularInvoices"])

    @strawberry.field
    def taxation(self) -> Taxation:
        return Taxation.of(self.tab_document()["taxation"])

    @strawberry.field(description="Enabled custom fields, by name then id.")
    async def customFields(self, info: Info) -> list[CustomFieldDefinition]:
        keys = self.tab_document()["customFieldIds"]
        rows = [
            r
            for r in await info.context.loaders.catalog("CustomFieldDefinition").load_many(keys)
            if r
        ]
        rows.sort(key=lambda row: (row.name_key, row.id))
        return [CustomFieldDefinition.of(row) for row in rows]

    @strawberry.field(description="Null for a class without currency; always present otherwise.")
    def fraudProtection(self) -> FraudProtection | None:
        doc = self.tab_document()["fraudProtection"]
        return None if doc is None else FraudProtection.of(doc)


TAB_FIELDS = frozenset(
    {
        "generalInfo",
        "measuredServices",
        "notifications",
        "outOfTurnInvoices",
        "regularInvoices",
        "taxation",
        "customFields",
        "fraudProtection",
    }
)
