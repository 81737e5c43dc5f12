"""Inputs of the customer-class operations. Every tab field is optional: omitted keeps
the value (or the default on creation), an explicit null clears a nullable one."""

from __future__ import annotations

from enum import Enum

import strawberry

from gql.common import Decimal, SortDirection
from gql.customer_classes.tabs import (
    AutoChargeTiming,
    BillingPeriodClosure,
    InvoicePdfGeneration,
    MeasuredChargeBasis,
    MeasuredParameter,
    NotificationType,
    OutOfTurnInvoiceDelivery,
    RegularInvoiceDelivery,
    RoundingMethod,
    StatisticsDelivery,
    TaxAssessment,
    TaxationMethod,
    TemplateOrigin,
)
from gql.customer_classes.types import InvoicingPreference, ManagerKind
from gql.input_shapes import check_input, check_values
from tenancy import inputs

UNSET = strawberry.UNSET


@strawberry.input
class GeneralInfoInput:
    generateStatistics: bool | None = UNSET
    sendStatistics: StatisticsDelivery | None = UNSET
    billingPeriodClosure: BillingPeriodClosure | None = UNSET
    closeDelayHours: int | None = UNSET
    roundingMethod: RoundingMethod | None = UNSET
    roundingPrecision: int | None = UNSET
    suspendOnInsufficientFunds: bool | None = UNSET
    billedExternally: bool | None = UNSET
    resetBalanceEveryPeriod: bool | None = UNSET
    hideBalanceResetXdr: bool | None = UNSET


@strawberry.input
class MeasuredServiceInput:
    parameter: MeasuredParameter
    chargeBasedOn: MeasuredChargeBasis
    pricePerItem: Decimal
    itemsFreeOfCharge: int = 0
    rateCode: str | None = UNSET
    service: str | None = UNSET


@strawberry.input
class NotificationChannelInput:
    send: bool
    template: TemplateOrigin | None = UNSET


@strawberry.input
class NotificationSettingInput:
    type: NotificationType
    email: NotificationChannelInput | None = UNSET
    sms: NotificationChannelInput | None = UNSET


@strawberry.input
class NotificationSettingsInput:
    notificationSetId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Null detaches the set; every send flag must then be off (already, or in"
        " the same patch).",
    )
    settings: list[NotificationSettingInput] | None = strawberry.field(
        default=UNSET, description="Only the listed types change."
    )


@strawberry.input
class PaymentTermsInput:
    netDays: int | None = UNSET
    dueDateReminderDays: list[int] | None = UNSET
    autoCharge: bool | None = UNSET
    autoChargeTiming: AutoChargeTiming | None = UNSET


@strawberry.input
class PastDuePolicyInput:
    collectionThreshold: Decimal | None = UNSET
    resendInvoiceDays: list[int] | None = UNSET
    lateFee: Decimal | None = UNSET
    limitServiceAfterDays: int | None = UNSET
    limitationNoticeDays: list[int] | None = UNSET
    suspendAfterDays: int | None = UNSET
    suspensionNoticeDays: list[int] | None = UNSET
    reactivationFee: Decimal | None = UNSET
    terminateAfterDays: int | None = UNSET
    terminationNoticeDays: list[int] | None = UNSET
    terminateCommitments: bool | None = UNSET
    restoreAfterPartialPayment: bool | None = UNSET


@strawberry.input
class RegularInvoicesInput:
    enabled: bool | None = UNSET
    invoiceTemplateId: strawberry.ID | None = UNSET
    pdfGeneration: InvoicePdfGeneration | None = UNSET
    delivery: RegularInvoiceDelivery | None = UNSET
    holdForReviewDays: int | None = UNSET
    paymentTerms: PaymentTermsInput | None = UNSET
    pastDue: PastDuePolicyInput | None = UNSET


@strawberry.input
class OutOfTurnInvoicesInput:
    enabled: bool | None = UNSET
    invoiceTemplateId: strawberry.ID | None = UNSET
    delivery: OutOfTurnInvoiceDelivery | None = UNSET
    separateInvoiceForRecurringFees: bool | None = UNSET
    paymentTerms: PaymentTermsInput | None = UNSET
    pastDue: PastDuePolicyInput | None = UNSET


@strawberry.input
class TaxationInput:
    method: TaxationMethod | None = UNSET
    assessTaxes: bool | None = UNSET
    taxesIncludedInRates: bool | None = UNSET
    assessment: TaxAssessment | None = UNSET
    vatRatePercent: Decimal | None = UNSET
    taxName: str | None = UNSET
    customTaxIds: list[strawberry.ID] | None = UNSET


@strawberry.input
class FraudProtectionInput:
    dailySpendingThreshold: Decimal | None = UNSET
    checkRemainingFunds: bool | None = UNSET
    sendWarning: bool | None = UNSET
    warningThresholdPercent: int | None = UNSET


@strawberry.input
class CreateCustomerClassInput:
    name: str
    description: str | None = UNSET
    managingResellerId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Administrators: null or omitted = Administrator only. Resellers: omit it"
        " or pass their own ID; any other value is NOT_PERMITTED.",
    )
    businessModelId: strawberry.ID | None = UNSET
    currencyCode: str | None = strawberry.field(
        default=UNSET, description="ISO 4217; null = any currency."
    )
    notificationSender: str | None = UNSET
    sharedWithResellers: bool = False
    generalInfo: GeneralInfoInput | None = UNSET
    measuredServices: list[MeasuredServiceInput] | None = UNSET
    notifications: NotificationSettingsInput | None = UNSET
    outOfTurnInvoices: OutOfTurnInvoicesInput | None = UNSET
    regularInvoices: RegularInvoicesInput | None = UNSET
    taxation: TaxationInput | None = UNSET
    customFieldIds: list[strawberry.ID] | None = UNSET
    fraudProtection: FraudProtectionInput | None = UNSET


@strawberry.input(
    description="Partial update: omitted fields keep their values. Currency, business model"
    " and manager cannot change."
)
class UpdateCustomerClassInput:
    id: strawberry.ID
    expectedVersion: int | None = strawberry.field(
        default=UNSET,
        description="When given, the update is refused with VERSION_CONFLICT unless it equals"
        " the current version.",
    )
    name: str | None = UNSET
    description: str | None = UNSET
    notificationSender: str | None = UNSET
    generalInfo: GeneralInfoInput | None = UNSET
    measuredServices: list[MeasuredServiceInput] | None = strawberry.field(
        default=UNSET, description="Replaces the whole list."
    )
    notifications: NotificationSettingsInput | None = UNSET
    outOfTurnInvoices: OutOfTurnInvoicesInput | None = UNSET
    regularInvoices: RegularInvoicesInput | None = UNSET
    taxation: TaxationInput | None = UNSET
    customFieldIds: list[strawberry.ID] | None = strawberry.field(
        default=UNSET, description="Replaces the set of enabled custom fields."
    )
    fraudProtection: FraudProtectionInput | None = UNSET


@strawberry.input
class CloneCustomerClassInput:
    id: strawberry.ID
    name: str


@strawberry.input
class DeleteCustomerClassesInput:
    ids: list[strawberry.ID]


@strawberry.input
class SetCustomerClassSharingInput:
    id: strawberry.ID
    shared: bool
    expectedVersion: int | None = UNSET


@strawberry.input
class CopyRegularInvoiceSettingsInput:
    id: strawberry.ID = strawberry.field(
        description="Copies payment terms and past-due policy from"
        " regularInvoices to outOfTurnInvoices."
    )
    expectedVersion: int | None = UNSET


@strawberry.input
class ManagedByFilter:
    kind: ManagerKind
    resellerId: strawberry.ID | None = strawberry.field(
        default=UNSET, description="With kind RESELLER: only classes of this reseller."
    )


@strawberry.input
class CustomerClassFilter:
    nameContains: str | None = UNSET
    businessModelId: strawberry.ID | None = UNSET
    currencyCode: str | None = strawberry.field(
        default=UNSET,
        description="ISO 4217 code; the empty string matches classes without currency.",
    )
    managedBy: ManagedByFilter | None = UNSET
    invoicing: InvoicingPreference | None = UNSET
    taxationMethod: TaxationMethod | None = UNSET
    includeShared: bool = strawberry.field(
        default=True,
        description="Resellers: also list administrator classes shared with resellers."
        " Ignored for administrators.",
    )


@strawberry.enum
class CustomerClassSortField(Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    CUSTOMER_COUNT = "CUSTOMER_COUNT"


@strawberry.input
class CustomerClassOrder:
    field: CustomerClassSortField
    direction: SortDirection = SortDirection.ASC


for _input, _typed in (
    (GeneralInfoInput, inputs.GeneralInfoPatch),
    (MeasuredServiceInput, inputs.MeasuredServiceInput),
    (NotificationChannelInput, inputs.ChannelPatch),
    (NotificationSettingInput, inputs.NotificationSettingPatch),
    (NotificationSettingsInput, inputs.NotificationsPatch),
    (PaymentTermsInput, inputs.PaymentTermsPatch),
    (PastDuePolicyInput, inputs.PastDuePolicyPatch),
    (RegularInvoicesInput, inputs.RegularInvoicesPatch),
    (OutOfTurnInvoicesInput, inputs.OutOfTurnInvoicesPatch),
    (TaxationInput, inputs.TaxationPatch),
    (FraudProtectionInput, inputs.FraudProtectionPatch),
    (CreateCustomerClassInput, inputs.CreateCustomerClass),
    (UpdateCustomerClassInput, inputs.UpdateCustomerClass),
    (CloneCustomerClassInput, inputs.CloneCustomerClass),
    (DeleteCustomerClassesInput, inputs.DeleteCustomerClasses),
    (SetCustomerClassSharingInput, inputs.SetCustomerClassSharing),
    (CopyRegularInvoiceSettingsInput, inputs.CopyRegularInvoiceSettings),
    (ManagedByFilter, inputs.ManagedBy),
    (CustomerClassFilter, inputs.CustomerClassFilter),
):
    check_input(_input, _typed)
check_values(ManagerKind, inputs.ManagerKind)
check_values(InvoicingPreference, inputs.InvoicingPreference)
