"""The four servers of ``bench/http_overhead.py``; each module exposes ``app``."""
