"""What every variant shares: the response model, the data, and the plain service chain.

``UserService -> UserRepository -> Database``: the deepest object holds the users in a dict;
each variant wires this same chain its own way.
"""

from fastapi import HTTPException
from pydantic import BaseModel


class UserRead(BaseModel):
    id: int
    name: str


#: The rows the deepest object keeps in a dict (id -> name).
USERS: dict[int, str] = {user_id: f"user-{user_id}" for user_id in range(1, 1001)}


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
