"""(k) (j) with ``auth.jwt.verified_cache: 0``: every request verifies the HS256 signature."""

from tausestack import create_app

from .auth_jwt import UserController
from .auth_settings import bench_settings
from .ts_singleton import CHAIN

app = create_app(bench_settings(verified_cache=0), components=[*CHAIN, UserController])
