"""(b) FastAPI with a three-level ``Depends`` chain of ``async def`` functions.

handler -> get_service -> get_repository -> get_database; each returns a module-level object,
so the cost measured is FastAPI resolving the chain on every request.
"""

from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException

from .models import USERS, UserRead


class Database:
    def __init__(self) -> None:
        self.users = dict(USERS)


class UserRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def find(self, user_id: int) -> UserRead | None:
        name = self.db.users.get(user_id)
        return None if name is None else UserRead(id=user_id, name=name)


class UserService:
    def __init__(self, repository: UserRepository) -> None:
        self.repository = repository

    def get(self, user_id: int) -> UserRead:
        user = self.repository.find(user_id)
        if user is None:
            raise HTTPException(404, "user not found")
        return user


DATABASE = Database()
REPOSITORY = UserRepository(DATABASE)
SERVICE = UserService(REPOSITORY)


async def get_database() -> Database:
    return DATABASE


async def get_repository(db: Annotated[Database, Depends(get_database)]) -> UserRepository:
    return REPOSITORY


async def get_service(
    repository: Annotated[UserRepository, Depends(get_repository)],
) -> UserService:
    return SERVICE


app = FastAPI()


@app.get("/users/{user_id}")
async def read_user(
    user_id: int, service: Annotated[UserService, Depends(get_service)]
) -> UserRead:
    return service.get(user_id)
