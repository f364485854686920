"""(a) Bare FastAPI: the service chain is wired by hand at module level."""

from fastapi import FastAPI, HTTPException

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


service = UserService(UserRepository(Database()))
app = FastAPI()


@app.get("/users/{user_id}")
async def read_user(user_id: int) -> UserRead:
    return service.get(user_id)
