"""The installed apps of the bookshop example (listed in application.yaml)."""
