"""The catalog's settings section (``catalog:`` in application.yaml)."""

from __future__ import annotations

from pydantic import Field

from tausestack import SettingsSection

from .models import Book


class CatalogSettings(SettingsSection, section="catalog"):
    """How the catalog behaves; injectable into any component by its type."""

    low_stock_threshold: int = Field(default=2, ge=0)
    """A book whose stock is at or below this number is reported as low on stock."""

    seed_books: list[Book] = Field(default_factory=list)
    """Books the catalog is filled with at startup (see ``CatalogSeeder``)."""
