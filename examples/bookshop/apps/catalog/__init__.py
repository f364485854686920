"""The catalog app: books, their prices and stock levels."""
