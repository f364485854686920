"""The ``aws`` backend: AWS Secrets Manager through boto3, with a time-limited cache.

Values (and misses) are kept ``cache_ttl`` seconds per process, so a hot path asks Secrets
Manager at most once per secret and period; a rotated secret is seen within that time.
Binary secrets are decoded as UTF-8. botocore logs response bodies at DEBUG level; a log
filter on its loggers hides the ones that carry secret values.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from .._aws import aws_client
from .base import AbstractSecretsBackend
from .errors import SecretsBackendError

if TYPE_CHECKING:
    from ..settings import AwsSecretsSettings

__all__ = ["AwsSecretsManager"]

_MISSING = {"ResourceNotFoundException"}
#: botocore logs whole response bodies at DEBUG level; these loggers would print secret values.
_BODY_LOGGERS = (
    "botocore.parsers",
    "botocore.endpoint",
    "botocore.hooks",
    "urllib3.connectionpool",
)


class _HideSecretValues(logging.Filter):
    """Redacts botocore's DEBUG records that carry a Secrets Manager response body."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG:
            return True
        try:
            text = record.getMessage()
        except Exception:  # a record that cannot format is not ours to judge
            return True
        if "SecretString" in text or "SecretBinary" in text:
            record.msg, record.args = "(a Secrets Manager response, hidden by TauseStack)", ()
        return True


_FILTER = _HideSecretValues()


def _hide_secret_values_from_logs() -> None:
    for name in _BODY_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


class AwsSecretsManager(AbstractSecretsBackend):
    """Secrets from AWS Secrets Manager (or a compatible endpoint)."""

    def __init__(self, settings: AwsSecretsSettings) -> None:
        _hide_secret_values_from_logs()
        self.prefix = settings.prefix
        self.region = settings.region
        self.endpoint_url = settings.endpoint_url
        self.cache_ttl = settings.cache_ttl
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()
        self.client: Any = aws_client("secretsmanager", settings)

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        region = f" in {self.region}" if self.region else ""
        prefix = f" (prefix {self.prefix!r})" if self.prefix else ""
        return f"AWS Secrets Manager{region}{where}{prefix}"

    def get(self, name: str) -> str | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None and cached[0] > now:
            return cached[1]
        value = self._fetch(name)
        if self.cache_ttl:
            with self._lock:
                self._cache[name] = (now + self.cache_ttl, value)
        return value

    def forget(self, name: str | None = None) -> None:
        """Drop one cached secret (or all), so the next read asks Secrets Manager."""
        with self._lock:
            if name is None:
                self._cache.clear()
            else:
                self._cache.pop(name, None)

    def _fetch(self, name: str) -> str | None:
        try:
            response = self.client.get_secret_value(SecretId=self.prefix + name)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                return None
            raise SecretsBackendError(
                f"Cannot read secret {name!r} from {self.describe()}: {code} "
                f"{exc.response.get('Error', {}).get('Message', '')}".rstrip()
                + "."
            ) from None
        except BotoCoreError as exc:
            raise SecretsBackendError(
                f"Cannot reach {self.describe()} for secret {name!r}: {exc}. Check "
                "secrets.aws.region and endpoint_url, and the network."
            ) from None
        if "SecretString" in response:
            return str(response["SecretString"])
        binary = response.get("SecretBinary")
        if isinstance(binary, bytes):
            try:
                return binary.decode("utf-8")
            except UnicodeDecodeError:
                raise SecretsBackendError(
                    f"Secret {name!r} in {self.describe()} is binary, not UTF-8 text."
                ) from None
        return None

    async def stop(self) -> None:
        self.client.close()
