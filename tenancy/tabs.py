"""The tabs of a customer class (SPEC §5): defaults, patches and every validation rule.

A class's settings are one nested document in the shape of the GraphQL output (camelCase
keys; money and percentages as exact decimal strings; referenced catalog entries as raw
keys under ``...Id``/``...Ids``). Creating a class applies its input as a patch to the
defaults; updating applies the input to the stored document. Either way:

1. ``references`` lists the IDs the patch names, so the use-case can resolve them first
   (NOT_FOUND precedes everything else);
2. ``apply_patch`` merges the patch, checking each value on its own (format, range,
   length, explicit nulls) and remembering which paths the input touched;
3. ``validate`` checks the rules that span fields on the document as it will be stored,
   reporting each broken rule on the field of this input that breaks it (the dependent
   or later one when both are in the input).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, assert_never, cast, get_args

from tenancy import documents, fields, maxima
from tenancy.documents import InvoiceTab, NotificationChannel, NotificationType, TabKey
from tenancy.errors import ErrorList, Path
from tenancy.errors import UserErrorCode as Code

# The enum's order, which the output lists every type in (SPEC §5), stated once: in the
# Literal of tenancy.documents.
NOTIFICATION_TYPES: tuple[NotificationType, ...] = get_args(NotificationType)
# Each parameter is measured at most once per class, so the enum's size bounds the list.
MEASURED_PARAMETERS: tuple[documents.MeasuredParameter, ...] = get_args(documents.MeasuredParameter)
TAB_KEYS: tuple[TabKey, ...] = get_args(TabKey)  # output order, stated in the Literal
# Taxation methods that can assess taxes when the customer pays.
PAYMENT_TIME_METHODS: frozenset[documents.TaxationMethod] = frozenset(
    {"FIXED_VAT_RATE", "CUSTOM_TAXATION", "GST"}
)
MAX_DAY_LIST = 10

INVOICE_TABS: tuple[InvoiceTab, ...] = ("regularInvoices", "outOfTurnInvoices")
CHANNELS: tuple[NotificationChannel, ...] = ("email", "sms")

# The tabs document of a class (tenancy.documents.Tabs).
Settings = documents.Tabs


# --------------------------------------------------------------------------- defaults


def _payment_terms() -> documents.PaymentTerms:
    return {
        "netDays": 0,
        "dueDateReminderDays": [],
        "autoCharge": False,
        "autoChargeTiming": "UPON_INVOICE_GENERATION",
    }


def _past_due(decimals: int) -> documents.PastDuePolicy:
    return {
        "collectionThreshold": fields.format_money(Decimal(0), decimals),
        "resendInvoiceDays": [],
        "lateFee": None,
        "limitServiceAfterDays": None,
        "limitationNoticeDays": [],
        "suspendAfterDays": None,
        "suspensionNoticeDays": [],
        "reactivationFee": None,
        "terminateAfterDays": None,
        "terminationNoticeDays": [],
        "terminateCommitments": False,
        "restoreAfterPartialPayment": False,
    }


def default_channel() -> documents.ChannelSetting:
    return {"send": False, "template": "SYSTEM"}


def default_fraud_protection() -> documents.FraudProtection:
    return {
        "dailySpendingThreshold": None,
        "checkRemainingFunds": False,
        "sendWarning": False,
        "warningThresholdPercent": None,
    }


def default_settings(money_decimals: int | None) -> Settings:
    """The tabs of a new class; ``money_decimals`` is None for a class without currency."""
    decimals = fields.DEFAULT_MONEY_DECIMALS if money_decimals is None else money_decimals
    return {
        "generalInfo": {
            "generateStatistics": True,
            "sendStatistics": "DO_NOT_SEND",
            "billingPeriodClosure": "AFTER_GLOBAL_DELAY",
            "closeDelayHours": None,
            "roundingMethod": "AWAY_FROM_ZERO",
            "roundingPrecision": 2,
            "suspendOnInsufficientFunds": False,
            "billedExternally": False,
            "resetBalanceEveryPeriod": False,
            "hideBalanceResetXdr": False,
        },
        "measuredServices": [],
        "notifications": {
            "notificationSetId": None,
            "settings": {
                t: {"email": default_channel(), "sms": default_channel()}
                for t in NOTIFICATION_TYPES
            },
        },
        "regularInvoices": {
            "enabled": False,
            "invoiceTemplateId": None,
            "pdfGeneration": "AT_END_OF_BILLING_PERIOD",
            "delivery": "AUTOMATICALLY",
            "holdForReviewDays": None,
            "paymentTerms": _payment_terms(),
            "pastDue": _past_due(decimals),
        },
        "outOfTurnInvoices": {
            "enabled": False,
            "invoiceTemplateId": None,
            "delivery": "NEVER",
            "separateInvoiceForRecurringFees": False,
            "paymentTerms": _payment_terms(),
            "pastDue": _past_due(decimals),
        },
        "taxation": {
            "method": "NO_TAXATION",
            "assessTaxes": False,
            "taxesIncludedInRates": False,
            "assessment": "AT_END_OF_BILLING_PERIOD",
            "vatRatePercent": None,
            "taxName": None,
            "customTaxIds": [],
        },
        "customFieldIds": [],
        "fraudProtection": None if money_decimals is None else default_fraud_protection(),
    }


# --------------------------------------------------------------------------- value specs


LeafKind = Literal["bool", "enum", "int", "money", "percent", "text", "id", "ids", "days"]


@dataclass(frozen=True)
class Leaf:
    """One input value: its kind and its own limits."""

    kind: LeafKind
    nullable: bool = False
    low: int | None = None
    high: int | None = None
    positive: bool = False  # money: > 0 instead of >= 0
    max_length: int | None = None  # text length, or list length for days and ids
    node_type: str | None = None  # id / ids: the GraphQL type the IDs name


@dataclass(frozen=True)
class Obj:
    fields: Mapping[str, Leaf | Obj]
    nullable: bool = False


BOOL = Leaf("bool")
ENUM = Leaf("enum")
DAYS = Leaf("days", max_length=MAX_DAY_LIST)
STEP = Leaf("int", nullable=True, low=0, high=3650)

PAYMENT_TERMS = Obj(
    {
        "netDays": Leaf("int", low=0, high=365),
        "dueDateReminderDays": DAYS,
        "autoCharge": BOOL,
        "autoChargeTiming": ENUM,
    }
)
PAST_DUE = Obj(
    {
        "collectionThreshold": Leaf("money"),
        "resendInvoiceDays": DAYS,
        "lateFee": Leaf("money", nullable=True, positive=True),
        "limitServiceAfterDays": STEP,
        "limitationNoticeDays": DAYS,
        "suspendAfterDays": STEP,
        "suspensionNoticeDays": DAYS,
        "reactivationFee": Leaf("money", nullable=True, positive=True),
        "terminateAfterDays": STEP,
        "terminationNoticeDays": DAYS,
        "terminateCommitments": BOOL,
        "restoreAfterPartialPayment": BOOL,
    }
)
TEMPLATE_ID = Leaf("id", nullable=True, node_type="InvoiceTemplate")
TABS = Obj(
    {
        "generalInfo": Obj(
            {
                "generateStatistics": BOOL,
                "sendStatistics": ENUM,
                "billingPeriodClosure": ENUM,
                "closeDelayHours": Leaf("int", nullable=True, low=1, high=72),
                "roundingMethod": ENUM,
                "roundingPrecision": Leaf("int", low=0, high=6),
                "suspendOnInsufficientFunds": BOOL,
                "billedExternally": BOOL,
                "resetBalanceEveryPeriod": BOOL,
                "hideBalanceResetXdr": BOOL,
            }
        ),
        "notifications": Obj(
            {"notificationSetId": Leaf("id", nullable=True, node_type="NotificationSet")}
        ),  # "settings" is merged per type, see _apply_notification_settings
        "regularInvoices": Obj(
            {
                "enabled": BOOL,
                "invoiceTemplateId": TEMPLATE_ID,
                "pdfGeneration": ENUM,
                "delivery": ENUM,
                "holdForReviewDays": Leaf("int", nullable=True, low=1, high=30),
                "paymentTerms": PAYMENT_TERMS,
                "pastDue": PAST_DUE,
            }
        ),
        "outOfTurnInvoices": Obj(
            {
                "enabled": BOOL,
                "invoiceTemplateId": TEMPLATE_ID,
                "delivery": ENUM,
                "separateInvoiceForRecurringFees": BOOL,
                "paymentTerms": PAYMENT_TERMS,
                "pastDue": PAST_DUE,
            }
        ),
        "taxation": Obj(
            {
                "method": ENUM,
                "assessTaxes": BOOL,
                "taxesIncludedInRates": BOOL,
                "assessment": ENUM,
                "vatRatePercent": Leaf("percent", nullable=True),
                "taxName": Leaf("text", nullable=True, max_length=50),
                "customTaxIds": Leaf(
                    "ids", node_type="CustomTax", max_length=maxima.CUSTOM_TAXES_PER_CLASS
                ),
            }
        ),
        "customFieldIds": Leaf(
            "ids", node_type="CustomFieldDefinition", max_length=maxima.CUSTOM_FIELDS_PER_CLASS
        ),
        "fraudProtection": Obj(
            {
                "dailySpendingThreshold": Leaf("money", nullable=True, positive=True),
                "checkRemainingFunds": BOOL,
                "sendWarning": BOOL,
                "warningThresholdPercent": Leaf("int", nullable=True, low=1, high=100),
            },
            nullable=True,
        ),
    }
)
MEASURED_SERVICE = {
    "pricePerItem": Leaf("money"),
    "itemsFreeOfCharge": Leaf("int", low=0, high=2**31 - 1),
    "rateCode": Leaf("text", nullable=True, max_length=64),
    "service": Leaf("text", nullable=True, max_length=64),
}

# Where each document object's spec sits in TABS, and the keys its spec leaves to code.
_SHAPES: tuple[tuple[Path, Any, frozenset[str]], ...] = (
    ((), documents.Tabs, frozenset({"measuredServices"})),  # _apply_measured_services
    (("generalInfo",), documents.GeneralInfo, frozenset()),
    (("notifications",), documents.Notifications, frozenset({"settings"})),
    (("regularInvoices",), documents.RegularInvoices, frozenset()),
    (("regularInvoices", "paymentTerms"), documents.PaymentTerms, frozenset()),
    (("regularInvoices", "pastDue"), documents.PastDuePolicy, frozenset()),
    (("outOfTurnInvoices",), documents.OutOfTurnInvoices, frozenset()),
    (("outOfTurnInvoices", "paymentTerms"), documents.PaymentTerms, frozenset()),
    (("outOfTurnInvoices", "pastDue"), documents.PastDuePolicy, frozenset()),
    (("taxation",), documents.Taxation, frozenset()),
    (("fraudProtection",), documents.FraudProtection, frozenset()),
)


def _check_specs() -> None:
    """The specs that drive ``apply_patch`` name exactly the keys of the typed documents
    it builds (``tenancy.documents``): a key added to one and not the other fails at
    import, not on a request. The specs are walked by key, which mypy cannot follow."""

    def keys(typed: Any) -> frozenset[str]:
        return frozenset(typed.__required_keys__ | typed.__optional_keys__)

    for path, typed, by_code in _SHAPES:
        spec: Leaf | Obj = TABS
        for key in path:
            assert isinstance(spec, Obj)
            spec = spec.fields[key]
        assert isinstance(spec, Obj)
        if frozenset(spec.fields) | by_code != keys(typed):
            raise RuntimeError(f"tabs spec at {path} and {typed.__name__} differ")
    if frozenset(MEASURED_SERVICE) | {"parameter", "chargeBasedOn"} != keys(
        documents.MeasuredService
    ):
        raise RuntimeError("MEASURED_SERVICE and documents.MeasuredService differ")


_check_specs()


# --------------------------------------------------------------------------- references


@dataclass(frozen=True)
class Reference:
    path: Path  # without the "input" prefix
    node_type: str
    raw: object


def references(patch: Mapping[str, Any]) -> list[Reference]:
    """Every ID the tab part of an input names, with its path, for resolution."""
    return list(_walk_references(TABS, patch, ()))


def _walk_references(spec: Obj, patch: Mapping[str, Any], path: Path) -> Iterator[Reference]:
    for key, raw in patch.items():
        sub = spec.fields.get(key)
        if raw is None or sub is None:
            continue
        if isinstance(sub, Obj):
            if isinstance(raw, Mapping):
                yield from _walk_references(sub, raw, (*path, key))
        elif sub.kind == "id":
            yield Reference((*path, key), sub.node_type or "", raw)
        elif sub.kind == "ids" and isinstance(raw, list) and not _too_long(sub, raw):
            # (a list over its maximum is refused as a whole: its IDs are not looked up)
            for index, item in enumerate(raw):
                yield Reference((*path, key, str(index)), sub.node_type or "", item)


def _too_long(spec: Leaf, raw: list[Any]) -> bool:
    return spec.max_length is not None and len(raw) > spec.max_length


# Output names of the bounded lists, for messages.
_LIST_NOUNS = {"customFieldIds": "custom fields", "customTaxIds": "custom taxes"}


def oversized(settings: Settings) -> list[str]:
    """The lists of a stored tabs document longer than SPEC §7 allows, as dotted paths.
    Only a row written before the maxima were enforced can have one."""
    found = []
    if len(settings["customFieldIds"]) > maxima.CUSTOM_FIELDS_PER_CLASS:
        found.append("customFieldIds")
    if len(settings["taxation"]["customTaxIds"]) > maxima.CUSTOM_TAXES_PER_CLASS:
        found.append("taxation.customTaxIds")
    if len(settings["measuredServices"]) > len(MEASURED_PARAMETERS):
        found.append("measuredServices")
    return found


# --------------------------------------------------------------------------- patching


@dataclass
class Patching:
    """State of one patch application: errors, touched paths, resolved references."""

    errors: ErrorList
    money_decimals: int
    has_currency: bool
    resolved: Mapping[Path, int] = field(default_factory=dict)
    touched: set[Path] = field(default_factory=set)
    # Paths whose own value was refused (format, range, null): rules involving them are
    # not judged, since the value they would be judged on is not the one the input gave.
    failed: set[Path] = field(default_factory=set)
    # NotificationType -> index of its entry in the input's settings list.
    notification_index: dict[str, int] = field(default_factory=dict)

    def first_touched(self, *candidates: Path) -> Path | None:
        for candidate in candidates:
            if candidate in self.touched:
                return candidate
        return None


def apply_patch(current: Settings, patch: Mapping[str, Any], state: Patching) -> Settings:
    """Return ``current`` with the tab part of ``patch`` applied (``current`` is untouched).

    The patch is walked by its spec (``TABS``), key by key, so the result is built as
    plain data; it is a ``Settings`` again because ``TABS`` has exactly the keys of
    ``documents.Tabs`` (checked at import, see ``_check_specs``)."""
    result = cast(dict[str, Any], copy.deepcopy(current))
    for key in TAB_KEYS:
        if key not in patch:
            continue
        raw = patch[key]
        path: Path = (key,)
        if key == "measuredServices":
            value = _apply_measured_services(raw, state)
            if value is not None:
                result[key] = value
            continue
        if key == "fraudProtection" and not state.has_currency:
            state.touched.add(path)
            state.errors.add(
                Code.DEPENDENCY,
                path,
                "Fraud protection needs a class currency; this class accepts any currency.",
            )
            continue
        spec = TABS.fields[key]
        if isinstance(spec, Leaf):
            ok, value = _apply_leaf(spec, raw, path, state)
            if ok:
                result[key] = value
            continue
        if raw is None:
            if spec.nullable:  # fraudProtection: null switches it off entirely
                state.touched.add(path)
                result[key] = default_fraud_protection()
            else:
                state.errors.add(Code.INVALID, path, f"{key} cannot be null; omit it to keep it.")
            continue
        result[key] = _apply_object(spec, result[key], raw, path, state)
        if key == "notifications" and "settings" in raw:
            _apply_notification_settings(result[key], raw["settings"], state)
    return cast(Settings, result)


def _apply_object(
    spec: Obj, current: Mapping[str, Any], patch: Mapping[str, Any], path: Path, state: Patching
) -> dict[str, Any]:
    result = dict(current)
    for key, raw in patch.items():
        sub = spec.fields.get(key)
        if sub is None:
            continue  # handled by the caller (notifications.settings)
        sub_path = (*path, key)
        if isinstance(sub, Obj):
            if raw is None:
                state.touched.add(sub_path)
                state.failed.add(sub_path)
                state.errors.add(
                    Code.INVALID, sub_path, f"{key} cannot be null; omit it to keep it."
                )
                continue
            result[key] = _apply_object(sub, current[key], raw, sub_path, state)
            continue
        ok, value = _apply_leaf(sub, raw, sub_path, state)
        if ok:
            result[key] = value
    return result


def _apply_leaf(spec: Leaf, raw: Any, path: Path, state: Patching) -> tuple[bool, Any]:
    """Check one value; returns (accepted, normalised value)."""
    accepted, value = _check_leaf(spec, raw, path, state)
    if not accepted:
        state.failed.add(path)
    return accepted, value


def _check_leaf(spec: Leaf, raw: Any, path: Path, state: Patching) -> tuple[bool, Any]:
    state.touched.add(path)
    name = path[-1]
    if raw is None:
        if spec.nullable:
            return True, None
        state.errors.add(Code.INVALID, path, f"{name} cannot be null; omit it to keep it.")
        return False, None
    kind = spec.kind
    if kind == "bool":
        return True, bool(raw)
    if kind == "enum":
        return True, str(raw)
    if kind == "int":
        if (spec.low is not None and raw < spec.low) or (spec.high is not None and raw > spec.high):
            state.errors.add(
                Code.OUT_OF_RANGE, path, f"{name} must be between {spec.low} and {spec.high}."
            )
            return False, None
        return True, int(raw)
    if kind == "money":
        value, problem = fields.check_money(raw, state.money_decimals, name, positive=spec.positive)
    elif kind == "percent":
        value, problem = fields.check_percent(raw, name)
    elif kind == "text":
        value, problem = fields.check_text(raw, spec.max_length or 0, name, strip=True)
    elif kind == "id":
        resolved = state.resolved.get(path)
        return resolved is not None, resolved
    elif kind == "ids":
        if _too_long(spec, raw):
            noun = _LIST_NOUNS.get(str(name), str(name))
            state.errors.add(
                Code.OUT_OF_RANGE, path, f"A class has at most {spec.max_length} {noun}."
            )
            return False, None
        return _apply_ids(raw, path, state)
    elif kind == "days":
        if len(raw) > (spec.max_length or 0):
            state.errors.add(
                Code.OUT_OF_RANGE, path, f"{name} may list at most {spec.max_length} days."
            )
            return False, None
        return True, [int(day) for day in raw]
    else:  # pragma: no cover - mypy proves every kind is handled above
        assert_never(kind)
    if problem:
        state.errors.add(problem[0], path, problem[1])
        return False, None
    return True, value


def _apply_ids(raw: list[Any], path: Path, state: Patching) -> tuple[bool, Any]:
    keys: list[int] = []
    ok = True
    for index in range(len(raw)):
        state.touched.add((*path, str(index)))
        key = state.resolved.get((*path, str(index)))
        if key is None:
            ok = False  # NOT_FOUND was reported during resolution
        elif key in keys:
            state.errors.add(Code.INVALID, (*path, str(index)), f"{path[-1]} lists this ID twice.")
            ok = False
        else:
            keys.append(key)
    if path == ("customFieldIds",):
        keys.sort()  # a set: stored in a canonical order so equal sets compare equal
    return ok, keys


def _apply_measured_services(raw: Any, state: Patching) -> list[dict[str, Any]] | None:
    path: Path = ("measuredServices",)
    state.touched.add(path)
    if raw is None:
        state.errors.add(
            Code.INVALID, path, "measuredServices cannot be null; pass [] to clear it."
        )
        return None
    if len(raw) > len(MEASURED_PARAMETERS):
        state.errors.add(
            Code.OUT_OF_RANGE,
            path,
            f"measuredServices lists each of the {len(MEASURED_PARAMETERS)} parameters at"
            " most once.",
        )
        return None
    services: list[dict[str, Any]] = []
    seen: set[str] = set()
    ok = True
    for index, item in enumerate(raw):
        item_path = (*path, str(index))
        parameter = str(item["parameter"])
        if parameter in seen:
            state.errors.add(
                Code.INVALID, (*item_path, "parameter"), f"{parameter} is already in the list."
            )
            ok = False
        seen.add(parameter)
        service = {"parameter": parameter, "chargeBasedOn": str(item["chargeBasedOn"])}
        for key, spec in MEASURED_SERVICE.items():
            raw_value = item.get(key, 0 if key == "itemsFreeOfCharge" else None)
            accepted, value = _apply_leaf(spec, raw_value, (*item_path, key), state)
            ok = ok and accepted
            service[key] = value
        services.append(service)
    return services if ok else None


def _apply_notification_settings(notifications: dict[str, Any], raw: Any, state: Patching) -> None:
    path: Path = ("notifications", "settings")
    if raw is None:
        state.errors.add(Code.INVALID, path, "settings cannot be null; omit it to keep it.")
        return
    if len(raw) > len(NOTIFICATION_TYPES):
        state.errors.add(
            Code.OUT_OF_RANGE,
            path,
            f"settings lists each of the {len(NOTIFICATION_TYPES)} notification types at"
            " most once.",
        )
        return
    settings: dict[str, dict[str, Any]] = {
        t: dict(notifications["settings"].get(t) or {}) for t in NOTIFICATION_TYPES
    }
    for index, entry in enumerate(raw):
        entry_path = (*path, str(index))
        kind = str(entry["type"])
        if kind in state.notification_index:
            state.errors.add(Code.INVALID, (*entry_path, "type"), f"{kind} is listed twice.")
            continue
        state.notification_index[kind] = index
        for channel in ("email", "sms"):
            if channel not in entry:
                continue
            channel_path = (*entry_path, channel)
            given = entry[channel]
            if given is None:
                state.errors.add(Code.INVALID, channel_path, f"{channel} cannot be null.")
                continue
            current = dict(settings[kind].get(channel) or default_channel())
            current["send"] = bool(given["send"])
            state.touched.add((*channel_path, "send"))
            if "template" in given:
                if given["template"] is None:
                    state.errors.add(
                        Code.INVALID, (*channel_path, "template"), "template cannot be null."
                    )
                else:
                    current["template"] = str(given["template"])
            settings[kind][channel] = current
    notifications["settings"] = settings


# --------------------------------------------------------------------------- validation


class _Rules:
    """Cross-field rules, reported where SPEC §5 says: on the touched field that breaks
    the rule, preferring the dependent (later) one."""

    def __init__(self, state: Patching) -> None:
        self.state = state
        self.reported: set[tuple[Code, Path, str]] = set()

    def judged(self, *paths: Path) -> bool:
        """False when one of the values a rule involves was refused on its own: that
        value already has its error, and the rule cannot be judged without it."""
        return not any(path in self.state.failed for path in paths)

    def add(self, code: Code, where: Path, message: str) -> None:
        """Report once: the same rule broken by several list entries on one field of
        the input (e.g. ``taxation.assessment``) is one error."""
        if (code, where, message) not in self.reported:
            self.reported.add((code, where, message))
            self.state.errors.add(code, where, message)

    def dependency(self, ok: bool, message: str, *candidates: Path) -> None:
        self.check(ok, Code.DEPENDENCY, message, *candidates)

    def check(self, ok: bool, code: Code, message: str, *candidates: Path) -> None:
        if ok or not self.judged(*candidates):
            return
        where = self.state.first_touched(*candidates)
        if where is not None:
            self.add(code, where, message)

    def required(self, ok: bool, missing: Path, message: str, *controls: Path) -> None:
        """A value another setting makes mandatory is missing: REQUIRED on that value."""
        if ok or not self.judged(missing, *controls):
            return
        if self.state.first_touched(missing, *controls) is not None:
            self.add(Code.REQUIRED, missing, message)


def validate(
    settings: Settings, state: Patching, tax_applied_to: Callable[[int], str | None]
) -> None:
    """Check every cross-field rule of SPEC §5 against ``settings`` (the patched class)."""
    rules = _Rules(state)
    _validate_general_info(settings["generalInfo"], rules)
    _validate_notifications(settings["notifications"], state)
    regular = settings["regularInvoices"]
    rules.dependency(
        not regular["enabled"] or settings["generalInfo"]["generateStatistics"],
        "Regular invoices need statistics (generalInfo.generateStatistics) on.",
        ("regularInvoices", "enabled"),
        ("generalInfo", "generateStatistics"),
    )
    review = regular["delivery"] == "AFTER_ADMINISTRATOR_REVIEW"
    hold = ("regularInvoices", "holdForReviewDays")
    rules.required(
        not review or regular["holdForReviewDays"] is not None,
        hold,
        "holdForReviewDays is required with AFTER_ADMINISTRATOR_REVIEW delivery.",
        ("regularInvoices", "delivery"),
    )
    rules.dependency(
        review or regular["holdForReviewDays"] is None,
        "holdForReviewDays is only for AFTER_ADMINISTRATOR_REVIEW delivery; set it to null.",
        hold,
        ("regularInvoices", "delivery"),
    )
    out_of_turn = settings["outOfTurnInvoices"]
    rules.dependency(
        not out_of_turn["separateInvoiceForRecurringFees"]
        or out_of_turn["paymentTerms"]["autoCharge"],
        "Separate invoices for recurring fees can only be paid by auto-charge"
        " (outOfTurnInvoices.paymentTerms.autoCharge).",
        ("outOfTurnInvoices", "separateInvoiceForRecurringFees"),
        ("outOfTurnInvoices", "paymentTerms", "autoCharge"),
    )
    for tab in INVOICE_TABS:
        _validate_payment_terms(settings[tab]["paymentTerms"], (tab, "paymentTerms"), rules)
        _validate_past_due(settings[tab]["pastDue"], (tab, "pastDue"), rules)
    _validate_taxation(settings["taxation"], rules, tax_applied_to)
    if settings["fraudProtection"] is not None:
        _validate_fraud_protection(settings["fraudProtection"], rules)


def _validate_general_info(general: documents.GeneralInfo, rules: _Rules) -> None:
    p: Path = ("generalInfo",)
    rules.dependency(
        general["generateStatistics"] or general["sendStatistics"] == "DO_NOT_SEND",
        "sendStatistics must be DO_NOT_SEND while statistics are off.",
        (*p, "sendStatistics"),
        (*p, "generateStatistics"),
    )
    extra_delay = general["billingPeriodClosure"] == "WITH_EXTRA_DELAY"
    rules.required(
        not extra_delay or general["closeDelayHours"] is not None,
        (*p, "closeDelayHours"),
        "closeDelayHours (1..72) is required with WITH_EXTRA_DELAY.",
        (*p, "billingPeriodClosure"),
    )
    rules.dependency(
        extra_delay or general["closeDelayHours"] is None,
        "closeDelayHours is only for WITH_EXTRA_DELAY closure; set it to null.",
        (*p, "closeDelayHours"),
        (*p, "billingPeriodClosure"),
    )
    rules.dependency(
        not general["billedExternally"]
        or general["billingPeriodClosure"] != "UPON_ADMINISTRATOR_APPROVAL",
        "External billing closes periods automatically: it cannot wait for"
        " UPON_ADMINISTRATOR_APPROVAL.",
        (*p, "billedExternally"),
        (*p, "billingPeriodClosure"),
    )
    rules.dependency(
        not general["resetBalanceEveryPeriod"] or general["billedExternally"],
        "resetBalanceEveryPeriod requires billedExternally.",
        (*p, "resetBalanceEveryPeriod"),
        (*p, "billedExternally"),
    )
    rules.dependency(
        not general["hideBalanceResetXdr"] or general["resetBalanceEveryPeriod"],
        "hideBalanceResetXdr requires resetBalanceEveryPeriod.",
        (*p, "hideBalanceResetXdr"),
        (*p, "resetBalanceEveryPeriod"),
    )


def _validate_notifications(notifications: documents.Notifications, state: Patching) -> None:
    if notifications["notificationSetId"] is not None:
        return
    set_path: Path = ("notifications", "notificationSetId")
    unlisted_sending = False
    for kind in NOTIFICATION_TYPES:
        entry = notifications["settings"][kind]
        for channel in CHANNELS:
            if not entry[channel]["send"]:
                continue
            index = state.notification_index.get(kind)
            send_path: Path = ("notifications", "settings", str(index), channel, "send")
            if index is not None and send_path in state.touched:
                state.errors.add(
                    Code.DEPENDENCY,
                    send_path,
                    "Sending a notification needs a notification set (notificationSetId).",
                )
            else:
                unlisted_sending = True
    if unlisted_sending and set_path in state.touched:
        state.errors.add(
            Code.DEPENDENCY,
            set_path,
            "Notifications are still sent: switch them off before detaching the notification set.",
        )


def _day_list(
    rules: _Rules,
    days: list[int],
    path: Path,
    control: Path,
    low: int,
    high: int | None,
    *,
    decreasing: bool,
    what: str,
) -> None:
    """Range and order of a list of day offsets whose range depends on ``control``."""
    state = rules.state
    if path in state.failed:
        return  # the input's list was refused as a whole; ``days`` is the stored one
    listed = path in state.touched
    range_known = control == path or control not in state.failed
    reported_control = False
    for index, day in enumerate(days):
        if range_known and (high is None or not low <= day <= high):
            bound = "" if high is None else f" between {low} and {high}"
            message = f"{what}: each day must be{bound}."
            if listed:
                state.errors.add(Code.OUT_OF_RANGE, (*path, str(index)), message)
            elif control in state.touched and not reported_control:
                reported_control = True
                state.errors.add(Code.OUT_OF_RANGE, control, message)
        if index and listed:
            previous = days[index - 1]
            if (decreasing and day >= previous) or (not decreasing and day <= previous):
                order = "strictly decreasing" if decreasing else "strictly increasing"
                state.errors.add(
                    Code.INVALID, (*path, str(index)), f"{what} must be distinct and {order}."
                )


def _validate_payment_terms(terms: documents.PaymentTerms, p: Path, rules: _Rules) -> None:
    reminders, net = terms["dueDateReminderDays"], terms["netDays"]
    if reminders and net == 0:
        rules.dependency(
            False,
            "Due-date reminders need netDays above 0 (invoices due upon receipt have none).",
            (*p, "dueDateReminderDays"),
            (*p, "netDays"),
        )
        return
    _day_list(
        rules,
        reminders,
        (*p, "dueDateReminderDays"),
        (*p, "netDays"),
        1,
        net - 1,
        decreasing=True,
        what="dueDateReminderDays (days before the due date)",
    )


StepKey = Literal["limitServiceAfterDays", "suspendAfterDays", "terminateAfterDays"]
NoticesKey = Literal["limitationNoticeDays", "suspensionNoticeDays", "terminationNoticeDays"]
STEPS: tuple[tuple[StepKey, NoticesKey], ...] = (
    ("limitServiceAfterDays", "limitationNoticeDays"),
    ("suspendAfterDays", "suspensionNoticeDays"),
    ("terminateAfterDays", "terminationNoticeDays"),
)


def _validate_past_due(policy: documents.PastDuePolicy, p: Path, rules: _Rules) -> None:
    resend = policy["resendInvoiceDays"]
    _day_list(
        rules,
        resend,
        (*p, "resendInvoiceDays"),
        (*p, "resendInvoiceDays"),
        0,
        365,
        decreasing=False,
        what="resendInvoiceDays (days after the due date)",
    )
    previous: tuple[StepKey, int] | None = None  # the last step that is on, and its offset
    for step, notices_key in STEPS:
        offset = policy[step]
        if offset is not None:
            if previous is not None and offset <= previous[1]:
                rules.check(
                    False,
                    Code.INVALID,
                    f"{step} must come after {previous[0]} (limit < suspend < terminate).",
                    (*p, step),
                    (*p, previous[0]),
                )
            previous = (step, offset)
        notices = policy[notices_key]
        if notices and not offset:
            rules.dependency(
                False,
                f"{notices_key} needs {step} set above 0.",
                (*p, notices_key),
                (*p, step),
            )
            continue
        _day_list(
            rules,
            notices,
            (*p, notices_key),
            (*p, step),
            1,
            offset,
            decreasing=True,
            what=f"{notices_key} (days before the step)",
        )
    rules.dependency(
        policy["reactivationFee"] is None or policy["suspendAfterDays"] is not None,
        "reactivationFee needs a suspension step (suspendAfterDays).",
        (*p, "reactivationFee"),
        (*p, "suspendAfterDays"),
    )
    rules.dependency(
        not policy["terminateCommitments"] or policy["terminateAfterDays"] is not None,
        "terminateCommitments needs a termination step (terminateAfterDays).",
        (*p, "terminateCommitments"),
        (*p, "terminateAfterDays"),
    )
    threshold_positive = Decimal(policy["collectionThreshold"]) > 0
    has_step = policy["limitServiceAfterDays"] is not None or policy["suspendAfterDays"] is not None
    rules.dependency(
        not policy["restoreAfterPartialPayment"] or (threshold_positive and has_step),
        "restoreAfterPartialPayment needs collectionThreshold above 0 and a limitation"
        " or suspension step.",
        (*p, "restoreAfterPartialPayment"),
        (*p, "collectionThreshold"),
        (*p, "limitServiceAfterDays"),
        (*p, "suspendAfterDays"),
    )


def _validate_taxation(
    taxation: documents.Taxation, rules: _Rules, tax_applied_to: Callable[[int], str | None]
) -> None:
    p: Path = ("taxation",)
    method = taxation["method"]
    rules.dependency(
        not taxation["assessTaxes"] or method != "NO_TAXATION",
        "assessTaxes needs a taxation method other than NO_TAXATION.",
        (*p, "assessTaxes"),
        (*p, "method"),
    )
    at_payment = taxation["assessment"] == "AT_TIME_OF_PAYMENT"
    rules.dependency(
        not at_payment or method in PAYMENT_TIME_METHODS,
        "AT_TIME_OF_PAYMENT assessment is supported only by FIXED_VAT_RATE, CUSTOM_TAXATION"
        " and GST.",
        (*p, "assessment"),
        (*p, "method"),
    )
    fixed = method == "FIXED_VAT_RATE"
    fixed_only: tuple[Literal["vatRatePercent", "taxName"], ...] = ("vatRatePercent", "taxName")
    for name in fixed_only:
        rules.dependency(
            fixed or taxation[name] is None,
            f"{name} is only for FIXED_VAT_RATE; set it to null.",
            (*p, name),
            (*p, "method"),
        )
    rules.required(
        not (fixed and taxation["assessTaxes"]) or taxation["vatRatePercent"] is not None,
        (*p, "vatRatePercent"),
        "vatRatePercent is required when FIXED_VAT_RATE taxes are assessed.",
        (*p, "method"),
        (*p, "assessTaxes"),
    )
    custom = method == "CUSTOM_TAXATION"
    taxes = taxation["customTaxIds"]
    rules.dependency(
        custom or not taxes,
        "customTaxIds are only for CUSTOM_TAXATION; pass [] to clear them.",
        (*p, "customTaxIds"),
        (*p, "method"),
    )
    rules.required(
        not (custom and taxation["assessTaxes"]) or bool(taxes),
        (*p, "customTaxIds"),
        "customTaxIds must list at least one tax when CUSTOM_TAXATION taxes are assessed.",
        (*p, "method"),
        (*p, "assessTaxes"),
    )
    if custom and at_payment:
        for index, key in enumerate(taxes):
            rules.dependency(
                tax_applied_to(key) == "ALL_CHARGES",
                "With AT_TIME_OF_PAYMENT assessment every custom tax must apply to ALL_CHARGES.",
                (*p, "customTaxIds", str(index)),
                (*p, "customTaxIds"),
                (*p, "assessment"),
                (*p, "method"),
            )


def _validate_fraud_protection(fraud: documents.FraudProtection, rules: _Rules) -> None:
    p: Path = ("fraudProtection",)
    has_threshold = fraud["dailySpendingThreshold"] is not None
    needs_threshold: tuple[Literal["checkRemainingFunds", "sendWarning"], ...] = (
        "checkRemainingFunds",
        "sendWarning",
    )
    for key in needs_threshold:
        rules.dependency(
            not fraud[key] or has_threshold,
            f"{key} needs a dailySpendingThreshold.",
            (*p, key),
            (*p, "dailySpendingThreshold"),
        )
    rules.required(
        not fraud["sendWarning"] or fraud["warningThresholdPercent"] is not None,
        (*p, "warningThresholdPercent"),
        "warningThresholdPercent (1..100) is required with sendWarning.",
        (*p, "sendWarning"),
    )
