"""One way to build a boto3 client from an SDK module's AWS settings (secrets, SES)."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import SecretStr


class AwsClientSettings(Protocol):
    """The settings fields every AWS-backed module has."""

    region: str | None
    endpoint_url: str | None
    access_key_id: SecretStr | None
    secret_access_key: SecretStr | None
    connect_timeout: float
    read_timeout: float
    max_attempts: int


def aws_client(service: str, settings: AwsClientSettings, session: Any = None) -> Any:
    """A boto3 client for ``service`` with the settings' region, endpoint, credentials (left
    to boto3's chain when empty), timeouts and standard retries."""
    import boto3
    from botocore.config import Config

    key_id, secret = settings.access_key_id, settings.secret_access_key
    return (session or boto3.session.Session()).client(
        service,
        region_name=settings.region,
        endpoint_url=settings.endpoint_url,
        aws_access_key_id=key_id.get_secret_value() if key_id else None,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        config=Config(
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            retries={"max_attempts": settings.max_attempts, "mode": "standard"},
        ),
    )
