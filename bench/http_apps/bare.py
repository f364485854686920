"""(a) Bare FastAPI: the service chain is wired by hand at module level."""

from fastapi import FastAPI

from .models import Database, UserRead, UserRepository, UserService

service = UserService(UserRepository(Database()))
app = FastAPI()


@app.get("/users/{user_id}")
async def read_user(user_id: int) -> UserRead:
    return service.get(user_id)
