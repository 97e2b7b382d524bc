"""What a system declares about itself, once: the registry (systems/__init__.py) holds one
of these per system, and config, the CLI, `setup`, `doctor`, the sandbox and the docs' pair
table are all derived from them.

Generic on purpose: nothing here names a system. A spec is cheap to import; its connector,
writer and simulator are named by dotted path and imported only when used, so `check` on
one pair never loads the other systems' code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ..domain.codes import Action, Side, Stage


class ReadShape(StrEnum):
    """How a system's returns (or documents) reach us."""

    #: A list endpoint we page through (optionally from a changed-since mark).
    PULL = "pull"
    #: No list endpoint: one look-up per reference we already know of.
    LOOKUP = "lookup"
    #: The system calls us (webhooks, a channel protocol): an inbox receives the events.
    EVENTS = "events"
    #: A listed system that also calls us when something changes: its deliveries, kept by
    #: the inbox, name what the next incremental pull reads again (state still comes from
    #: the pull; a delivery may be late, missed or repeated).
    HINTS = "hints"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the API can tell and do, as its documentation says."""

    #: Every way returns reach us; the first is the main one.
    reads: tuple[ReadShape, ...] = (ReadShape.PULL,)
    #: Reads from a changed-since mark (an incremental refresh costs a few requests).
    incremental: bool = False
    #: Its connector files its records in the record index and answers a refresh a few
    #: link keys at a time (`connectors.base.KeyedReads`): a `check` of a pair where both
    #: do keeps the index; of any other pair, writing it would be thrown away.
    keyed_reads: bool = False
    #: Lifecycle stages this system can show evidence for.
    stages: frozenset[Stage] = frozenset()
    #: Further facts it reports that some exception codes need (see domain/catalogue.NEEDS):
    #: e.g. "platform_location" (where goods go), "platform_restock".
    facts: frozenset[str] = frozenset()
    #: ERP side: the operator actions that write to it which its writer can carry out
    #: (remaps change only our own mapping tables and work with every ERP).
    writes: frozenset[Action] = frozenset()
    #: ERP side: what its re-queue creates (`credit_note`: only for a refund the platform
    #: made; `return_order`: for an approved return); the connector says it again in
    #: `ErpMaster.creates`, which the checks use.
    creates: frozenset[str] = frozenset()
    #: ERP side: the ways a SKU mapping may say the ERP finds an item, in the ERP's own
    #: words, its default first (empty: only by its item number).
    item_ways: tuple[str, ...] = ()
    #: The documented request budget: requests per second and the burst above it (None:
    #: no documented rate, only the concurrency bound).
    rate_per_second: float | None = None
    burst: int = 1
    #: Requests in flight at once that the API tolerates.
    concurrency: int = 4
    #: The largest page the API documents (records); what benchmarks count a minimum from.
    max_page_size: int | None = None

    @property
    def pushes_events(self) -> bool:
        """It calls us (`returns-console listen` receives its deliveries)."""
        return ReadShape.EVENTS in self.reads or ReadShape.HINTS in self.reads

    @property
    def pushes_hints(self) -> bool:
        return ReadShape.HINTS in self.reads

    @property
    def lists_returns(self) -> bool:
        return ReadShape.PULL in self.reads


def words(value: Any) -> Any:
    """A list option from TOML (a list) or the command line ("a, b, c")."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


Words = tuple[str, ...]
#: Options given on the command line arrive as text: "a, b" becomes ("a", "b").
WordList = Annotated[Words, BeforeValidator(words)]


class SystemOptions(BaseModel):
    """Options every system takes. A system's model adds its own; `extra="forbid"` makes a
    typo in the config file fail with the option's name instead of being ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True,
                              defer_build=True)

    retry_attempts: int = Field(5, ge=1, le=20, description=(
        "How many times a request is tried on 429, 5xx or a timeout"))
    full_read_hours: int = Field(24, ge=0, le=24 * 366, description=(
        "A refresh reads everything again once the last full read is this many hours old "
        "(0: only `check --full` does): what an incremental read cannot be told of (a "
        "deletion, a change that moved no stamp, a lost webhook) is caught by then"))
    retry_max_wait: float = Field(30.0, gt=0, le=600, description=(
        "The longest backoff between tries, in seconds (a Retry-After the server sends is "
        "honoured as given, up to two minutes)"))


@dataclass(frozen=True, slots=True)
class SystemSpec:
    """One system, declared once."""

    id: str
    name: str
    side: Side
    #: One line on what it is, for `setup --help` and the docs.
    summary: str = ""
    #: Its options (validated at config load, listed by `setup`, checked by `doctor`).
    options: type[SystemOptions] = SystemOptions
    #: The secrets its connector needs, by name (keyring entry / environment variable);
    #: with `auth_option`, those of that option's default.
    secrets: tuple[str, ...] = ()
    #: The option that chooses how the system authenticates, when it can in more than one
    #: way, and the secrets each of its values needs instead of `secrets`.
    auth_option: str | None = None
    auth_secrets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Secrets only `returns-console listen` needs (to verify the deliveries it pushes):
    #: set up like the others, never asked for by a check. `<name>_previous` is `<name>`
    #: before a rotation, accepted while the sender changes over.
    listen_secrets: tuple[str, ...] = ()
    capabilities: Capabilities = field(default_factory=Capabilities)
    #: "module:callable" that makes the connector from a services.connections.Connection;
    #: None: declared (so profiles can name it and be told) but not built yet.
    connector: str | None = None
    #: "module:callable" returning the ERP's writer (ERP side), given the connector.
    writer: str | None = None
    #: "module:callable" that builds its simulator for the sandbox from a canonical scenario.
    simulator: str | None = None
    #: The option that sets how many records a page holds (its default is the API's
    #: documented maximum, `capabilities.max_page_size`, or None meaning that maximum):
    #: fewer, bigger pages are what makes a full read cheap.
    page_option: str | None = None
    #: Names that are this system's own (API field names, entity sets, statuses): they may
    #: appear only inside its folder (tests/unit/test_system_names.py).
    own_names: frozenset[str] = frozenset()
    #: (option, value): `capabilities.keyed_reads` holds only where the option has this
    #: value (a refresh that reads everything again gains nothing from the index).
    keyed_option: tuple[str, str] | None = None

    def keyed_for(self, options: Mapping[str, Any] | None) -> bool:
        """Whether a check with these (unvalidated) options refreshes through the record
        index (`capabilities.keyed_reads`, and `keyed_option` as set or by default)."""
        if not self.capabilities.keyed_reads:
            return False
        if self.keyed_option is None:
            return True
        name, value = self.keyed_option
        chosen = (options or {}).get(name)
        if chosen is None:
            chosen = self.options.model_fields[name].default
        return str(chosen) == value

    def secrets_for(self, options: Mapping[str, Any] | None) -> tuple[str, ...]:
        """The secrets the connector needs under these (unvalidated) options: `secrets`,
        or those of the value given to `auth_option`."""
        if self.auth_option is None or options is None:
            return self.secrets
        chosen = options.get(self.auth_option)
        if chosen is None:
            chosen = self.options.model_fields[self.auth_option].default
        return self.auth_secrets.get(str(chosen), self.secrets)

    @property
    def every_secret(self) -> tuple[str, ...]:
        """Every secret any way of authenticating may need (each once, in order)."""
        names = [self.secrets, *self.auth_secrets.values()]
        return tuple(dict.fromkeys(n for group in names for n in group))

    @property
    def built(self) -> bool:
        return self.connector is not None

    @property
    def side_word(self) -> Literal["returns platform", "ERP"]:
        return "returns platform" if self.side is Side.PLATFORM else "ERP"

    def load(self, what: Literal["connector", "writer", "simulator"]) -> Callable[..., Any]:
        """The named factory, imported now (not when the registry is read)."""
        target = getattr(self, what)
        if target is None:
            raise LookupError(f"{self.name} has no {what} yet")
        module, _, attribute = target.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def option_help(self) -> list[tuple[str, str, str]]:
        """(name, default, description) of every option, the system's own first; the
        default is "" for a required option."""
        common = SystemOptions.model_fields
        fields = self.options.model_fields
        names = [n for n in fields if n not in common] + [n for n in fields if n in common]
        rows = []
        for name in names:
            info = fields[name]
            default = "" if info.is_required() else _shown(info.default)
            rows.append((name, default, info.description or ""))
        return rows


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    if value is None or value == "":
        return "(none)"
    return str(value)


__all__ = ["Capabilities", "ReadShape", "SystemOptions", "SystemSpec", "WordList", "words"]
