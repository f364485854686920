"""HTTP routes of the catalog, as a controller class."""

from __future__ import annotations

from fastapi import HTTPException, status

from tausestack import Controller, get, post

from .models import Book
from .services import BookNotFoundError, CatalogService, DuplicateBookError


@Controller("/books", tags=["catalog"])
class BookController:
    """Browse the catalog and add books to it."""

    def __init__(self, catalog: CatalogService) -> None:
        self.catalog = catalog

    @get("")
    async def list_books(self, in_stock: bool = False) -> list[Book]:
        """List the books, optionally only those in stock (``?in_stock=true``)."""
        return self.catalog.list_books(in_stock_only=in_stock)

    @get("/{isbn}", responses={404: {"description": "No such book"}})
    async def read_book(self, isbn: str) -> Book:
        """Read one book by ISBN."""
        try:
            return self.catalog.get_book(isbn)
        except BookNotFoundError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc

    @post("", status_code=status.HTTP_201_CREATED, responses={409: {"description": "Duplicate"}})
    async def add_book(self, book: Book) -> Book:
        """Add a book to the catalog."""
        try:
            return self.catalog.add_book(book)
        except DuplicateBookError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
