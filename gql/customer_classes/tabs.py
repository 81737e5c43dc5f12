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


@strawberry.enum(description="What statistics (xDRs of the period) are e-mailed to the customers.")
class StatisticsDelivery(Enum):
    FULL_STATISTICS = strawberry.enum_value(
        "FULL_STATISTICS", description="The full statistics: a .csv file of the xDRs."
    )
    SUMMARY_ONLY = strawberry.enum_value("SUMMARY_ONLY", description="A summary only.")
    DO_NOT_SEND = strawberry.enum_value(
        "DO_NOT_SEND",
        description="Nothing. The default, and the only value allowed while statistics"
        " generation is off.",
    )


@strawberry.enum(description="When a billing period is closed.")
class BillingPeriodClosure(Enum):
    AFTER_GLOBAL_DELAY = strawberry.enum_value(
        "AFTER_GLOBAL_DELAY",
        description="The period ends at midnight and is closed after the global delay of"
        " the platform's configuration. The default.",
    )
    WITH_EXTRA_DELAY = strawberry.enum_value(
        "WITH_EXTRA_DELAY",
        description="Closed after the global delay plus closeDelayHours (required with this"
        " value).",
    )
    UPON_ADMINISTRATOR_APPROVAL = strawberry.enum_value(
        "UPON_ADMINISTRATOR_APPROVAL",
        description="Held open until an administrator approves the closure, so that balance"
        " adjustments (e.g. imported xDRs) still reach the period's invoice. Not with"
        " billedExternally.",
    )


@strawberry.enum(
    description="How amounts (invoices; subscription, measured-service and other charges)"
    " are rounded to roundingPrecision decimals. Examples at 2 decimals."
)
class RoundingMethod(Enum):
    AWAY_FROM_ZERO = strawberry.enum_value(
        "AWAY_FROM_ZERO",
        description="Any remainder rounds away from zero: 1.231 -> 1.24. The default.",
    )
    HALF_AWAY_FROM_ZERO = strawberry.enum_value(
        "HALF_AWAY_FROM_ZERO",
        description="To the nearest, ties away from zero: 1.235 -> 1.24, 1.234 -> 1.23.",
    )
    HALF_EVEN = strawberry.enum_value(
        "HALF_EVEN",
        description="To the nearest, ties to the even digit (banker's rounding):"
        " 1.245 -> 1.24, 1.235 -> 1.24.",
    )
    TOWARDS_ZERO = strawberry.enum_value(
        "TOWARDS_ZERO", description="The remainder is dropped (truncation): 1.239 -> 1.23."
    )
    SPECIAL_MALAYSIAN = strawberry.enum_value(
        "SPECIAL_MALAYSIAN",
        description="Malaysian special rounding, formerly custom rounding: depends on the last"
        " decimal at the precision point.",
    )


@strawberry.enum(description="A resource measured per customer and charged per billing period.")
class MeasuredParameter(Enum):
    ACTIVE_CALLS = strawberry.enum_value(
        "ACTIVE_CALLS", description="Calls connected at the moment of measuring."
    )
    CONCURRENT_CALLS = strawberry.enum_value(
        "CONCURRENT_CALLS",
        description="Simultaneous outgoing calls allowed (the limit on simultaneous calls).",
    )
    PBX_EXTENSIONS = strawberry.enum_value(
        "PBX_EXTENSIONS", description="Extensions of the customer's PBX."
    )


@strawberry.enum(description="Which value of a measured parameter within the period is charged.")
class MeasuredChargeBasis(Enum):
    DO_NOT_CHARGE = strawberry.enum_value(
        "DO_NOT_CHARGE", description="Nothing is charged: measured for statistics only."
    )
    AVERAGE = strawberry.enum_value("AVERAGE", description="The period's average.")
    MAXIMUM = strawberry.enum_value("MAXIMUM", description="The period's maximum.")
    MINIMUM = strawberry.enum_value("MINIMUM", description="The period's minimum.")


@strawberry.enum(
    description="What a notification is about. The reminder and notice day lists of the"
    " invoice tabs schedule DUE_DATE_APPROACHING, SERVICE_LIMITATION_APPROACHING,"
    " SUSPENSION_APPROACHING and TERMINATION_APPROACHING: those types must be sent (and a"
    " notification set chosen) for the messages to reach anyone."
)
class NotificationType(Enum):
    INVOICE_ISSUED = strawberry.enum_value("INVOICE_ISSUED", description="An invoice was issued.")
    DUE_DATE_APPROACHING = strawberry.enum_value(
        "DUE_DATE_APPROACHING",
        description="An invoice falls due soon: sent on the paymentTerms.dueDateReminderDays.",
    )
    INVOICE_OVERDUE = strawberry.enum_value(
        "INVOICE_OVERDUE", description="An invoice is unpaid after its due date."
    )
    LATE_FEE_APPLIED = strawberry.enum_value(
        "LATE_FEE_APPLIED", description="The past-due policy's lateFee was charged."
    )
    SERVICE_LIMITATION_APPROACHING = strawberry.enum_value(
        "SERVICE_LIMITATION_APPROACHING",
        description="Service will be limited soon: sent on the pastDue.limitationNoticeDays.",
    )
    SERVICE_LIMITED = strawberry.enum_value(
        "SERVICE_LIMITED", description="Service was limited (pastDue.limitServiceAfterDays)."
    )
    SUSPENSION_APPROACHING = strawberry.enum_value(
        "SUSPENSION_APPROACHING",
        description="Service will be suspended soon: sent on the pastDue.suspensionNoticeDays.",
    )
    SERVICE_SUSPENDED = strawberry.enum_value(
        "SERVICE_SUSPENDED", description="Service was suspended."
    )
    TERMINATION_APPROACHING = strawberry.enum_value(
        "TERMINATION_APPROACHING",
        description="The customer will be terminated soon: sent on the"
        " pastDue.terminationNoticeDays.",
    )
    CUSTOMER_TERMINATED = strawberry.enum_value(
        "CUSTOMER_TERMINATED",
        description="The customer was terminated (pastDue.terminateAfterDays).",
    )
    PAYMENT_RECEIVED = strawberry.enum_value(
        "PAYMENT_RECEIVED", description="A payment was received."
    )
    AUTO_CHARGE_FAILED = strawberry.enum_value(
        "AUTO_CHARGE_FAILED",
        description="Charging the saved payment method (paymentTerms.autoCharge) failed.",
    )
    LOW_BALANCE = strawberry.enum_value(
        "LOW_BALANCE", description="The customer's balance is running low."
    )
    STATISTICS_READY = strawberry.enum_value(
        "STATISTICS_READY",
        description="The period's statistics are ready (generalInfo.sendStatistics).",
    )
    FRAUD_SPENDING_WARNING = strawberry.enum_value(
        "FRAUD_SPENDING_WARNING",
        description="Daily spending reached fraudProtection.warningThresholdPercent of the"
        " dailySpendingThreshold (fraudProtection.sendWarning).",
    )


# The tabs' own order is the enum's order (outputs list every type in it).
if tuple(NotificationType.__members__) != NOTIFICATION_TYPES:  # pragma: no cover
    raise RuntimeError("NotificationType and tenancy.tabs.NOTIFICATION_TYPES differ")


@strawberry.enum(
    description="The template of a notification. CUSTOM is a label only: template editing is"
    " not part of this API."
)
class TemplateOrigin(Enum):
    SYSTEM = strawberry.enum_value(
        "SYSTEM", description="The system's template, unedited. The default."
    )
    CUSTOM = strawberry.enum_value("CUSTOM", description="A template edited for the platform.")


@strawberry.enum(description="When the PDF documents of regular invoices are made.")
class InvoicePdfGeneration(Enum):
    AT_END_OF_BILLING_PERIOD = strawberry.enum_value(
        "AT_END_OF_BILLING_PERIOD",
        description="At the end of the billing period, each customer's invoice and PDF in"
        " turn. The default.",
    )
    POSTPONED_BY_RESOURCE_AVAILABILITY = strawberry.enum_value(
        "POSTPONED_BY_RESOURCE_AVAILABILITY",
        description="The invoice is made and the payment method charged at once; the PDFs"
        " follow once every customer's period is calculated.",
    )
    ON_DEMAND = strawberry.enum_value(
        "ON_DEMAND",
        description="The invoice is stored and available through the API; a PDF is made only"
        " when requested.",
    )


@strawberry.enum(description="How regular invoices are e-mailed.")
class RegularInvoiceDelivery(Enum):
    AUTOMATICALLY = strawberry.enum_value(
        "AUTOMATICALLY", description="As soon as they are made. The default."
    )
    AFTER_ADMINISTRATOR_REVIEW = strawberry.enum_value(
        "AFTER_ADMINISTRATOR_REVIEW",
        description="After an administrator approves them, or automatically after"
        " holdForReviewDays (required with this value).",
    )


@strawberry.enum(description="How out-of-turn invoices are e-mailed.")
class OutOfTurnInvoiceDelivery(Enum):
    AUTOMATICALLY = strawberry.enum_value("AUTOMATICALLY", description="As soon as they are made.")
    NEVER = strawberry.enum_value("NEVER", description="Never. The default.")


@strawberry.enum(description="When autoCharge charges the customer's saved payment method.")
class AutoChargeTiming(Enum):
    UPON_INVOICE_GENERATION = strawberry.enum_value(
        "UPON_INVOICE_GENERATION", description="When the invoice is made. The default."
    )
    UPON_DUE_DATE = strawberry.enum_value("UPON_DUE_DATE", description="On the invoice's due date.")


@strawberry.enum(
    description="The taxation plug-in that computes a class's taxes (the list page's Taxation"
    " column)."
)
class TaxationMethod(Enum):
    NO_TAXATION = strawberry.enum_value(
        "NO_TAXATION", description="No taxes; assessTaxes must be off. The default."
    )
    FIXED_VAT_RATE = strawberry.enum_value(
        "FIXED_VAT_RATE", description="One VAT rate (vatRatePercent, with taxName) on charges."
    )
    CUSTOM_TAXATION = strawberry.enum_value(
        "CUSTOM_TAXATION", description="The custom taxes of the class (customTaxIds)."
    )
    EZTAX = strawberry.enum_value("EZTAX", description="The EZTax plug-in (US, Canada).")
    SURETAX = strawberry.enum_value("SURETAX", description="The SureTax plug-in (US, Canada).")
    AVALARA = strawberry.enum_value("AVALARA", description="The Avalara plug-in.")
    GST = strawberry.enum_value("GST", description="The GST plug-in (Malaysia).")


@strawberry.enum(description="When taxes are calculated.")
class TaxAssessment(Enum):
    AT_END_OF_BILLING_PERIOD = strawberry.enum_value(
        "AT_END_OF_BILLING_PERIOD",
        description="At the end of the billing period, for prepaid and postpaid customers."
        " The default.",
    )
    AT_TIME_OF_PAYMENT = strawberry.enum_value(
        "AT_TIME_OF_PAYMENT",
        description="Prepaid customers are taxed when they pay (on the amount paid); postpaid"
        " at the end of the period. Only with FIXED_VAT_RATE, CUSTOM_TAXATION and GST; with"
        " CUSTOM_TAXATION every custom tax must apply to ALL_CHARGES.",
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


@strawberry.type(
    description="General info tab: statistics, billing period closure, rounding and balance."
)
class GeneralInfo:
    generateStatistics: bool = strawberry.field(
        description="Generate statistics (xDRs) for the customers; the list page's Archive"
        " xDRs column. Default true. Off needs sendStatistics DO_NOT_SEND and regular"
        " invoices disabled, and no customer of the class overriding regularInvoicesEnabled"
        " to true or sendStatistics to another value (DEPENDENCY, the message counts them)."
    )
    sendStatistics: StatisticsDelivery = strawberry.field(
        description="What statistics are e-mailed to the customers. Default DO_NOT_SEND; must"
        " be DO_NOT_SEND while generateStatistics is off (DEPENDENCY). Customers may"
        " override it."
    )
    billingPeriodClosure: BillingPeriodClosure = strawberry.field(
        description="When a billing period is closed. Default AFTER_GLOBAL_DELAY;"
        " UPON_ADMINISTRATOR_APPROVAL not while billedExternally is on (DEPENDENCY)."
    )
    closeDelayHours: int | None = strawberry.field(
        description="Hours added to the global delay before the period closes, 1 to 72"
        " (OUT_OF_RANGE). Required with WITH_EXTRA_DELAY (REQUIRED) and null with any other"
        " closure (DEPENDENCY: null it in the same patch). Default null."
    )
    roundingMethod: RoundingMethod = strawberry.field(
        description="How amounts are rounded. Default AWAY_FROM_ZERO."
    )
    roundingPrecision: int = strawberry.field(
        description="Decimal places kept when rounding, 0 to 6 (OUT_OF_RANGE). Default 2."
    )
    suspendOnInsufficientFunds: bool = strawberry.field(
        description="Suspend prepaid customers whose funds do not cover the subscriptions"
        " charged in advance. Default false. Customers may override it."
    )
    billedExternally: bool = strawberry.field(
        description="Postpaid customers are billed by an external system, which closes their"
        " periods automatically: not with UPON_ADMINISTRATOR_APPROVAL closure (DEPENDENCY)."
        " Default false."
    )
    resetBalanceEveryPeriod: bool = strawberry.field(
        description="Reset the balance to zero (a manual credit) at the end of every billing"
        " period; needs billedExternally (DEPENDENCY). Default false."
    )
    hideBalanceResetXdr: bool = strawberry.field(
        description="Hide the balance reset's xDR from end users; needs"
        " resetBalanceEveryPeriod (DEPENDENCY). Default false."
    )

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


@strawberry.type(description="One measured resource charged to every customer of the class.")
class MeasuredService:
    parameter: MeasuredParameter = strawberry.field(
        description="What is measured; each parameter at most once per class (INVALID)."
    )
    chargeBasedOn: MeasuredChargeBasis = strawberry.field(
        description="Which value of the period is charged; DO_NOT_CHARGE measures only."
    )
    pricePerItem: Decimal = strawberry.field(
        description="Price of each charged item: money in the class currency, 0 or more"
        " (OUT_OF_RANGE)."
    )
    itemsFreeOfCharge: int = strawberry.field(
        description="Items not charged, 0 to 2147483647 (OUT_OF_RANGE). Default 0."
    )
    rateCode: str | None = strawberry.field(
        description="Rate code shown in xDRs and invoices: free text, trimmed, at most 64"
        " characters (TOO_LONG), no control characters (INVALID); empty means null."
    )
    service: str | None = strawberry.field(
        description="Service shown in xDRs and invoices: free text, trimmed, at most 64"
        " characters (TOO_LONG), no control characters (INVALID); empty means null."
    )

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


@strawberry.type(description="One channel (e-mail or SMS) of one notification type.")
class NotificationChannelSetting:
    send: bool = strawberry.field(
        description="Send this notification on this channel. Default false. Needs a"
        " notification set (DEPENDENCY)."
    )
    template: TemplateOrigin = strawberry.field(description="Its template. Default SYSTEM.")

    @classmethod
    def of(cls, doc: documents.ChannelSetting) -> NotificationChannelSetting:
        return cls(send=doc["send"], template=cast(TemplateOrigin, doc["template"]))


@strawberry.type(description="The e-mail and SMS settings of one notification type.")
class NotificationSetting:
    type: NotificationType = strawberry.field(
        description="The notification type these settings are for."
    )
    email: NotificationChannelSetting = strawberry.field(
        description="Whether and with which template it is e-mailed."
    )
    sms: NotificationChannelSetting = strawberry.field(
        description="Whether and with which template it is sent by SMS."
    )


@strawberry.type(
    description="Notifications tab: the notification set and, for every notification type,"
    " its e-mail and SMS settings."
)
class NotificationSettings:
    notificationSetId: strawberry.Private[int | None]
    settings: list[NotificationSetting] = strawberry.field(
        description="One entry per NotificationType, in enum order, always complete."
    )

    @strawberry.field(
        description="The notification set (the templates) in use. Default null: no set, and"
        " then nothing may be sent (DEPENDENCY); notifications are active only with a set."
    )
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


@strawberry.type(description="When an invoice is due, and whether it is charged automatically.")
class PaymentTerms:
    netDays: int = strawberry.field(
        description="Days from the invoice to its due date, 0 to 365 (OUT_OF_RANGE); 0 means"
        " due upon receipt. Default 0."
    )
    dueDateReminderDays: list[int] = strawberry.field(
        description="Days before the due date on which to remind the customer, e.g."
        " [10, 7, 1]: at most 10 (OUT_OF_RANGE), each 1 to netDays - 1 (OUT_OF_RANGE),"
        " strictly decreasing without repeats (INVALID), none while netDays is 0"
        " (DEPENDENCY). Default []. DUE_DATE_APPROACHING must be sent for them to reach"
        " anyone."
    )
    autoCharge: bool = strawberry.field(
        description="Charge the invoice to the customer's saved payment method. Default false."
    )
    autoChargeTiming: AutoChargeTiming = strawberry.field(
        description="When autoCharge charges. Default UPON_INVOICE_GENERATION; accepted with"
        " autoCharge off too."
    )

    @classmethod
    def of(cls, doc: documents.PaymentTerms) -> PaymentTerms:
        return cls(
            netDays=doc["netDays"],
            dueDateReminderDays=doc["dueDateReminderDays"],
            autoCharge=doc["autoCharge"],
            autoChargeTiming=cast(AutoChargeTiming, doc["autoChargeTiming"]),
        )


@strawberry.type(
    description="What happens when an invoice is past due. Each step is optional (null ="
    " off) and counts days from the due date; the steps that are on must come in the order"
    " limitServiceAfterDays < suspendAfterDays < terminateAfterDays (INVALID on the later"
    " one). Notice days count back from their step and schedule notifications of the"
    " matching type, which must be sent for them to reach anyone."
)
class PastDuePolicy:
    collectionThreshold: Decimal = strawberry.field(
        description="Owed amounts at or below this are not collected (no past-due steps):"
        " money, 0 or more (OUT_OF_RANGE). Default 0."
    )
    resendInvoiceDays: list[int] = strawberry.field(
        description="Days after the due date on which to resend the unpaid invoice, e.g."
        " [0, 7, 20]: at most 10 (OUT_OF_RANGE), each 0 to 365 (OUT_OF_RANGE), strictly"
        " increasing without repeats (INVALID). Default []."
    )
    lateFee: Decimal | None = strawberry.field(
        description="Fee charged for each invoice that becomes overdue: money above 0"
        " (OUT_OF_RANGE), or null for none. Default null."
    )
    limitServiceAfterDays: int | None = strawberry.field(
        description="Limit the service this many days after the due date, 0 to 3650"
        " (OUT_OF_RANGE); null: never. Default null."
    )
    limitationNoticeDays: list[int] = strawberry.field(
        description="Days before the limitation on which to send"
        " SERVICE_LIMITATION_APPROACHING: at most 10 (OUT_OF_RANGE), each 1 to"
        " limitServiceAfterDays (OUT_OF_RANGE), strictly decreasing (INVALID); needs"
        " limitServiceAfterDays above 0 (DEPENDENCY). Default []."
    )
    suspendAfterDays: int | None = strawberry.field(
        description="Suspend the service this many days after the due date, 0 to 3650"
        " (OUT_OF_RANGE), after the limitation when both are on (INVALID); null: never."
        " Default null."
    )
    suspensionNoticeDays: list[int] = strawberry.field(
        description="Days before the suspension on which to send SUSPENSION_APPROACHING: at"
        " most 10 (OUT_OF_RANGE), each 1 to suspendAfterDays (OUT_OF_RANGE), strictly"
        " decreasing (INVALID); needs suspendAfterDays above 0 (DEPENDENCY). Default []."
    )
    reactivationFee: Decimal | None = strawberry.field(
        description="Fee charged when a suspended customer resumes the service: money above 0"
        " (OUT_OF_RANGE), or null for none; needs suspendAfterDays (DEPENDENCY). Default null."
    )
    terminateAfterDays: int | None = strawberry.field(
        description="Terminate the customer (final) this many days after the due date, 0 to"
        " 3650 (OUT_OF_RANGE), after the limitation and the suspension that are on (INVALID);"
        " null: never. Default null."
    )
    terminationNoticeDays: list[int] = strawberry.field(
        description="Days before the termination on which to send TERMINATION_APPROACHING: at"
        " most 10 (OUT_OF_RANGE), each 1 to terminateAfterDays (OUT_OF_RANGE), strictly"
        " decreasing (INVALID); needs terminateAfterDays above 0 (DEPENDENCY). Default []."
    )
    terminateCommitments: bool = strawberry.field(
        description="At termination, also terminate the commitments of all the customer's"
        " accounts; needs terminateAfterDays (DEPENDENCY). Default false."
    )
    restoreAfterPartialPayment: bool = strawberry.field(
        description="Restore a limited or suspended service after a partial payment that"
        " leaves at most collectionThreshold unpaid; needs collectionThreshold above 0 and"
        " limitServiceAfterDays or suspendAfterDays (DEPENDENCY). Default false."
    )

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


@strawberry.type(description="Regular invoices tab: the invoices of every billing period.")
class RegularInvoices:
    invoiceTemplateId: strawberry.Private[int | None]
    enabled: bool = strawberry.field(
        description="Generate regular invoices; needs generalInfo.generateStatistics on"
        " (DEPENDENCY). Default false. Customers may override it."
    )
    pdfGeneration: InvoicePdfGeneration = strawberry.field(
        description="When the invoices' PDF documents are made. Default AT_END_OF_BILLING_PERIOD."
    )
    delivery: RegularInvoiceDelivery = strawberry.field(
        description="How invoices are e-mailed. Default AUTOMATICALLY."
    )
    holdForReviewDays: int | None = strawberry.field(
        description="Days an invoice waits for an administrator's approval before it is"
        " approved and sent automatically, 1 to 30 (OUT_OF_RANGE). Required with"
        " AFTER_ADMINISTRATOR_REVIEW delivery (REQUIRED) and null with AUTOMATICALLY"
        " (DEPENDENCY). Default null."
    )
    paymentTerms: PaymentTerms = strawberry.field(
        description="When regular invoices are due, and whether they are charged automatically."
    )
    pastDue: PastDuePolicy = strawberry.field(
        description="What happens when a regular invoice is past due."
    )

    @strawberry.field(
        description="Template of the invoice documents; null means do not create invoice"
        " documents (xDR summaries only). Default null. Customers may override it."
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


@strawberry.type(
    description="Out-of-turn invoices tab: invoices made between regular ones, with their own"
    " payment terms and past-due policy (copyRegularInvoiceSettingsToOutOfTurn copies the"
    " regular ones)."
)
class OutOfTurnInvoices:
    invoiceTemplateId: strawberry.Private[int | None]
    enabled: bool = strawberry.field(
        description="Allow out-of-turn invoices. Default false. Customers may override it."
    )
    delivery: OutOfTurnInvoiceDelivery = strawberry.field(
        description="How out-of-turn invoices are e-mailed. Default NEVER."
    )
    separateInvoiceForRecurringFees: bool = strawberry.field(
        description="Put recurring (subscription) fees and their taxes on separate out-of-turn"
        " invoices, which can only be paid by automatic charge: needs"
        " outOfTurnInvoices.paymentTerms.autoCharge (DEPENDENCY). Default false."
    )
    paymentTerms: PaymentTerms = strawberry.field(
        description="When out-of-turn invoices are due, and whether they are charged automatically."
    )
    pastDue: PastDuePolicy = strawberry.field(
        description="What happens when an out-of-turn invoice is past due."
    )

    @strawberry.field(
        description="Template of the out-of-turn invoice documents; null means do not create"
        " invoice documents. Default null. Customers may override it."
    )
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


@strawberry.type(description="Taxation tab: how the customers' taxes are computed.")
class Taxation:
    customTaxIds: strawberry.Private[list[int]]
    method: TaxationMethod = strawberry.field(
        description="The taxation plug-in. Default NO_TAXATION."
    )
    assessTaxes: bool = strawberry.field(
        description="Assess taxes; needs a method other than NO_TAXATION (DEPENDENCY)."
        " Default false."
    )
    taxesIncludedInRates: bool = strawberry.field(
        description="Taxes are already inside rates and fees (back-calculated) rather than"
        " added on top. Default false."
    )
    assessment: TaxAssessment = strawberry.field(
        description="When taxes are calculated. Default AT_END_OF_BILLING_PERIOD;"
        " AT_TIME_OF_PAYMENT only with FIXED_VAT_RATE, CUSTOM_TAXATION and GST (DEPENDENCY)."
    )
    vatRatePercent: Decimal | None = strawberry.field(
        description="FIXED_VAT_RATE only (else DEPENDENCY: null it): the VAT rate, a"
        " percentage 0 to 100 (OUT_OF_RANGE) with at most 4 decimals (INVALID); required"
        " when FIXED_VAT_RATE taxes are assessed (REQUIRED). Default null."
    )
    taxName: str | None = strawberry.field(
        description="FIXED_VAT_RATE only (else DEPENDENCY: null it): the tax's name, e.g."
        " VAT; free text, trimmed, at most 50 characters (TOO_LONG), no control characters"
        " (INVALID); empty means null. Default null."
    )

    @strawberry.field(
        description="CUSTOM_TAXATION only (else DEPENDENCY: pass customTaxIds []): the"
        " custom taxes applied, in the order given, at most 10 (OUT_OF_RANGE), no repeats"
        " (INVALID); at least one when taxes are assessed (REQUIRED); with"
        " AT_TIME_OF_PAYMENT each must apply to ALL_CHARGES (DEPENDENCY). Default []."
    )
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


@strawberry.type(
    description="Fraud protection, a daily spending plan in the class currency: present"
    " exactly when the class has a currency."
)
class FraudProtection:
    dailySpendingThreshold: Decimal | None = strawberry.field(
        description="Daily spending limit: money above 0 (OUT_OF_RANGE); null: fraud"
        " protection off. Default null."
    )
    checkRemainingFunds: bool = strawberry.field(
        description="Also check the customer's remaining funds; needs dailySpendingThreshold"
        " (DEPENDENCY). Default false."
    )
    sendWarning: bool = strawberry.field(
        description="Send FRAUD_SPENDING_WARNING when spending reaches"
        " warningThresholdPercent of the threshold; needs dailySpendingThreshold"
        " (DEPENDENCY). Default false."
    )
    warningThresholdPercent: int | None = strawberry.field(
        description="Percentage of dailySpendingThreshold at which the warning is sent, 1 to"
        " 100 (OUT_OF_RANGE); required with sendWarning (REQUIRED). Default null."
    )

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

    @strawberry.field(
        description="General info tab: statistics, billing period closure, rounding, balance."
    )
    def generalInfo(self) -> GeneralInfo:
        return GeneralInfo.of(self.tab_document()["generalInfo"])

    @strawberry.field(
        description="Measured services tab: resources charged per customer, in the order"
        " given, each parameter at most once (so at most 3). Default []."
    )
    def measuredServices(self) -> list[MeasuredService]:
        return [MeasuredService.of(item) for item in self.tab_document()["measuredServices"]]

    @strawberry.field(
        description="Notifications tab: the notification set and what is sent by e-mail and SMS."
    )
    def notifications(self) -> NotificationSettings:
        return NotificationSettings.of(self.tab_document()["notifications"])

    @strawberry.field(
        description="Out-of-turn invoices tab: whether they are allowed, their template,"
        " delivery, payment terms and past-due policy."
    )
    def outOfTurnInvoices(self) -> OutOfTurnInvoices:
        return OutOfTurnInvoices.of(self.tab_document()["outOfTurnInvoices"])

    @strawberry.field(
        description="Regular invoices tab: whether they are made, their template, PDFs,"
        " delivery, payment terms and past-due policy."
    )
    def regularInvoices(self) -> RegularInvoices:
        return RegularInvoices.of(self.tab_document()["regularInvoices"])

    @strawberry.field(description="Taxation tab: the method and how taxes are assessed.")
    def taxation(self) -> Taxation:
        return Taxation.of(self.tab_document()["taxation"])

    @strawberry.field(
        description="Custom fields tab: the custom field definitions enabled for the"
        " customers, by name then id, at most 50. Default []."
    )
    async def customFields(self, info: Info) -> list[CustomFieldDefinition]:
        keys = self.tab_document()["customFieldIds"]
        rows = [
            r
            for r in await info.context.loaders.catalog("CustomFieldDefinition").load_many(keys)
            if r
        ]
        rows.sort(key=lambda row: (row.name_key, row.id))
        return [CustomFieldDefinition.of(row) for row in rows]

    @strawberry.field(
        description="Fraud protection: null for a class without currency, always present"
        " otherwise (off by default)."
    )
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
