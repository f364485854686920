"""(c) TauseStack: a controller over three singletons (UserService -> UserRepository -> Database).

The container builds the chain once at ``create_app()``; the route method has no ``Inject[...]``
parameter, so the controller's bound method is mounted directly.
"""

from tausestack import Controller, Repository, Service, Settings, create_app, get

from .models import Database, UserRead, UserRepository, UserService

#: The shared chain, registered as container singletons (the decorators only mark the classes).
CHAIN = [Repository(Database), Repository(UserRepository), Service(UserService)]


@Controller("/users")
class UserController:
    def __init__(self, users: UserService) -> None:
        self.users = users

    @get("/{user_id}")
    async def read_user(self, user_id: int) -> UserRead:
        return self.users.get(user_id)


app = create_app(Settings(installed_apps=[]), components=[*CHAIN, UserController])
