"""An ``Item`` of a library."""

from pydantic import BaseModel


class Item(BaseModel):
    """A library's item."""

    title: str
