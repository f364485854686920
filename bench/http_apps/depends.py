"""(b) FastAPI with a three-level ``Depends`` chain of ``async def`` functions.

handler -> get_service -> get_repository -> get_database; each returns a module-level object,
so the cost measured is FastAPI resolving the chain on every request.
"""

from typing import Annotated

from fastapi import Depends, FastAPI

from .models import Database, UserRead, UserRepository, UserService

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
