"""The catalog's business logic, and the startup hook that seeds it."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from tausestack import Service

from .models import Book
from .repositories import BookRepository
from .settings import CatalogSettings

logger = logging.getLogger(__name__)


class CatalogError(Exception):
    """Base class of the errors the catalog reports to its callers."""


class BookNotFoundError(CatalogError):
    """No book has the requested ISBN."""

    def __init__(self, isbn: str) -> None:
        super().__init__(f"No book with ISBN {isbn}.")
        self.isbn = isbn


class DuplicateBookError(CatalogError):
    """A book with this ISBN is already in the catalog."""

    def __init__(self, isbn: str) -> None:
        super().__init__(f"A book with ISBN {isbn} is already in the catalog.")
        self.isbn = isbn


class OutOfStockError(CatalogError):
    """Fewer copies are in stock than were asked for."""

    def __init__(self, book: Book, wanted: int) -> None:
        super().__init__(f"Only {book.stock} of {book.isbn} in stock, {wanted} wanted.")
        self.book = book
        self.wanted = wanted


@Service
class CatalogService:
    """Reads the catalog and moves stock; the orders app depends on it."""

    def __init__(self, books: BookRepository, settings: CatalogSettings) -> None:
        self.books = books
        self.settings = settings

    def list_books(self, *, in_stock_only: bool = False) -> list[Book]:
        """Every book, or only those with at least one copy in stock."""
        books = self.books.all()
        return [book for book in books if book.stock > 0] if in_stock_only else books

    def has_book(self, isbn: str) -> bool:
        """Whether a book with this ISBN is in the catalog."""
        return self.books.find(isbn) is not None

    def count(self) -> int:
        """How many books the catalog holds."""
        return self.books.count()

    def get_book(self, isbn: str) -> Book:
        """The book with this ISBN; raises BookNotFoundError."""
        book = self.books.find(isbn)
        if book is None:
            raise BookNotFoundError(isbn)
        return book

    def add_book(self, book: Book) -> Book:
        """Add a new book; raises DuplicateBookError if the ISBN is taken."""
        if self.has_book(book.isbn):
            raise DuplicateBookError(book.isbn)
        return self.books.save(book)

    def reserve(self, quantities: Mapping[str, int]) -> list[Book]:
        """Take ``quantities`` (ISBN → copies) out of stock, all or nothing.

        Returns the books as they were before the reservation (their price is what is
        charged). Raises BookNotFoundError or OutOfStockError and changes nothing then.
        """
        books = [self.get_book(isbn) for isbn in quantities]
        for book in books:
            if book.stock < quantities[book.isbn]:
                raise OutOfStockError(book, quantities[book.isbn])
        for book in books:
            self.books.save(book.model_copy(update={"stock": book.stock - quantities[book.isbn]}))
        return books

    def low_stock(self) -> list[Book]:
        """Books at or below the configured low-stock threshold."""
        threshold = self.settings.low_stock_threshold
        return [book for book in self.books.all() if book.stock <= threshold]


@Service
class CatalogSeeder:
    """Fills the catalog with the configured ``seed_books`` when the application starts.

    ``start()`` is a lifecycle hook: TauseStack calls it once at startup, after the services
    it depends on exist and before the first request is served.
    """

    def __init__(self, catalog: CatalogService, settings: CatalogSettings) -> None:
        self.catalog = catalog
        self.settings = settings
        self.seeded = 0

    async def start(self) -> None:
        """Add every seed book that is not in the catalog yet (restarts add nothing twice)."""
        for book in self.settings.seed_books:
            if not self.catalog.has_book(book.isbn):
                self.catalog.add_book(book)
                self.seeded += 1
        logger.info("Catalog seeded with %d book(s)", self.seeded)

    def stop(self) -> None:
        """Log that the catalog is going away (called at shutdown)."""
        logger.info("Catalog closed with %d book(s)", self.catalog.count())
