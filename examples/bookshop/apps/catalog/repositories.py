"""In-memory storage of the catalog (a real project would use a database here)."""

from __future__ import annotations

from tausestack import Repository

from .models import Book


@Repository
class BookRepository:
    """Keeps books by ISBN, in insertion order."""

    def __init__(self) -> None:
        self._books: dict[str, Book] = {}

    def all(self) -> list[Book]:
        """Every book, in the order they were added."""
        return list(self._books.values())

    def find(self, isbn: str) -> Book | None:
        """The book with this ISBN, or None."""
        return self._books.get(isbn)

    def save(self, book: Book) -> Book:
        """Insert or replace ``book``."""
        self._books[book.isbn] = book
        return book

    def count(self) -> int:
        """How many books are stored."""
        return len(self._books)
