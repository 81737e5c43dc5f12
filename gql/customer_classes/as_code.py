"""Classes as code (issue 11): exportCustomerClasses and applyCustomerClasses."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, cast

import strawberry

from gql import mutation
from gql.common import DRY_RUN, INPUT, JSON, UserError
from gql.context import Info
from gql.customer_classes.impact import FieldChange
from gql.customer_classes.types import CustomerClass, ManagerKind
from gql.input_shapes import check_input, check_values
from tenancy import classes_as_code, inputs, maxima

DOCUMENT = (
    "A JSON object {formatVersion: 1, managedBy, managingResellerId, classes: [...]}, the"
    " format of exportCustomerClasses and `billclass classes export`: each class keyed by"
    " its name (ignoring case) under the document's manager, with every tab, catalog entries"
    " referred to by name (business models by code, custom fields by object and name)."
)


@strawberry.enum(description="What applyCustomerClasses does to one class.")
class PlanAction(Enum):
    CREATE = strawberry.enum_value(
        "CREATE", description="The document names a class its scope lacks: it is created."
    )
    UPDATE = strawberry.enum_value(
        "UPDATE", description="The class exists and differs from the document: it is updated."
    )
    DELETE = strawberry.enum_value(
        "DELETE",
        description="With prune: the class is in the scope but not in the document: it is deleted.",
    )
    UNCHANGED = strawberry.enum_value(
        "UNCHANGED",
        description="The class already is as the document says (or is a read-only reference"
        " to a shared class): nothing is written.",
    )


check_values(PlanAction, classes_as_code.PlanAction)


@strawberry.type(description="What applying a document does (or did) to one class.")
class ClassPlanEntry:
    name: str = strawberry.field(description="The class's name.")
    action: PlanAction = strawberry.field(description="What happens to it.")
    customerClass: CustomerClass | None = strawberry.field(
        description="The class as it is after the change (with dryRun: as it would be,"
        " nested fields included; DELETE: as it was, no longer readable by its ID after a"
        " real run)."
    )
    changes: list[FieldChange] = strawberry.field(
        description="Every setting that changes, by its path in the document (references by"
        " name): all of them from null for CREATE, to null for DELETE, none for UNCHANGED."
    )

    @classmethod
    def of(cls, entry: classes_as_code.PlanEntry) -> ClassPlanEntry:
        return cls(
            name=entry.name,
            action=cast(PlanAction, entry.action),
            customerClass=CustomerClass.of(entry.row),
            changes=[
                FieldChange(path=c.path, before=c.before, after=c.after) for c in entry.changes
            ],
        )


@strawberry.type(description="The result of applyCustomerClasses.")
class ApplyCustomerClassesPayload:
    plan: list[ClassPlanEntry] = strawberry.field(
        description="One entry per class the document names or prune deletes, by name (at"
        f" most {maxima.CLASSES_PER_APPLY}); empty when the input was refused."
    )
    userErrors: list[UserError] = strawberry.field(
        description="Why the document was refused, every error at once, each on its path"
        ' inside the document, e.g. ["input", "document", "classes", "3", "taxation",'
        ' "vatRatePercent"] (["input", "prune"] for a class prune cannot delete); empty on'
        " success."
    )


@strawberry.input(
    description="A set of classes as one document: the format of `billclass classes export`."
)
class ApplyCustomerClassesInput:
    document: JSON = strawberry.field(
        description=DOCUMENT
        + " A key left out of a class means its default; readOnly entries (a reseller's"
        " references to shared classes) are never applied. At most"
        f" {maxima.CLASSES_PER_APPLY} classes per request (OUT_OF_RANGE); malformed documents"
        " are INVALID or REQUIRED on the offending path. Pass it as a variable: the request"
        " body holds at most 64 KiB and a query at most 1,000 tokens."
    )
    prune: bool | None = strawberry.field(
        default=False,
        description="Delete classes of the caller's scope that the document does not name"
        ' (never the Default class, never classes in use: IN_USE on ["input", "prune"]'
        " refuses the whole document). Default false; null reads as false.",
    )
    dryRun: bool | None = strawberry.field(default=False, description=DRY_RUN["apply"])


check_input(ApplyCustomerClassesInput, inputs.ApplyCustomerClasses)


def _payload(plan: Any, errors: list[UserError]) -> ApplyCustomerClassesPayload:
    entries = [ClassPlanEntry.of(entry) for entry in plan or []]
    return ApplyCustomerClassesPayload(plan=entries, userErrors=errors)


@strawberry.type
class ClassesAsCodeQuery:
    @strawberry.field(
        description="The caller's classes (administrators: optionally one reseller's, or"
        " administrator-managed ones) as an ApplyCustomerClassesInput document: every class"
        " of the scope with every tab, keys sorted, classes by name, so that two exports of"
        " unchanged classes are identical. A reseller's export also lists the shared"
        " administrator classes as read-only references {managedBy, name, readOnly: true,"
        " sharedWithResellers: true}, without settings. Each class counts as an object in"
        " the actual cost (charged after the fact) and in the 10,000-object limit"
        " (QUERY_TOO_COMPLEX: export larger scopes with `billclass classes export`)."
    )
    async def exportCustomerClasses(
        self,
        info: Info,
        managedBy: Annotated[
            ManagerKind | None,
            strawberry.argument(
                description="Administrators: ADMINISTRATOR (the default) for administrator-"
                "managed classes, RESELLER with managingResellerId for one reseller's."
                " Resellers: omitted or RESELLER (anything else is FORBIDDEN)."
            ),
        ] = None,
        managingResellerId: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Administrators: the global ID of the RESELLER customer whose"
                " classes to export (BAD_USER_INPUT if none such); the document then names"
                " it. Resellers: omitted or their own ID (anything else is FORBIDDEN)."
            ),
        ] = None,
    ) -> JSON:
        context = info.context
        document = await classes_as_code.export_customer_classes(
            context.conn,
            context.principal,
            managed_by=None if managedBy is None else cast(inputs.ManagerKind, managedBy.value),
            managing_reseller_id=managingResellerId,
        )
        # Each class is an object of the response (SPEC §7): the actual cost, charged
        # after the fact beyond the requested 1, and at most 10,000.
        context.count_objects(len(document["classes"]))
        return JSON(document)


@strawberry.type
class ClassesAsCodeMutation:
    @strawberry.mutation(
        description="Reconcile the caller's scope to a document of classes, all or nothing:"
        " create the classes it lacks, update those that differ (every rule of"
        " createCustomerClass, updateCustomerClass and setCustomerClassSharing applies),"
        " delete with prune those it does not name. Idempotent: the same document twice"
        " gives UNCHANGED everywhere and writes nothing. One audit event per change (CREATE,"
        " UPDATE, SHARE or UNSHARE, DELETE), none for a dry run."
    )
    async def applyCustomerClasses(
        self, info: Info, input: Annotated[ApplyCustomerClassesInput, INPUT]
    ) -> ApplyCustomerClassesPayload:
        return await mutation.run(info, classes_as_code.apply_customer_classes, input, _payload)
