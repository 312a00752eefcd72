"""Import of accounts, stakeholders and subscriptions from CSV or Excel (issue 4, item 6).

Layering: accounts sits below renewals, so this module knows nothing of subscriptions.
It keeps a small registry of import *kinds*; an app with something to import declares it
in its own `imports` module (renewals/imports.py registers "subscriptions"), found the
way the admin finds `admin.py`: `autodiscover_modules("imports")` on first use. The
import page, its form and the two services below live in accounts, and no import
statement points upward.

The flow: `ImportForm` reads the upload (CSV in UTF-8 with or without BOM, or GB18030 as
Chinese Excel saves it; or .xlsx) into a tablib Dataset and checks its shape;
`import_preview()` runs the kind's django-import-export Resource as a preview (a dry
run that writes nothing, inside a transaction rolled back all the same) and reports
each row's action and errors; `import_apply()` runs it for real in one
transaction and raises ValidationError, changing nothing, when any row fails.

Validation reads what it needs up front (the accounts the user may see, users, teams,
products, existing stakeholders and subscriptions) in a fixed number of queries, so a
preview does not query per row. The real run writes each row through the services
(account_create / account_update, stakeholder_create / stakeholder_update), which keep
the audit history, stage changes and customer files, then refreshes completeness and
tiers of the touched accounts set-based.
"""

import csv
import datetime as dt
import io
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import tablib
from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.utils import translation
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields as ie_fields
from import_export import resources
from import_export import widgets as ie_widgets
from import_export.results import RowResult

from cs_platform.access import can_create_account, can_import, visible_accounts
from people.models import Team, User

from .models import Account, Stakeholder
from .services import (
    STAKEHOLDER_FIELDS,
    account_completeness_refresh,
    account_create,
    account_tiers_refresh,
    account_update,
    stakeholder_create,
    stakeholder_update,
)

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
EXTENSIONS = (".csv", ".xlsx")
_IN_CHUNK = 900  # keeps `IN (...)` under SQLite's parameter limit whatever the file size

# ------------------------------------------------------------------ registry of kinds


@dataclass(frozen=True)
class ImportKind:
    """Something that can be imported: a Resource plus what the page shows about it."""

    key: str
    label: str
    resource_class: type
    columns: tuple[str, ...]
    required: tuple[str, ...]
    example: dict
    order: int = 100
    # Called inside the import's transaction with the ids of the touched accounts.
    after_apply: Callable[..., None] | None = None


_KINDS: dict[str, ImportKind] = {}
_discovered = False


def register(kind: ImportKind) -> None:
    _KINDS[kind.key] = kind


def import_kinds() -> list[ImportKind]:
    global _discovered
    if not _discovered:
        autodiscover_modules("imports")
        _discovered = True
    return sorted(_KINDS.values(), key=lambda k: (k.order, k.key))


def import_kind(key: str) -> ImportKind | None:
    return {k.key: k for k in import_kinds()}.get(key)


# ------------------------------------------------------------------ cell widgets


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value) -> str:
    """A cell as text; Excel gives numbers for phone numbers and IDs, 13800138000.0 included."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        value = value.date()
    return str(value).strip()


class TextWidget(ie_widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        return text(value)


class IntegerWidget(ie_widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            return None
        if isinstance(value, bool):
            raise ValueError(_("'%(value)s' is not a whole number.") % {"value": value})
        number = _decimal(value)
        if number is None or number != number.to_integral_value():
            raise ValueError(_("'%(value)s' is not a whole number.") % {"value": text(value)})
        return int(number)


class DecimalWidget(ie_widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            return None
        number = _decimal(value, allow_percent=True)
        if number is None or isinstance(value, bool):
            raise ValueError(_("'%(value)s' is not a number.") % {"value": text(value)})
        return number


def _decimal(value, *, allow_percent: bool = False) -> Decimal | None:
    if isinstance(value, float):
        value = repr(value)  # the shortest form: 0.1 stays 0.1, not 0.1000000000000000055...
    raw = str(value).strip().replace(",", "").replace("，", "").replace(" ", "")
    if allow_percent and raw.endswith("%"):
        raw = raw[:-1]
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return None
    return number if number.is_finite() and abs(number) < Decimal("1e13") else None


DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")


class DateWidget(ie_widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        return parse_date(value)


def parse_date(value) -> dt.date | None:
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raw = text(value).split(" ")[0]
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValueError(_("'%(value)s' is not a date; write it as YYYY-MM-DD.") % {"value": text(value)})


class ChoiceWidget(ie_widgets.Widget):
    """Accepts a choice's value or its label, in English or the current language, in any
    case; "Decision maker" matches "Decision maker (level 1)". An empty cell gives None,
    which leaves the field as it is (a new row gets the model's default) unless `blank`."""

    def __init__(self, choices: type[models.TextChoices], *, blank: bool = False):
        super().__init__()
        self.choices = choices
        self.blank = blank
        self._lookup: dict[str, str] | None = None

    def _map(self) -> dict[str, str]:
        if self._lookup is None:
            lookup = {}
            for value, label in self.choices.choices:
                labels = {str(label)}
                with translation.override("en"):
                    labels.add(str(label))
                for name in list(labels):
                    labels.add(re.sub(r"\s*[(（].*[)）]\s*$", "", name))
                for name in labels | {value}:
                    lookup.setdefault(name.casefold(), value)
            self._lookup = lookup
        return self._lookup

    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            return "" if self.blank else None
        found = self._map().get(text(value).casefold())
        if found is None:
            raise ValueError(
                _("'%(value)s' is not one of: %(choices)s.")
                % {"value": text(value), "choices": ", ".join(self.choices.values)}
            )
        return found


class LookupWidget(ie_widgets.Widget):
    """A foreign key by a natural key (username, team name, product name), from a dict the
    resource fills once before the rows are read. An empty cell means none."""

    def __init__(self, message: str):
        super().__init__()
        self.message = message  # lazy: translated when used, in the request's language
        self.cache: dict = {}

    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            return None
        found = self.cache.get(text(value))
        if found is None:
            raise ValueError(str(self.message) % {"value": text(value)})
        if isinstance(found, str):  # an ambiguity explained by the resource
            raise ValueError(found)
        return found


def column_values(dataset: tablib.Dataset, column: str) -> set[str]:
    if column not in (dataset.headers or []):
        return set()
    return {text(v) for v in dataset[column] if not is_blank(v)}


def in_chunks(values: Iterable, size: int = _IN_CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


# ------------------------------------------------------------------ resources


class ImportResource(resources.ModelResource):
    """What every import shares: access, row keys, validation without per-row queries,
    writes only on the real run, and the accounts it touched.

    Subclasses set `account_column` (the column naming the account), `key_columns` (what
    a person reads to recognise a row) and implement `find(row)` and `write()`."""

    account_column = "account_external_id"
    key_columns: tuple[str, ...] = ()
    column_for_attribute = {"account": "account_external_id"}

    def __init__(self, *, user, preview: bool = False):
        super().__init__()
        self.user = user
        self.preview = preview
        self.accounts: dict[str, Account] = {}
        self.touched_account_ids: set[int] = set()
        self._seen: dict[tuple, int] = {}
        self._row_number = 0

    class Meta:
        skip_unchanged = True
        report_skipped = True
        skip_html_diff = True
        use_transactions = True

    # -- preparation: everything the rows need, read once

    def before_import(self, dataset, **kwargs):
        ids = column_values(dataset, self.account_column)
        accounts = visible_accounts(self.user).select_related("csm", "sales_owner", "team")
        # Importers are managers and admins, who may change every account they see
        # (access.can_change), so this one read stands for can_change on every row.
        for chunk in in_chunks(ids):
            self.accounts.update({a.external_id: a for a in accounts.filter(external_id__in=chunk)})
        self.prepare(dataset)

    def prepare(self, dataset) -> None:
        """Read whatever else the rows refer to; fill the LookupWidgets' caches."""

    # -- finding the instance a row is about

    def before_import_row(self, row, **kwargs):
        self._row_number = kwargs.get("row_number", 0)

    def get_or_init_instance(self, instance_loader, row):
        return self.find(row)

    def find(self, row) -> tuple[models.Model, bool]:
        raise NotImplementedError

    def claim(self, key: tuple, column: str) -> None:
        """Refuse a second row about the same thing: it would silently win over the first."""
        first = self._seen.setdefault(key, self._row_number)
        if first != self._row_number:
            raise ValidationError({column: _("Row %(row)s of the file is about the same record.") % {"row": first + 1}})

    def account_for(self, row) -> Account:
        external_id = text(row.get(self.account_column))
        if not external_id:
            raise ValidationError({"account": _("The account's external ID is required.")})
        account = self.accounts.get(external_id)
        if account is None:
            raise ValidationError({"account": str(UNKNOWN_ACCOUNT) % {"value": external_id}})
        return account

    # -- validation without queries: foreign keys come from our caches, duplicates are
    #    caught by claim(), and check() holds the rules the database would enforce.

    def check(self, instance, errors: dict) -> None:
        """Add rules beyond the model's field validation to `errors`."""

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        self.check(instance, errors)
        foreign_keys = {f.name for f in instance._meta.concrete_fields if f.is_relation}
        try:
            instance.full_clean(exclude=set(errors) | foreign_keys, validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if instance.pk is None:
            return False
        return super().skip_row(instance, original, row, import_validation_errors)

    # -- writing, on the real run only

    def save_instance(self, instance, is_create, row, **kwargs):
        if self.preview or kwargs.get("dry_run"):
            return
        self.write(instance, is_create)
        self.touched_account_ids.add(instance.pk if isinstance(instance, Account) else instance.account_id)

    def write(self, instance, is_create: bool) -> None:
        raise NotImplementedError

    def after_import(self, dataset, result, **kwargs):
        """Nothing: primary keys never come from the file, so no sequence needs resetting."""

    # -- for the report

    def column_of(self, attribute: str) -> str:
        if attribute == NON_FIELD_ERRORS:
            return ""
        if attribute in self.column_for_attribute:
            return self.column_for_attribute[attribute]
        for f in self.fields.values():
            if f.attribute == attribute:
                return f.column_name
        return attribute


def _lookup(attribute: str, message: str) -> ie_fields.Field:
    return ie_fields.Field(attribute=attribute, column_name=attribute, widget=LookupWidget(message))


def _text(attribute: str) -> ie_fields.Field:
    return ie_fields.Field(attribute=attribute, column_name=attribute, widget=TextWidget())


def _choice(attribute: str, choices, *, blank: bool = False) -> ie_fields.Field:
    return ie_fields.Field(
        attribute=attribute, column_name=attribute, widget=ChoiceWidget(choices, blank=blank), saves_null_values=blank
    )


def _integer(attribute: str, *, keep_when_empty: bool = False) -> ie_fields.Field:
    return ie_fields.Field(
        attribute=attribute, column_name=attribute, widget=IntegerWidget(), saves_null_values=not keep_when_empty
    )


# The messages of LookupWidgets, marked for translation and translated when shown.
NO_CSM = gettext_lazy("no CSM with username '%(value)s'")
NO_USER = gettext_lazy("no user with username '%(value)s'")
NO_TEAM = gettext_lazy("no team called '%(value)s'")
# The same words whether the account does not exist or is not the importer's to see.
UNKNOWN_ACCOUNT = gettext_lazy("unknown account external_id '%(value)s'")


class AccountResource(ImportResource):
    account_column = "external_id"
    key_columns = ("external_id", "name")

    external_id = _text("external_id")
    name = _text("name")
    industry = _choice("industry", Account.Industry)
    employee_count = _integer("employee_count")
    region = _text("region")
    csm = _lookup("csm", NO_CSM)
    sales_owner = _lookup("sales_owner", NO_USER)
    team = _lookup("team", NO_TEAM)
    lifecycle_stage = _choice("lifecycle_stage", Account.Stage)
    service_model = _choice("service_model", Account.ServiceModel)
    product_view = _choice("product_view", Account.ProductView, blank=True)
    usage_driver = _choice("usage_driver", Account.UsageDriver, blank=True)

    class Meta(ImportResource.Meta):
        model = Account
        fields = (
            "external_id", "name", "industry", "employee_count", "region", "csm", "sales_owner", "team",
            "lifecycle_stage", "service_model", "product_view", "usage_driver",
        )  # fmt: skip
        import_order = fields

    def prepare(self, dataset):
        ids = column_values(dataset, "external_id") - set(self.accounts)
        # IDs that exist but are not this user's: a row may neither create nor update them.
        self.unavailable = set()
        for chunk in in_chunks(ids):
            self.unavailable.update(Account.objects.filter(external_id__in=chunk).values_list("external_id", flat=True))
        names = column_values(dataset, "csm") | column_values(dataset, "sales_owner")
        users = {}
        for chunk in in_chunks(names):
            users.update(
                {u.username: u for u in User.objects.filter(username__in=chunk, is_active=True).select_related("team")}
            )
        self.fields["csm"].widget.cache = {
            n: u for n, u in users.items() if u.role in (User.Role.CSM, User.Role.MANAGER)
        }
        self.fields["sales_owner"].widget.cache = {n: u for n, u in users.items() if u.role != User.Role.INTEGRATION}
        teams = Team.objects.filter(name__in=column_values(dataset, "team"))
        self.fields["team"].widget.cache = {t.name: t for t in teams}

    def find(self, row):
        external_id = text(row.get("external_id"))
        if not external_id:
            raise ValidationError({"external_id": _("An external ID is required.")})
        self.claim((external_id,), "external_id")
        account = self.accounts.get(external_id)
        if account is not None:
            return account, False
        if external_id in self.unavailable:
            raise ValidationError({"external_id": str(UNKNOWN_ACCOUNT) % {"value": external_id}})
        if not can_create_account(self.user):
            raise ValidationError({"external_id": _("You may not create accounts.")})
        return Account(external_id=external_id), True

    def import_instance(self, instance, row, **kwargs):
        try:
            super().import_instance(instance, row, **kwargs)
        finally:
            # As in the services: an account follows its CSM's team unless the file names
            # one; a manager's account with neither lands in the manager's team.
            if is_blank(row.get("team")):
                if not is_blank(row.get("csm")) and instance.csm is not None:
                    instance.team = instance.csm.team
                elif "team" in row or instance.pk is None:
                    instance.team = None if self.user.sees_everything else self.user.team

    def check(self, instance, errors):
        if self.user.sees_everything or "team" in errors or "csm" in errors:
            return
        if self.user.team_id is None or instance.team_id != self.user.team_id:
            errors["team"] = [
                _("Accounts you import must belong to your team (%(team)s).") % {"team": self.user.team or "—"}
            ]

    def write(self, instance, is_create):
        data = {name: getattr(instance, name) for name in self._meta.fields}
        if is_create:
            instance.pk = account_create(data=data, by=self.user).pk
            instance._state.adding = False
        else:
            account_update(account=instance, data=data, by=self.user)


class StakeholderResource(ImportResource):
    key_columns = ("account_external_id", "name")

    name = _text("name")
    title = _text("title")
    email = _text("email")
    phone = _text("phone")
    role = _choice("role", Stakeholder.Role)
    influence = _choice("influence", Stakeholder.Influence)
    relationship = _choice("relationship", Stakeholder.Relationship)
    goals = _text("goals")
    demands = _text("demands")
    personality = _text("personality")

    class Meta(ImportResource.Meta):
        model = Stakeholder
        fields = (
            "name", "title", "email", "phone", "role", "influence", "relationship", "goals", "demands", "personality",
        )  # fmt: skip
        import_order = fields

    def prepare(self, dataset):
        self.existing = {}
        ids = [a.pk for a in self.accounts.values()]
        for chunk in in_chunks(ids):
            for s in Stakeholder.objects.filter(account_id__in=chunk).order_by("-is_active", "pk"):
                self.existing.setdefault((s.account_id, s.name.strip().casefold()), s)

    def find(self, row):
        account = self.account_for(row)
        name = text(row.get("name"))
        if not name:
            raise ValidationError({"name": _("A name is required.")})
        key = (account.pk, name.casefold())
        self.claim(key, "name")
        stakeholder = self.existing.get(key)
        if stakeholder is not None:
            stakeholder.account = account
            return stakeholder, False
        return Stakeholder(account=account), True

    def write(self, instance, is_create):
        data = {name: getattr(instance, name) for name in STAKEHOLDER_FIELDS}
        if is_create:
            created = stakeholder_create(account=instance.account, data=data)
            instance.pk = created.pk
            instance._state.adding = False
        else:
            stakeholder_update(stakeholder=instance, data=data)


def _refresh_accounts(*, account_ids: set[int]) -> None:
    account_completeness_refresh(account_ids=account_ids)
    account_tiers_refresh(account_ids=account_ids)


register(
    ImportKind(
        key="accounts",
        label=gettext_lazy("Accounts"),
        resource_class=AccountResource,
        columns=AccountResource.Meta.fields,
        required=("external_id", "name"),
        example={
            "external_id": "CRM-10001",
            "name": "Hangzhou Steel Co., Ltd.",
            "industry": "manufacturing",
            "employee_count": 1200,
            "region": "East China",
            "csm": "",
            "sales_owner": "",
            "team": "",
            "lifecycle_stage": "onboarding",
            "service_model": "implementation",
            "product_view": "vertical",
            "usage_driver": "business",
        },  # fmt: skip
        order=10,
    )
)
register(
    ImportKind(
        key="stakeholders",
        label=gettext_lazy("Stakeholders"),
        resource_class=StakeholderResource,
        columns=("account_external_id", *StakeholderResource.Meta.fields),
        required=("account_external_id", "name"),
        example={
            "account_external_id": "CRM-10001",
            "name": "Chen Jing",
            "title": "CIO",
            "email": "chen.jing@example.com",
            "phone": "13800138000",
            "role": "decision_maker",
            "influence": "high",
            "relationship": "approves",
            "goals": "Cut month-end close to 3 days",
            "demands": "Monthly usage report",
            "personality": "Data-driven",
        },  # fmt: skip
        order=20,
    )
)

# ------------------------------------------------------------------ reading files


def read_dataset(content: bytes, extension: str) -> tablib.Dataset:
    """The rows of an uploaded file as a Dataset with normalised headers (lower case,
    spaces as underscores). Raises ValidationError with a message for a person."""
    if not content:
        raise ValidationError(_("The file is empty."), code="empty")
    if extension == ".csv":
        rows = _csv_rows(content)
    elif extension == ".xlsx":
        rows = _xlsx_rows(content)
    else:
        raise ValidationError(_("Upload a .csv or .xlsx file."), code="extension")
    rows = iter(rows)
    header = next((row for row in rows if not all(is_blank(v) for v in row)), None)
    if header is None:
        raise ValidationError(_("The file is empty."), code="empty")
    headers = [re.sub(r"\s+", "_", text(h).lstrip("\ufeff").lower()) for h in header]
    keep = [i for i, h in enumerate(headers) if h]
    names = [headers[i] for i in keep]
    duplicated = sorted({h for h in names if names.count(h) > 1})
    if duplicated:
        raise ValidationError(
            _("These columns appear more than once: %(columns)s.") % {"columns": ", ".join(duplicated)}, code="columns"
        )
    data = []
    for row in rows:
        row = list(row) + [None] * (len(headers) - len(row))
        values = [row[i].strip() if isinstance(row[i], str) else row[i] for i in keep]
        if all(is_blank(v) for v in values):
            continue
        data.append(["" if v is None else v for v in values])
        if len(data) > MAX_ROWS:
            raise ValidationError(
                _("The file has more than %(max)s rows; split it into smaller files.") % {"max": f"{MAX_ROWS:,}"},
                code="rows",
            )
    if not data:
        raise ValidationError(_("The file has a header row but no data rows."), code="empty")
    return tablib.Dataset(*data, headers=names)


def decode_text(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            decoded = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in decoded:
            return decoded
    raise ValidationError(
        _("The file could not be read as text. Save it as “CSV UTF-8” or as an Excel .xlsx workbook."),
        code="encoding",
    )


def _csv_rows(content: bytes) -> list[list]:
    decoded = decode_text(content)
    first_line = decoded.split("\n", 1)[0]
    delimiter = ","
    if "," not in first_line:
        delimiter = next((d for d in ("\t", ";") if d in first_line), ",")
    try:
        return list(csv.reader(io.StringIO(decoded, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise ValidationError(_("The file is not valid CSV (%(error)s).") % {"error": error}, code="csv") from error


def _xlsx_rows(content: bytes) -> list[list]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            rows = []
            for row in sheet.iter_rows(values_only=True):
                rows.append(list(row))
                if len(rows) > MAX_ROWS + 1000:  # blank rows are dropped later; enough to tell "too many"
                    break
            return rows
        finally:
            workbook.close()
    except Exception as error:  # a damaged or fake workbook may fail in zipfile, XML or openpyxl
        log.info("unreadable xlsx upload: %r", error)
        raise ValidationError(
            _("The file could not be read as an Excel workbook. Save it again as .xlsx, or as CSV."), code="xlsx"
        ) from error


def check_columns(kind: ImportKind, dataset: tablib.Dataset) -> list[str]:
    """Raise when a required column is missing; return the columns that will be ignored."""
    headers = list(dataset.headers or [])
    missing = [c for c in kind.required if c not in headers]
    if missing:
        raise ValidationError(
            _("Missing required columns: %(columns)s. Download the template to see every column.")
            % {"columns": ", ".join(missing)},
            code="columns",
        )
    return [h for h in headers if h not in kind.columns]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What to import"))
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("CSV (UTF-8 or GB18030) or Excel .xlsx, up to 5 MB and 10,000 rows."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k.key, k.label) for k in import_kinds()]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        extension = Path(upload.name or "").suffix.lower()
        if extension not in EXTENSIONS:
            raise ValidationError(
                _("“%(name)s” is not a .csv or .xlsx file. In Excel, use Save As and pick CSV UTF-8 or Excel Workbook.")
                % {"name": upload.name},
                code="extension",
            )
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(_("The file is larger than 5 MB; split it into smaller files."), code="size")
        content = upload.read(MAX_UPLOAD_BYTES + 1)
        self.cleaned_data["content"], self.cleaned_data["extension"] = content, extension
        self.cleaned_data["dataset"] = read_dataset(content, extension)
        return upload

    def clean(self):
        cleaned = super().clean()
        kind = import_kind(cleaned.get("kind") or "")
        if kind is not None and "dataset" in cleaned:
            try:
                cleaned["ignored_columns"] = check_columns(kind, cleaned["dataset"])
            except ValidationError as error:
                self.add_error("file", error)
        return cleaned


# ------------------------------------------------------------------ services


@dataclass
class RowReport:
    number: int  # the row in the spreadsheet, the header being row 1
    action: str  # new, update, skip or error
    key: str
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column, message)


@dataclass
class ImportReport:
    kind: ImportKind
    rows: list[RowReport]
    file_errors: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = {"new": 0, "update": 0, "skip": 0, "error": 0}
        for row in self.rows:
            counts[row.action] += 1
        return counts

    @property
    def has_errors(self) -> bool:
        return bool(self.file_errors) or any(row.action == "error" for row in self.rows)

    @property
    def error_rows(self) -> list[RowReport]:
        return [row for row in self.rows if row.action == "error"]

    def messages(self, limit: int = 20) -> list[str]:
        """Errors as sentences: "Row 4, csm: no CSM with username 'li.na'"."""
        lines = list(self.file_errors)
        for row in self.error_rows:
            for column, message in row.errors:
                if column:
                    lines.append(
                        _("Row %(row)s, %(column)s: %(message)s")
                        % {"row": row.number, "column": column, "message": message}
                    )
                else:
                    lines.append(_("Row %(row)s: %(message)s") % {"row": row.number, "message": message})
        return lines[:limit]


class ImportFailed(ValidationError):
    """Raised by import_apply, with the full report for the page to show."""

    def __init__(self, report: ImportReport):
        super().__init__(report.messages() or [_("The import failed.")])
        self.report = report


def _get_kind(kind: str) -> ImportKind:
    found = import_kind(kind)
    if found is None:
        raise ValidationError({"kind": _("Unknown kind of import.")})
    return found


def _run(*, user, kind: ImportKind, dataset: tablib.Dataset, preview: bool) -> tuple[ImportReport, ImportResource]:
    resource = kind.resource_class(user=user, preview=preview)
    # A preview writes nothing (ImportResource.save_instance), so it runs without
    # import-export's transaction per row (a SAVEPOINT pair per row under dry_run=True);
    # the caller still wraps it in a transaction that is rolled back.
    result = resource.import_data(dataset, dry_run=False, use_transactions=not preview, raise_errors=False)
    headers = list(dataset.headers or [])
    rows = []
    for index, (values, row_result) in enumerate(zip(dataset, result.rows, strict=False), start=1):
        row = dict(zip(headers, values, strict=False))
        key = " · ".join(text(row.get(c)) for c in resource.key_columns if not is_blank(row.get(c)))
        report = RowReport(number=index + 1, action=row_result.import_type, key=key)
        if row_result.import_type == RowResult.IMPORT_TYPE_INVALID:
            report.action = "error"
            error = row_result.validation_error
            items = error.message_dict.items() if hasattr(error, "error_dict") else [(NON_FIELD_ERRORS, error.messages)]
            for attribute, messages in items:
                report.errors.extend((resource.column_of(attribute), str(m)) for m in messages)
        elif row_result.import_type == RowResult.IMPORT_TYPE_ERROR:
            report.action = "error"
            for error in row_result.errors:
                log.warning("import row %s failed: %r", index + 1, error.error)
            report.errors.append(("", _("This row could not be imported; check its values.")))
        rows.append(report)
    file_errors = []
    for error in result.base_errors:
        log.warning("import failed: %r", error.error)
        file_errors.append(_("The file could not be imported; check its columns and values."))
    return ImportReport(kind=kind, rows=rows, file_errors=file_errors), resource


def import_preview(*, user, kind: str, dataset: tablib.Dataset) -> ImportReport:
    """What importing `dataset` would do, row by row, changing nothing."""
    found = _get_kind(kind)
    if not can_import(user):
        raise ValidationError(_("You may not import data."))
    with transaction.atomic():
        report, _resource = _run(user=user, kind=found, dataset=dataset, preview=True)
        transaction.set_rollback(True)
    report.ignored_columns = [h for h in dataset.headers or [] if h not in found.columns]
    return report


def import_apply(*, user, kind: str, dataset: tablib.Dataset) -> ImportReport:
    """Import `dataset` all or nothing: one transaction, rolled back when any row fails
    (ImportFailed, a ValidationError carrying the report)."""
    found = _get_kind(kind)
    if not can_import(user):
        raise ValidationError(_("You may not import data."))
    with transaction.atomic():
        report, resource = _run(user=user, kind=found, dataset=dataset, preview=False)
        touched = resource.touched_account_ids
        if not report.has_errors and touched:
            # The rule of the house, asked once after the writes: every touched account
            # must still be one the importer may see.
            reachable = set(visible_accounts(user).filter(pk__in=touched).values_list("pk", flat=True))
            if reachable != touched:
                report.file_errors.append(_("Some rows would move accounts out of your reach; nothing was imported."))
        if report.has_errors:
            raise ImportFailed(report)
        if touched:
            _refresh_accounts(account_ids=touched)
            if found.after_apply is not None:
                found.after_apply(account_ids=touched)
    return report


# ------------------------------------------------------------------ uploads kept between preview and apply


def _upload_dir(user) -> Path:
    base = Path(getattr(settings, "ACCOUNT_IMPORT_DIR", settings.VAR_DIR / "imports"))
    return base / str(int(user.pk))


def _upload_path(user, token: str, extension: str) -> Path | None:
    if not re.fullmatch(r"[0-9a-f]{32}", token or "") or extension not in EXTENSIONS:
        return None
    return _upload_dir(user) / f"{token}{extension}"


def upload_save(*, user, content: bytes, extension: str) -> str:
    """Keep an upload for its owner until they apply it; returns its token. The file lives
    under a directory of the user's own, so a token alone never reaches another's file."""
    directory = _upload_dir(user)
    directory.mkdir(parents=True, exist_ok=True)
    day_ago = time.time() - 24 * 3600
    for old in directory.iterdir():
        if old.stat().st_mtime < day_ago:
            old.unlink(missing_ok=True)
    token = secrets.token_hex(16)
    _upload_path(user, token, extension).write_bytes(content)
    return token


def upload_load(*, user, token: str, extension: str) -> bytes | None:
    path = _upload_path(user, token, extension)
    if path is None or not path.is_file():
        return None
    return path.read_bytes()


def upload_delete(*, user, token: str, extension: str) -> None:
    path = _upload_path(user, token, extension)
    if path is not None:
        path.unlink(missing_ok=True)
