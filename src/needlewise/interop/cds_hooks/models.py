"""Pydantic v2 models of the CDS Hooks 2.0 documents (https://cds-hooks.hl7.org/2.0/).

Requests, feedback and discovery documents from others are read with
:func:`parse`, which turns the first problem into an
:class:`~needlewise.errors.InputError` naming the JSON path and what is wrong, never the
value sent. Members the spec does not define are kept (``extra="allow"``: CDS Hooks
extensions travel in ``extension`` and older clients send more); ``null`` members are
refused, as the spec says JSON elements SHALL NOT be null (a prefetch *value* may be
``null``: that is how a client says "no data").

Cards and responses we send are built with the same models, so what we emit is checked
by the rules we check others by: summary under 140 characters, an indicator of
``info|warning|critical``, a source with a label, ``selectionBehavior`` whenever there
are suggestions, a ``display`` on every override reason, ``appContext`` only on SMART
links, a ``description`` on every action and a ``resourceId`` on a delete.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from needlewise.errors import InputError

SUMMARY_MAX = 139
"""A card's summary is "<140 characters" (CDS Hooks 2.0, Card.summary)."""

Indicator = Literal["info", "warning", "critical"]
SelectionBehavior = Literal["at-most-one", "any"]
ActionType = Literal["create", "update", "delete"]
LinkType = Literal["absolute", "smart"]
Outcome = Literal["accepted", "overridden"]


class CdsModel(BaseModel):
    """Base of every CDS Hooks model: extra members kept, ``null`` members refused."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise ValueError("is null; CDS Hooks elements SHALL NOT be null: omit the member")
        return value

    def dump(self) -> dict[str, Any]:
        """The JSON document (members left unset are omitted, never sent as ``null``)."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


def _uuid(value: str) -> str:
    try:
        uuid.UUID(value)
    except ValueError:
        raise ValueError("must be a UUID (e.g. 8-4-4-4-12 hexadecimal digits)") from None
    return value


UuidText = Annotated[str, AfterValidator(_uuid)]
"""A UUID kept as the text sent (feedback names cards by it)."""


class Coding(CdsModel):
    """A FHIR Coding as CDS Hooks uses it (``code`` required)."""

    code: str = Field(min_length=1)
    system: str | None = None
    display: str | None = None


class OverrideReason(Coding):
    """A reason a clinician may pick to override a card: ``display`` is required."""

    display: str = Field(min_length=1)


class Source(CdsModel):
    """Where a card's guidance comes from."""

    label: str = Field(min_length=1)
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(CdsModel):
    """One change a suggestion (or a system action) makes in the client's record."""

    type: ActionType
    description: str = Field(min_length=1)
    resource: dict[str, Any] | None = None
    resourceId: str | None = None

    @model_validator(mode="after")
    def _target(self) -> Action:
        if self.type == "delete" and self.resourceId is None:
            raise ValueError("a delete action needs resourceId")
        if self.type in ("create", "update") and self.resource is None:
            raise ValueError(f"a {self.type} action needs resource")
        return self


class Suggestion(CdsModel):
    """A set of actions the clinician may accept together (AND-ed)."""

    label: str = Field(min_length=1)
    uuid: UuidText | None = None
    isRecommended: bool | None = None
    actions: list[Action] | None = None


class Link(CdsModel):
    """A link on a card: an ``absolute`` URL or a ``smart`` app launch."""

    label: str = Field(min_length=1)
    url: str = Field(min_length=1)
    type: LinkType
    appContext: str | None = None
    autolaunchable: bool | None = None

    @model_validator(mode="after")
    def _app_context(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext is only allowed on a smart link")
        return self


class Card(CdsModel):
    """One card of a CDS Hooks response."""

    uuid: UuidText | None = None
    summary: str = Field(min_length=1, max_length=SUMMARY_MAX)
    detail: str | None = None
    indicator: Indicator
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: SelectionBehavior | None = None
    overrideReasons: list[OverrideReason] | None = None
    links: list[Link] | None = None

    @model_validator(mode="after")
    def _selection(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required when a card has suggestions")
        return self


class CdsResponse(CdsModel):
    """A CDS service's answer: cards (possibly none) and optional system actions."""

    cards: list[Card]
    systemActions: list[Action] | None = None


class FhirAuthorization(CdsModel):
    """The OAuth access token a client hands the service for its FHIR server."""

    access_token: str = Field(min_length=1)
    token_type: Literal["Bearer"]
    expires_in: int = Field(ge=0)
    scope: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    patient: str | None = None


class CdsRequest(CdsModel):
    """A hook call. ``context`` is checked against the hook's own context model
    (:mod:`needlewise.interop.cds_hooks.contexts`); ``prefetch`` values may be ``null``."""

    hook: str = Field(min_length=1)
    hookInstance: UuidText
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _server(self) -> CdsRequest:
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirServer is required when fhirAuthorization is sent")
        return self


class AcceptedSuggestion(CdsModel):
    id: UuidText


class OverrideChoice(CdsModel):
    """The override reason the clinician picked, and their comment."""

    reason: Coding | None = None
    userComment: str | None = None


class FeedbackItem(CdsModel):
    """What the clinician did with one card."""

    card: UuidText
    outcome: Outcome
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideChoice | None = None
    outcomeTimestamp: AwareDatetime

    @model_validator(mode="after")
    def _consistent(self) -> FeedbackItem:
        if self.outcome == "accepted" and self.overrideReason is not None:
            raise ValueError("overrideReason is only sent with outcome overridden")
        if self.outcome == "overridden" and self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is only sent with outcome accepted")
        return self


class FeedbackRequest(CdsModel):
    feedback: list[FeedbackItem] = Field(min_length=1)


class DiscoveryService(CdsModel):
    """One service in ``GET /cds-services``."""

    hook: str = Field(min_length=1)
    title: str | None = None
    description: str = Field(min_length=1)
    id: str = Field(min_length=1)
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


class DiscoveryResponse(CdsModel):
    services: list[DiscoveryService]


M = TypeVar("M", bound=BaseModel)

_MESSAGES = {
    "missing": "required field is missing",
    "literal_error": None,  # pydantic's text lists the allowed values, not the input
    "string_too_long": None,
    "string_too_short": "must not be empty",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "list_type": "must be a JSON array",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "datetime_type": "must be a date-time with a time zone (e.g. 2026-12-07T10:00:00Z)",
    "datetime_parsing": "must be a date-time with a time zone (e.g. 2026-12-07T10:00:00Z)",
    "datetime_from_date_parsing": "must be a date-time with a time zone",
    "timezone_aware": "must be a date-time with a time zone (e.g. 2026-12-07T10:00:00Z)",
    "too_short": "must not be empty",
}


def json_path(loc: tuple[int | str, ...], prefix: str = "$") -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def problem_of(error: Any) -> str:
    """A message for one pydantic error that names what is wrong, never the value."""
    kind = error["type"]
    if kind in _MESSAGES and _MESSAGES[kind] is not None:
        return str(_MESSAGES[kind])
    if kind == "value_error":  # our own validators: their text never holds the value
        return str(error["msg"]).removeprefix("Value error, ")
    if kind in ("literal_error", "string_too_long", "greater_than_equal"):
        return str(error["msg"])
    return f"is not valid ({kind})"


def problems(model: type[BaseModel], document: Any, prefix: str = "$") -> list[InputError]:
    """Every problem of ``document`` against ``model`` (empty when it is valid)."""
    try:
        model.model_validate(document)
    except ValidationError as exc:
        return [
            InputError(problem_of(error), json_path(tuple(error["loc"]), prefix))
            for error in exc.errors()
        ]
    return []


def parse(model: type[M], document: Any, prefix: str = "$") -> M:
    """Validate ``document`` against ``model``; the first problem becomes an
    :class:`InputError` at its JSON path (under ``prefix``)."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(problem_of(first), json_path(tuple(first["loc"]), prefix)) from None
