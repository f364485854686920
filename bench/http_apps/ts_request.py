"""(d) TauseStack: the (c) chain plus one request-scoped dependency taken as ``Inject[...]``.

``RequestContext`` is ``@Service(scope="request")``: one instance per request, created by the
route wrapper and released by the request-scope middleware when the response has been sent.
"""

from tausestack import Controller, Inject, Service, Settings, create_app, get

from .models import UserRead, UserService
from .ts_singleton import CHAIN


@Service(scope="request")
class RequestContext:
    def __init__(self) -> None:
        self.user_id: int | None = None


@Controller("/users")
class UserController:
    def __init__(self, users: UserService) -> None:
        self.users = users

    @get("/{user_id}")
    async def read_user(self, user_id: int, ctx: Inject[RequestContext]) -> UserRead:
        ctx.user_id = user_id
        return self.users.get(user_id)


app = create_app(Settings(installed_apps=[]), components=[*CHAIN, RequestContext, UserController])
