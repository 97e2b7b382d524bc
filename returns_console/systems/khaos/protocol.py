"""The Khaos Control Cloud channel protocol on the wire (docs/vendors/khaos-control.md §4,
§5.5, §9): HTTP Basic as Khaos sends it, the endpoint configuration we publish, the objects
Khaos pushes (read from JSON or XML), the customer return feed we serve (written as JSON or
XML, never with a null: Khaos fails on one, §4).

XML is read with the standard library's parser after refusing any document type
declaration (no entity can be declared, so none can expand); an element's attributes and
children become an object's properties, a container whose children share one name becomes
a list (`<ReturnedItems><ReturnedItem/>…` as the documented sample has it).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

#: The objects of the endpoint configuration (§1.4), in the order the sample lists them.
STOCK_STATUS = "StockStatusUpload"
STOCK = "StockUpload"
ORDERS = "OrderDownload"
ORDER_STATUS = "OrderStatusUpload"
RETURNS = "CReturnDownload"
#: What each is served at under the channel's address.
SUFFIXES: dict[str, str] = {
    STOCK_STATUS: "stock-status",
    STOCK: "stock",
    ORDERS: "orders",
    ORDER_STATUS: "order-status",
    RETURNS: "returns",
}
#: Khaos GETs these from us (they take a Frequency); it POSTs the others.
PULLED = (ORDERS, RETURNS)
CONTINUATION = "sirion-continuation"
SPECIFIC_IDS = "specificids"
#: "Must be set to 1000" (§1.4; the sample feed's 10000 is read as a typo, U27).
API_VERSION = 1000


class ProtocolError(ValueError):
    """A body that is not what the protocol says (its text names what, never the body)."""


# ------------------------------------------------------------------ authentication (§2.2)


def basic_ok(headers: Mapping[str, str], username: str, password: str) -> bool:
    """Whether `Authorization: Basic …` carries this channel's Username and Password
    (compared in constant time)."""
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "basic" or not token:
        return False
    try:
        said = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, sep, secret = said.partition(":")
    if not sep:
        return False
    return (hmac.compare_digest(user.encode(), username.encode())
            & hmac.compare_digest(secret.encode(), password.encode()))


def basic_header(username: str, password: str) -> str:
    """`Basic base64(username:password)`, as §9 S2 spells it."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


# ------------------------------------------------------------------ endpoint configuration


def endpoint_config(base: str, fmt: str, frequency: int) -> tuple[bytes, str]:
    """The `EndpointConfig` file (§1.4, §9 S1) for a channel served at `base`, in `fmt`."""
    objects: dict[str, dict[str, str]] = {}
    for name, suffix in SUFFIXES.items():
        entry = {"URL": f"{base.rstrip('/')}/{suffix}", "Format": fmt}
        if name in PULLED:
            entry["Frequency"] = str(frequency)
        objects[name] = entry
    if fmt == "XML":
        parts = ['<?xml version="1.0" encoding="UTF-8"?>', "<EndpointConfig>"]
        for name, entry in objects.items():
            inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in entry.items())
            parts.append(f"    <{name}>{inner}</{name}>")
        parts.append("</EndpointConfig>")
        return "\n".join(parts).encode("utf-8"), "application/xml"
    doc = {"EndpointConfig": {name: {k: (int(v) if k == "Frequency" else v)
                                     for k, v in entry.items()}
                              for name, entry in objects.items()}}
    return json.dumps(doc, indent=2).encode("utf-8"), "application/json"


# ------------------------------------------------------------------ reading what Khaos sends


def read_body(body: bytes) -> Any:
    """A pushed body as objects, JSON or XML (told apart by its first character), UTF-8
    only; a body nested deeper than anything the protocol sends is refused."""
    text = body.lstrip()
    if not text:
        raise ProtocolError("the body is empty")
    try:
        decoded = text.decode("utf-8")
        if text[:1] == b"<":
            return _read_xml(text, decoded)
        return json.loads(decoded)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"the body is neither JSON nor XML in UTF-8 "
                            f"({type(exc).__name__})") from None
    except RecursionError:
        raise ProtocolError("the body is nested too deeply") from None


def _read_xml(text: bytes, decoded: str) -> Any:
    upper = decoded.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        raise ProtocolError("XML with a document type declaration is refused")
    declared = re.match(r"<\?xml[^>]*encoding=[\"']([\w-]+)", decoded)
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise ProtocolError("XML in another encoding than UTF-8 is refused")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ProtocolError(f"the XML does not parse ({exc})") from None
    return {_local(root.tag): _element(root)}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _element(elem: ET.Element) -> Any:
    children = list(elem)
    if not children and not elem.attrib:
        return (elem.text or "").strip()
    if children and not elem.attrib:
        names = {_local(c.tag) for c in children}
        if len(names) == 1 and len(children) > 1:
            return [_element(c) for c in children]
    out: dict[str, Any] = dict(elem.attrib)
    for child in children:
        name = _local(child.tag)
        value = _element(child)
        if name in out:
            if not isinstance(out[name], list):
                out[name] = [out[name]]
            out[name].append(value)
        else:
            out[name] = value
    return out


def as_list(value: Any, item: str | None = None) -> list[Any]:
    """A list the protocol documents as one, however it came: a list, one object in its
    place (the returns sample's quirk, §5.5), an XML container holding one `item`, or
    nothing."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and item is not None and set(value) == {item}:
        return as_list(value[item])
    return [value]


def top(doc: Any, key: str) -> Any:
    """`doc[key]` for a JSON body, or under the XML root (whatever its name)."""
    if not isinstance(doc, dict):
        raise ProtocolError("the body is not an object")
    if key in doc:
        return doc[key]
    if len(doc) == 1:
        inner = next(iter(doc.values()))
        if isinstance(inner, dict) and key in inner:
            return inner[key]
        if isinstance(inner, list):
            return inner
    raise ProtocolError(f"the body has no {key}")


# ------------------------------------------------------------------ the returns feed (§5.5)


def refuse_nulls(value: Any, path: str = "", depth: int = 0) -> None:
    """A null anywhere is an error Khaos would fail on (§4): never serve one."""
    if depth > 64:
        raise ProtocolError("the body is nested too deeply")
    if value is None:
        raise ProtocolError(f"null at {path or 'the top'}")
    if isinstance(value, dict):
        for k, v in value.items():
            refuse_nulls(v, f"{path}.{k}" if path else k, depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            refuse_nulls(v, f"{path}[{i}]", depth + 1)


def returns_document(returns: list[dict[str, Any]], fmt: str) -> tuple[bytes, str]:
    """The `CustomerReturnImport` feed (§5.5, §9 S3): `Returns` always a list."""
    doc = {"Returns": returns, "ApiVersion": API_VERSION,
           "Config": {"MatchAddressOn": ["Address1", "Postcode"], "MatchContactOn": ["Surname"]}}
    refuse_nulls(doc)
    if fmt == "XML":
        return _returns_xml(doc).encode("utf-8"), "application/xml"
    return json.dumps(doc, separators=(",", ":")).encode("utf-8"), "application/json"


def orders_document(fmt: str) -> tuple[bytes, str]:
    """An empty `OrderDownload` (required by the configuration; the console imports no
    orders: the retailer's own channel does)."""
    if fmt == "XML":
        return (f'<?xml version="1.0" encoding="UTF-8"?><SalesOrderImport>'
                f"<Orders/><ApiVersion>{API_VERSION}</ApiVersion></SalesOrderImport>"
                ).encode(), "application/xml"
    return json.dumps({"Orders": [], "ApiVersion": API_VERSION}).encode(), "application/json"


#: XML: properties that are DataItems (attributes, §4) and lists with their items' names.
_DATA_ITEMS = {"ReturnReason", "Country", "Brand", "SalesSource"}
_LIST_ITEMS = {"Returns": "CustomerReturn", "ReturnedItems": "ReturnedItem",
               "ExchangeItems": "ExchangeItem", "Mapping": "ItemMapping",
               "ExtendedDescription": "string", "MatchAddressOn": "string",
               "MatchContactOn": "string"}


def _returns_xml(doc: dict[str, Any]) -> str:
    body = "".join(_xml(k, v) for k, v in doc.items())
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f"<CustomerReturnImport>{body}</CustomerReturnImport>")


def _xml(name: str, value: Any) -> str:
    if name in _DATA_ITEMS and isinstance(value, dict):
        attrs = "".join(f" {k}={quoteattr(_xml_chars(str(v)))}" for k, v in value.items())
        return f"<{name}{attrs}/>"
    if isinstance(value, list):
        item = _LIST_ITEMS.get(name, "Item")
        return f"<{name}>{''.join(_xml(item, v) for v in value)}</{name}>"
    if isinstance(value, dict):
        return f"<{name}>{''.join(_xml(k, v) for k, v in value.items())}</{name}>"
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(_xml_chars(str(value)))}</{name}>"


def _xml_chars(text: str) -> str:
    """Only characters XML 1.0 allows (a control character in a name would break the whole
    document for every return in it)."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)


def specific_ids(headers: Mapping[str, str]) -> list[str]:
    """The AssociatedRefs a pull asks for again (`SpecificIDs: "A,B"`, §4), in order."""
    raw = headers.get(SPECIFIC_IDS, "").strip().strip('"').strip()
    return list(dict.fromkeys(part.strip().strip('"') for part in raw.split(",")
                              if part.strip().strip('"')))


__all__ = [
    "API_VERSION", "CONTINUATION", "ORDERS", "ORDER_STATUS", "PULLED", "RETURNS",
    "SPECIFIC_IDS", "STOCK", "STOCK_STATUS", "SUFFIXES", "ProtocolError", "as_list",
    "basic_header", "basic_ok", "endpoint_config", "orders_document", "read_body",
    "refuse_nulls", "returns_document", "specific_ids", "top",
]
