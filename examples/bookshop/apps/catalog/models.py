"""The catalog's data: a book, as stored and as sent over HTTP."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Book(BaseModel):
    """A book of the catalog; prices are integer cents so sums stay exact."""

    model_config = ConfigDict(frozen=True)

    isbn: str = Field(min_length=10, max_length=17, examples=["978-1491946008"])
    title: str = Field(min_length=1)
    author: str = Field(min_length=1)
    price_cents: int = Field(ge=0)
    stock: int = Field(ge=0)
