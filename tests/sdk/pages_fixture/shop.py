"""An ``Item`` of a shop."""

from pydantic import BaseModel


class Item(BaseModel):
    """A shop's item."""

    price: int
