"""(j) The (n) route requiring the user: a ``CurrentUser`` parameter, ``jwt`` backend (HS256).

The backend's verified-token cache is on (its default), so a client that sends the same token
with every request pays the signature check once.
"""

from tausestack import Controller, create_app, get
from tausestack.sdk.auth import CurrentUser

from .auth_settings import bench_settings
from .models import UserRead, UserService
from .ts_singleton import CHAIN


@Controller("/users")
class UserController:
    def __init__(self, users: UserService) -> None:
        self.users = users

    @get("/{user_id}")
    async def read_user(self, user_id: int, user: CurrentUser) -> UserRead:
        return self.users.get(user_id)


app = create_app(bench_settings(), components=[*CHAIN, UserController])
