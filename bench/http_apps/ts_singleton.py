"""(c) TauseStack: a controller over three singletons (UserService -> UserRepository -> Database).

The container builds the chain once at ``create_app()``; the route method has no ``Inject[...]``
parameter, so the controller's bound method is mounted directly.
"""

from fastapi import HTTPException

from tausestack import Controller, Repository, Service, Settings, create_app, get

from .models import USERS, UserRead


@Repository
class Database:
    def __init__(self) -> None:
        self.users = dict(USERS)


@Repository
class UserRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def find(self, user_id: int) -> UserRead | None:
        name = self.db.users.get(user_id)
        return None if name is None else UserRead(id=user_id, name=name)


@Service
class UserService:
    def __init__(self, repository: UserRepository) -> None:
        self.repository = repository

    def get(self, user_id: int) -> UserRead:
        user = self.repository.find(user_id)
        if user is None:
            raise HTTPException(404, "user not found")
        return user


@Controller("/users")
class UserController:
    def __init__(self, users: UserService) -> None:
        self.users = users

    @get("/{user_id}")
    async def read_user(self, user_id: int) -> UserRead:
        return self.users.get(user_id)


app = create_app(
    Settings(installed_apps=[]),
    components=[Database, UserRepository, UserService, UserController],
)
