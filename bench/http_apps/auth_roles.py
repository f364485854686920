"""(r) The (n) route with ``roles=["reader"]`` (the user holds the role), verified-token cache on.

``roles=`` adds ``Depends(require_roles("reader"))``, which depends on the current user.
"""

from tausestack import Controller, create_app, get

from .auth_settings import ROLE, bench_settings
from .models import UserRead, UserService
from .ts_singleton import CHAIN


@Controller("/users")
class UserController:
    def __init__(self, users: UserService) -> None:
        self.users = users

    @get("/{user_id}", roles=[ROLE])
    async def read_user(self, user_id: int) -> UserRead:
        return self.users.get(user_id)


app = create_app(bench_settings(), components=[*CHAIN, UserController])
