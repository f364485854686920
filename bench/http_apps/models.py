"""What every variant shares: the response model and the data the deepest object holds."""

from pydantic import BaseModel


class UserRead(BaseModel):
    id: int
    name: str


#: The rows the deepest object of every variant keeps in a dict (id -> name).
USERS: dict[int, str] = {user_id: f"user-{user_id}" for user_id in range(1, 1001)}
