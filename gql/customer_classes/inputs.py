"""Inputs of the customer-class operations. Every tab field is optional: omitted keeps
the value (or the default on creation), an explicit null clears a nullable one."""

from __future__ import annotations

import dataclasses
from enum import Enum

import strawberry

from gql.common import DRY_RUN, Decimal, SortDirection, like_output
from gql.customer_classes.tabs import (
    AutoChargeTiming,
    BillingPeriodClosure,
    FraudProtection,
    GeneralInfo,
    InvoicePdfGeneration,
    MeasuredChargeBasis,
    MeasuredParameter,
    MeasuredService,
    NotificationChannelSetting,
    NotificationType,
    OutOfTurnInvoiceDelivery,
    OutOfTurnInvoices,
    PastDuePolicy,
    PaymentTerms,
    RegularInvoiceDelivery,
    RegularInvoices,
    RoundingMethod,
    StatisticsDelivery,
    TaxAssessment,
    Taxation,
    TaxationMethod,
    TemplateOrigin,
)
from gql.customer_classes.types import CustomerClass, InvoicingPreference, ManagerKind
from gql.input_shapes import check_input, check_values
from tenancy import inputs

UNSET = strawberry.UNSET
# A required input field (no default) described as its output field.
MISSING = dataclasses.MISSING


# The tab inputs are patches (SPEC §5 "Patches"); each field is described as the output
# field it sets (gql.common.like_output), so the two sides cannot tell different stories.
PATCH = (
    " Omitted fields keep their value (on creation: the default); null clears a field whose"
    " output is nullable and is INVALID for the others."
)
NAME = (
    " 1 to 100 characters once NFC-normalised and trimmed (blank: REQUIRED; longer, or more"
    " than 400 characters as given: TOO_LONG), without control or invisible format"
    " characters (INVALID; a zero-width joiner or non-joiner is kept between two letters)."
)
CLASS_NAME = (
    "The class's name:"
    + NAME
    + " Unique among the classes of its manager, ignoring case and compatibility forms (TAKEN)."
)
DESCRIPTION = (
    "Free text of at most 500 characters (TOO_LONG), line breaks and tabs allowed, other"
    " control characters not (INVALID); empty or blank means null."
)
NOTIFICATION_SENDER = (
    'Sender address ("From") of the notifications to the class\'s customers: a bare e-mail'
    " address like billing@example.com (INVALID otherwise), trimmed, at most 254 characters"
    " (TOO_LONG); empty or null means the system default. Any address is accepted (sender"
    " domains are not verified)."
)
EXPECTED_VERSION = (
    "When given, the change is refused with VERSION_CONFLICT (and nothing written) unless it"
    " equals the class's current version. Omitted: no check."
)


@strawberry.input(description="Patch of the general info tab." + PATCH)
class GeneralInfoInput:
    generateStatistics: bool | None = like_output(GeneralInfo, "generateStatistics")
    sendStatistics: StatisticsDelivery | None = like_output(GeneralInfo, "sendStatistics")
    billingPeriodClosure: BillingPeriodClosure | None = like_output(
        GeneralInfo, "billingPeriodClosure"
    )
    closeDelayHours: int | None = like_output(GeneralInfo, "closeDelayHours")
    roundingMethod: RoundingMethod | None = like_output(GeneralInfo, "roundingMethod")
    roundingPrecision: int | None = like_output(GeneralInfo, "roundingPrecision")
    suspendOnInsufficientFunds: bool | None = like_output(GeneralInfo, "suspendOnInsufficientFunds")
    billedExternally: bool | None = like_output(GeneralInfo, "billedExternally")
    resetBalanceEveryPeriod: bool | None = like_output(GeneralInfo, "resetBalanceEveryPeriod")
    hideBalanceResetXdr: bool | None = like_output(GeneralInfo, "hideBalanceResetXdr")


@strawberry.input(
    description="One measured service. The list it is in replaces the class's whole list."
)
class MeasuredServiceInput:
    parameter: MeasuredParameter = like_output(MeasuredService, "parameter", default=MISSING)
    chargeBasedOn: MeasuredChargeBasis = like_output(
        MeasuredService, "chargeBasedOn", default=MISSING
    )
    pricePerItem: Decimal = like_output(
        MeasuredService,
        "pricePerItem",
        default=MISSING,
        more=" At most as many decimals as the currency's minor units (INVALID).",
    )
    itemsFreeOfCharge: int = like_output(MeasuredService, "itemsFreeOfCharge", default=0)
    rateCode: str | None = like_output(MeasuredService, "rateCode")
    service: str | None = like_output(MeasuredService, "service")


@strawberry.input(
    description="One channel of one notification type; omitted: the channel is unchanged."
)
class NotificationChannelInput:
    send: bool = like_output(NotificationChannelSetting, "send", default=MISSING)
    template: TemplateOrigin | None = like_output(
        NotificationChannelSetting, "template", more=" Omitted: unchanged; null is INVALID."
    )


@strawberry.input(description="The settings of one notification type to change.")
class NotificationSettingInput:
    type: NotificationType = strawberry.field(
        description="The notification type to change; at most once per list (INVALID)."
    )
    email: NotificationChannelInput | None = strawberry.field(
        default=UNSET,
        description="Whether and with which template it is e-mailed. Omitted: unchanged; null"
        " is INVALID.",
    )
    sms: NotificationChannelInput | None = strawberry.field(
        default=UNSET,
        description="Whether and with which template it is sent by SMS. Omitted: unchanged;"
        " null is INVALID.",
    )


@strawberry.input(description="Patch of the notifications tab." + PATCH)
class NotificationSettingsInput:
    notificationSetId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Global ID of the NotificationSet to use (NOT_FOUND if there is none"
        " such). Null detaches the set; every send flag must then be off, already or in the"
        " same patch (DEPENDENCY).",
    )
    settings: list[NotificationSettingInput] | None = strawberry.field(
        default=UNSET,
        description="Only the listed types change, each listed at most once (INVALID), so at"
        " most 15 entries (OUT_OF_RANGE); the output still lists every type.",
    )


@strawberry.input(description="Patch of payment terms." + PATCH)
class PaymentTermsInput:
    netDays: int | None = like_output(PaymentTerms, "netDays")
    dueDateReminderDays: list[int] | None = like_output(PaymentTerms, "dueDateReminderDays")
    autoCharge: bool | None = like_output(PaymentTerms, "autoCharge")
    autoChargeTiming: AutoChargeTiming | None = like_output(PaymentTerms, "autoChargeTiming")


@strawberry.input(description="Patch of a past-due policy." + PATCH)
class PastDuePolicyInput:
    collectionThreshold: Decimal | None = like_output(PastDuePolicy, "collectionThreshold")
    resendInvoiceDays: list[int] | None = like_output(PastDuePolicy, "resendInvoiceDays")
    lateFee: Decimal | None = like_output(PastDuePolicy, "lateFee")
    limitServiceAfterDays: int | None = like_output(PastDuePolicy, "limitServiceAfterDays")
    limitationNoticeDays: list[int] | None = like_output(PastDuePolicy, "limitationNoticeDays")
    suspendAfterDays: int | None = like_output(PastDuePolicy, "suspendAfterDays")
    suspensionNoticeDays: list[int] | None = like_output(PastDuePolicy, "suspensionNoticeDays")
    reactivationFee: Decimal | None = like_output(PastDuePolicy, "reactivationFee")
    terminateAfterDays: int | None = like_output(PastDuePolicy, "terminateAfterDays")
    terminationNoticeDays: list[int] | None = like_output(PastDuePolicy, "terminationNoticeDays")
    terminateCommitments: bool | None = like_output(PastDuePolicy, "terminateCommitments")
    restoreAfterPartialPayment: bool | None = like_output(
        PastDuePolicy, "restoreAfterPartialPayment"
    )


@strawberry.input(description="Patch of the regular invoices tab." + PATCH)
class RegularInvoicesInput:
    enabled: bool | None = like_output(RegularInvoices, "enabled")
    invoiceTemplateId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Global ID of the InvoiceTemplate of the invoice documents (NOT_FOUND if"
        " there is none such); null: do not create invoice documents (xDR summaries only).",
    )
    pdfGeneration: InvoicePdfGeneration | None = like_output(RegularInvoices, "pdfGeneration")
    delivery: RegularInvoiceDelivery | None = like_output(RegularInvoices, "delivery")
    holdForReviewDays: int | None = like_output(RegularInvoices, "holdForReviewDays")
    paymentTerms: PaymentTermsInput | None = like_output(RegularInvoices, "paymentTerms")
    pastDue: PastDuePolicyInput | None = like_output(RegularInvoices, "pastDue")


@strawberry.input(description="Patch of the out-of-turn invoices tab." + PATCH)
class OutOfTurnInvoicesInput:
    enabled: bool | None = like_output(OutOfTurnInvoices, "enabled")
    invoiceTemplateId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Global ID of the InvoiceTemplate of the out-of-turn invoice documents"
        " (NOT_FOUND if there is none such); null: do not create invoice documents.",
    )
    delivery: OutOfTurnInvoiceDelivery | None = like_output(OutOfTurnInvoices, "delivery")
    separateInvoiceForRecurringFees: bool | None = like_output(
        OutOfTurnInvoices, "separateInvoiceForRecurringFees"
    )
    paymentTerms: PaymentTermsInput | None = like_output(OutOfTurnInvoices, "paymentTerms")
    pastDue: PastDuePolicyInput | None = like_output(OutOfTurnInvoices, "pastDue")


@strawberry.input(description="Patch of the taxation tab." + PATCH)
class TaxationInput:
    method: TaxationMethod | None = like_output(Taxation, "method")
    assessTaxes: bool | None = like_output(Taxation, "assessTaxes")
    taxesIncludedInRates: bool | None = like_output(Taxation, "taxesIncludedInRates")
    assessment: TaxAssessment | None = like_output(Taxation, "assessment")
    vatRatePercent: Decimal | None = like_output(Taxation, "vatRatePercent")
    taxName: str | None = like_output(Taxation, "taxName")
    customTaxIds: list[strawberry.ID] | None = strawberry.field(
        default=UNSET,
        description="Replaces the class's custom taxes: global IDs of CustomTax entries"
        " (NOT_FOUND per index), at most 10 (OUT_OF_RANGE, and then none is looked up), no"
        " repeats (INVALID). CUSTOM_TAXATION only (else DEPENDENCY: pass []); at least one"
        " when taxes are assessed (REQUIRED); with AT_TIME_OF_PAYMENT each must apply to"
        " ALL_CHARGES (DEPENDENCY). Null is INVALID.",
    )


@strawberry.input(description="Patch of fraud protection." + PATCH)
class FraudProtectionInput:
    dailySpendingThreshold: Decimal | None = like_output(
        FraudProtection,
        "dailySpendingThreshold",
        more=" At most as many decimals as the currency's minor units (INVALID).",
    )
    checkRemainingFunds: bool | None = like_output(FraudProtection, "checkRemainingFunds")
    sendWarning: bool | None = like_output(FraudProtection, "sendWarning")
    warningThresholdPercent: int | None = like_output(FraudProtection, "warningThresholdPercent")


TABS_ON_CREATE = " Omitted: the defaults."
TABS_ON_UPDATE = " Omitted: unchanged; null is INVALID."


@strawberry.input(
    description="A new class: its header and any subset of its tabs; everything omitted gets"
    " its default."
)
class CreateCustomerClassInput:
    name: str = strawberry.field(description=CLASS_NAME)
    description: str | None = strawberry.field(default=UNSET, description=DESCRIPTION)
    managingResellerId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Who manages the class; fixed once created. Administrators: the global ID"
        " of a RESELLER customer (NOT_FOUND if none such, INVALID if not a RESELLER), or"
        " null or omitted for Administrator only. Resellers: omit it or pass their own ID;"
        " any other value is NOT_PERMITTED.",
    )
    businessModelId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Global ID of the class's BusinessModel (NOT_FOUND if none such); fixed"
        " once created. Omitted or null: none.",
    )
    currencyCode: str | None = strawberry.field(
        default=UNSET,
        description="ISO 4217 code of the class's currency, upper case as in currencies, e.g."
        " EUR (INVALID if unknown); fixed once created. Omitted or null: any currency, and"
        " then no fraud protection. Money of the class has this currency's minor units (6"
        " without currency).",
    )
    notificationSender: str | None = strawberry.field(
        default=UNSET, description=NOTIFICATION_SENDER
    )
    sharedWithResellers: bool = strawberry.field(
        default=False,
        description="Resellers may see (read-only) and assign the class. Administrator-managed"
        " classes only (DEPENDENCY for a reseller's class; NOT_PERMITTED when a reseller"
        " passes true). Default false.",
    )
    generalInfo: GeneralInfoInput | None = like_output(
        CustomerClass, "generalInfo", more=TABS_ON_CREATE
    )
    measuredServices: list[MeasuredServiceInput] | None = strawberry.field(
        default=UNSET,
        description="The measured services, in the order given: each parameter at most once"
        " (INVALID), so at most 3 entries (OUT_OF_RANGE). Omitted: none.",
    )
    notifications: NotificationSettingsInput | None = like_output(
        CustomerClass, "notifications", more=TABS_ON_CREATE
    )
    outOfTurnInvoices: OutOfTurnInvoicesInput | None = like_output(
        CustomerClass, "outOfTurnInvoices", more=TABS_ON_CREATE
    )
    regularInvoices: RegularInvoicesInput | None = like_output(
        CustomerClass, "regularInvoices", more=TABS_ON_CREATE
    )
    taxation: TaxationInput | None = like_output(CustomerClass, "taxation", more=TABS_ON_CREATE)
    customFieldIds: list[strawberry.ID] | None = strawberry.field(
        default=UNSET,
        description="The custom fields to enable: global IDs of CustomFieldDefinition entries"
        " (NOT_FOUND per index), at most 50 (OUT_OF_RANGE, and then none is looked up), no"
        " repeats (INVALID). Omitted: none.",
    )
    fraudProtection: FraudProtectionInput | None = strawberry.field(
        default=UNSET,
        description="Fraud protection settings. Any value, null included, needs currencyCode"
        " (DEPENDENCY); omitted or null: off.",
    )


@strawberry.input(
    description="Partial update: omitted fields keep their values. Currency, business model"
    " and manager cannot change. Validated against the class as it will be stored."
)
class UpdateCustomerClassInput:
    id: strawberry.ID = strawberry.field(
        description="Global ID of the class (NOT_FOUND if the caller may not see it;"
        " NOT_PERMITTED if it may see but not change it, e.g. a shared class, to a reseller)."
    )
    expectedVersion: int | None = strawberry.field(default=UNSET, description=EXPECTED_VERSION)
    name: str | None = strawberry.field(
        default=UNSET,
        description=CLASS_NAME + " The Default class cannot be renamed (IMMUTABLE). Null is"
        " INVALID.",
    )
    description: str | None = strawberry.field(default=UNSET, description=DESCRIPTION)
    notificationSender: str | None = strawberry.field(
        default=UNSET, description=NOTIFICATION_SENDER
    )
    generalInfo: GeneralInfoInput | None = like_output(
        CustomerClass, "generalInfo", more=TABS_ON_UPDATE
    )
    measuredServices: list[MeasuredServiceInput] | None = strawberry.field(
        default=UNSET,
        description="Replaces the whole list of measured services ([] clears it; null is"
        " INVALID): each parameter at most once (INVALID), so at most 3 entries"
        " (OUT_OF_RANGE).",
    )
    notifications: NotificationSettingsInput | None = like_output(
        CustomerClass, "notifications", more=TABS_ON_UPDATE
    )
    outOfTurnInvoices: OutOfTurnInvoicesInput | None = like_output(
        CustomerClass, "outOfTurnInvoices", more=TABS_ON_UPDATE
    )
    regularInvoices: RegularInvoicesInput | None = like_output(
        CustomerClass, "regularInvoices", more=TABS_ON_UPDATE
    )
    taxation: TaxationInput | None = like_output(CustomerClass, "taxation", more=TABS_ON_UPDATE)
    customFieldIds: list[strawberry.ID] | None = strawberry.field(
        default=UNSET,
        description="Replaces the set of enabled custom fields ([] clears it; null is"
        " INVALID): global IDs of CustomFieldDefinition entries (NOT_FOUND per index), at"
        " most 50 (OUT_OF_RANGE, and then none is looked up), no repeats (INVALID).",
    )
    fraudProtection: FraudProtectionInput | None = strawberry.field(
        default=UNSET,
        description="Patch of fraud protection. On a class without currency any value is"
        " DEPENDENCY; null resets it to its defaults (off).",
    )
    dryRun: bool | None = strawberry.field(default=False, description=DRY_RUN["class"])


@strawberry.input(description="Which class to copy, and the copy's name.")
class CloneCustomerClassInput:
    id: strawberry.ID = strawberry.field(
        description="Global ID of a class the caller may see (NOT_FOUND otherwise). A source"
        " whose lists exceed today's maxima is OUT_OF_RANGE here."
    )
    name: str = strawberry.field(
        description="The copy's name:"
        + NAME
        + " Unique among the classes of the copy's manager (TAKEN): the source's manager for"
        " administrators, the reseller itself for resellers."
    )


@strawberry.input(description="The classes to delete.")
class DeleteCustomerClassesInput:
    ids: list[strawberry.ID] = strawberry.field(
        description="Global IDs of the classes, at most 100 (else OUT_OF_RANGE on ids and"
        " nothing is deleted); a repeated ID is deleted once. Each refused ID gets one error"
        ' on ["input", "ids", index]: NOT_FOUND, NOT_PERMITTED, DEFAULT_CLASS or IN_USE, in'
        " that precedence."
    )
    dryRun: bool | None = strawberry.field(default=False, description=DRY_RUN["delete"])


@strawberry.input(description="Share a class with resellers, or stop sharing it.")
class SetCustomerClassSharingInput:
    id: strawberry.ID = strawberry.field(
        description="Global ID of the class (NOT_FOUND if there is none such)."
    )
    shared: bool = strawberry.field(
        description="true: resellers may see (read-only) and assign the class; administrator-"
        "managed classes only (DEPENDENCY). false: stop sharing; never for the Default class"
        " (DEFAULT_CLASS), nor while a reseller's customer uses the class (IN_USE)."
    )
    expectedVersion: int | None = strawberry.field(default=UNSET, description=EXPECTED_VERSION)
    dryRun: bool | None = strawberry.field(default=False, description=DRY_RUN["class"])


@strawberry.input(
    description="Restore a class's settings at an earlier version of its history: every tab,"
    " the description and the notification sender (never the name, manager, business"
    " model, currency or sharing), as one update checked like updateCustomerClass."
)
class RevertCustomerClassInput:
    id: strawberry.ID = strawberry.field(
        description="Global ID of the class (NOT_FOUND if the caller may not see it;"
        " NOT_PERMITTED if it may see but not change it, e.g. a shared class, to a reseller)."
    )
    toVersion: int = strawberry.field(
        description="The version whose settings to restore. The class gets a new version;"
        " history is never rewritten. From 1 to the class's current version (OUT_OF_RANGE);"
        " the current version itself changes nothing."
    )
    expectedVersion: int | None = strawberry.field(default=UNSET, description=EXPECTED_VERSION)
    dryRun: bool | None = strawberry.field(
        default=False,
        description="Validate and return the class as the revert would leave it, without"
        " writing anything (no audit event, no version change). Default false.",
    )


@strawberry.input(
    description="Copy payment terms and past-due policy from regularInvoices to outOfTurnInvoices."
)
class CopyRegularInvoiceSettingsInput:
    id: strawberry.ID = strawberry.field(
        description="Global ID of the class (NOT_FOUND, NOT_PERMITTED as for"
        " updateCustomerClass). When the copy would break a rule of the out-of-turn tab, its"
        " code is reported on this field, the message naming the setting."
    )
    expectedVersion: int | None = strawberry.field(default=UNSET, description=EXPECTED_VERSION)


@strawberry.input(description="Which manager's classes to list.")
class ManagedByFilter:
    kind: ManagerKind = strawberry.field(
        description="ADMINISTRATOR: administrator-managed classes; RESELLER: reseller-managed"
        " classes (for a reseller, its own)."
    )
    resellerId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="With kind RESELLER: only the classes of this reseller (global ID of a"
        " Customer); for a reseller, any ID but its own matches nothing. A value that is no"
        " Customer ID is the top-level error BAD_USER_INPUT (with either kind).",
    )


@strawberry.input(description="Conditions on the classes listed; all given ones must hold.")
class CustomerClassFilter:
    nameContains: str | None = strawberry.field(
        default=UNSET,
        description="A part of the name, compared ignoring case and compatibility forms"
        " (like names are for uniqueness), with %, _ and \\ taken literally; at most 100"
        " characters (longer: top-level BAD_USER_INPUT).",
    )
    businessModelId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Only classes of this BusinessModel (global ID; an unknown one matches"
        " nothing, a value that is no BusinessModel ID is the top-level error"
        " BAD_USER_INPUT).",
    )
    currencyCode: str | None = strawberry.field(
        default=UNSET,
        description="Only classes of this currency: an ISO 4217 code, upper case; the empty"
        " string matches classes without currency. Three upper-case letters that are no"
        " ISO 4217 code match nothing; anything else (usd, US, EURO) is the top-level error"
        " BAD_USER_INPUT.",
    )
    managedBy: ManagedByFilter | None = strawberry.field(
        default=UNSET, description="Only classes of this manager."
    )
    invoicing: InvoicingPreference | None = strawberry.field(
        default=UNSET, description="Only classes with these invoice tabs enabled."
    )
    taxationMethod: TaxationMethod | None = strawberry.field(
        default=UNSET, description="Only classes with this taxation method."
    )
    includeShared: bool = strawberry.field(
        default=True,
        description="Resellers: also list administrator classes shared with resellers."
        " Ignored for administrators. Default true.",
    )


@strawberry.enum(
    description="What customerClasses is sorted by. Every sort ends with the class's id, so"
    " that cursors are stable."
)
class CustomerClassSortField(Enum):
    NAME = strawberry.enum_value(
        "NAME",
        description="The name, compared as its key (case-folded NFKC) in byte order. The default.",
    )
    CREATED_AT = strawberry.enum_value("CREATED_AT", description="When the class was created.")
    UPDATED_AT = strawberry.enum_value("UPDATED_AT", description="When the class last changed.")
    CUSTOMER_COUNT = strawberry.enum_value(
        "CUSTOMER_COUNT",
        description="How many customers use the class, counting only those the caller may see.",
    )


@strawberry.input(description="The order of customerClasses.")
class CustomerClassOrder:
    field: CustomerClassSortField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(
        default=SortDirection.ASC, description="Default ASC."
    )


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
    (RevertCustomerClassInput, inputs.RevertCustomerClass),
    (ManagedByFilter, inputs.ManagedBy),
    (CustomerClassFilter, inputs.CustomerClassFilter),
):
    check_input(_input, _typed)
check_values(ManagerKind, inputs.ManagerKind)
check_values(InvoicingPreference, inputs.InvoicingPreference)
