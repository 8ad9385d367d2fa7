"""Templates the emulator serves: the built-ins, loading extras from a file, and the catalog.

Choices where the docs are silent:
- Templates are read-only for clients (the docs show no template writes). They come from the
  built-ins below plus an optional JSON or YAML file; a file template with a built-in's slug
  replaces it. They live in memory, not in the SQLite state, because they are configuration.
- A template id is uuid5(NAMESPACE_URL, "titan-emulator:template:<slug>") unless the file gives
  one, so ids are the same in every run. Built-ins are stamped TEMPLATE_TIMESTAMP.
- The template file holds a list of templates, or a mapping with a `templates` list. Each entry
  needs `slug` (lowercase letters, digits and dashes) and `action_type`; `name` defaults to the
  slug, `description` to "", `payload` and `limits` to {}; `id` must be a UUID when given.
- Lists are ordered by slug.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ACTION_TYPES = ("search", "crawl", "scrape", "api_call")
TEMPLATE_TIMESTAMP = "2026-01-01T00:00:00.000000Z"
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TEMPLATE_KEYS = frozenset(
    {"id", "slug", "name", "description", "action_type", "payload", "limits"}
)

BUILTIN_TEMPLATES: tuple[dict[str, Any], ...] = (
    {
        "slug": "example-search-template",
        "name": "Example search",
        "description": "Discover result URLs from a pre-built search-engine results URL.",
        "action_type": "search",
        "payload": {"max_results": 10, "include_ads": False},
        "limits": {"max_results": 50},
    },
    {
        "slug": "carrier-quote-json",
        "name": "Carrier quote (JSON API)",
        "description": "Ask a carrier's JSON API for a shipping quote.",
        "action_type": "api_call",
        "payload": {"origin_zip": "", "destination_zip": "", "weight_lb": 1},
        "limits": {"timeout_seconds": 30, "max_retries": 2},
    },
    {
        "slug": "product-page-scrape",
        "name": "Product page scrape",
        "description": "Extract structured product data from concrete product pages.",
        "action_type": "scrape",
        "payload": {"render_javascript": False},
        "limits": {"max_pages": 100, "timeout_seconds": 60},
    },
    {
        "slug": "site-crawl",
        "name": "Site crawl",
        "description": "Follow links from seed URLs within one site.",
        "action_type": "crawl",
        "payload": {"same_domain_only": True},
        "limits": {"max_depth": 2, "max_pages": 200},
    },
)


class TemplateFileError(ValueError):
    """The templates file cannot be read or holds an invalid template."""


def make_template_id(slug: str) -> str:
    """The stable id of the template with `slug`."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"titan-emulator:template:{slug}"))


def build_template(entry: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Check one template entry and fill its defaults; `where` prefixes error messages."""
    unknown = sorted(set(entry) - _TEMPLATE_KEYS)
    if unknown:
        raise TemplateFileError(f"{where}: unknown field {unknown[0]!r}")
    slug = entry.get("slug")
    if not isinstance(slug, str) or not _SLUG.match(slug):
        raise TemplateFileError(f"{where}.slug: must be lowercase letters, digits and dashes")
    action_type = entry.get("action_type")
    if action_type not in ACTION_TYPES:
        raise TemplateFileError(f"{where}.action_type: must be one of {', '.join(ACTION_TYPES)}")
    template_id = entry.get("id", make_template_id(slug))
    try:
        template_id = str(uuid.UUID(str(template_id)))
    except ValueError:
        raise TemplateFileError(f"{where}.id: must be a UUID") from None
    name = entry.get("name", slug)
    description = entry.get("description", "")
    for key, value in (("name", name), ("description", description)):
        if not isinstance(value, str):
            raise TemplateFileError(f"{where}.{key}: must be a string")
    for key in ("payload", "limits"):
        if not isinstance(entry.get(key, {}), dict):
            raise TemplateFileError(f"{where}.{key}: must be a mapping")
    return {
        "id": template_id,
        "slug": slug,
        "name": name,
        "description": description,
        "action_type": action_type,
        "payload": json.loads(json.dumps(entry.get("payload", {}))),
        "limits": json.loads(json.dumps(entry.get("limits", {}))),
        "created_at": TEMPLATE_TIMESTAMP,
        "updated_at": TEMPLATE_TIMESTAMP,
    }


def load_templates_file(path: str | Path) -> list[dict[str, Any]]:
    """Read extra templates from a JSON (.json) or YAML (any other suffix) file."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateFileError(f"{source}: cannot read ({type(exc).__name__})") from None
    document = _parse_document(text, source)
    if isinstance(document, dict) and set(document) == {"templates"}:
        document = document["templates"]
    if not isinstance(document, list):
        raise TemplateFileError(f"{source}: expected a list of templates (or 'templates: [...]')")
    templates = []
    for index, entry in enumerate(document):
        if not isinstance(entry, dict):
            raise TemplateFileError(f"{source}: templates[{index}] must be a mapping")
        templates.append(build_template(entry, f"{source}: templates[{index}]"))
    return templates


def _parse_document(text: str, source: Path) -> Any:
    if source.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise TemplateFileError(f"{source}: invalid JSON at line {exc.lineno}") from None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        loaded = YAML(typ="safe", pure=False).load(text)
    except YAMLError as exc:
        raise TemplateFileError(f"{source}: invalid YAML ({type(exc).__name__})") from None
    # Round-trip through JSON so the catalog holds plain JSON values only.
    try:
        return json.loads(json.dumps(loaded))
    except (TypeError, ValueError):
        raise TemplateFileError(f"{source}: holds values that are not plain JSON") from None


class TemplateCatalog:
    """The templates of one emulator, looked up by id or slug."""

    def __init__(self, extra: Iterable[Mapping[str, Any]] = ()) -> None:
        by_slug: dict[str, dict[str, Any]] = {}
        for position, entry in enumerate(BUILTIN_TEMPLATES):
            template = build_template(entry, f"built-in template #{position}")
            by_slug[template["slug"]] = template
        for given in extra:
            by_slug[given["slug"]] = dict(given)
        self._by_slug = dict(sorted(by_slug.items()))
        self._by_id = {template["id"]: template for template in self._by_slug.values()}
        if len(self._by_id) != len(self._by_slug):
            raise TemplateFileError("two templates share one id")

    def list_all(self) -> list[dict[str, Any]]:
        """Every template, ordered by slug."""
        return list(self._by_slug.values())

    def find(self, ref: str) -> dict[str, Any] | None:
        """The template whose id or slug is `ref`, if any."""
        found = self._by_slug.get(ref)
        if found is None:
            try:
                found = self._by_id.get(str(uuid.UUID(ref)))
            except ValueError:
                return None
        return found

    def find_by_slug(self, slug: str) -> dict[str, Any] | None:
        """The template with exactly this slug."""
        return self._by_slug.get(slug)

    def find_by_id(self, template_id: str) -> dict[str, Any] | None:
        """The template with exactly this id (any UUID spelling)."""
        try:
            return self._by_id.get(str(uuid.UUID(template_id)))
        except ValueError:
            return None
