"""Table models of the database contract suite: one-to-many and many-to-many relationships."""

from sqlmodel import Field, Relationship, SQLModel

from tausestack import Repository
from tausestack.sdk.database import BaseRepository


class SquadHeroLink(SQLModel, table=True):
    """Links heroes and powers (many-to-many)."""

    __tablename__ = "contract_hero_power"

    hero_id: int | None = Field(default=None, foreign_key="contract_hero.id", primary_key=True)
    power_id: int | None = Field(default=None, foreign_key="contract_power.id", primary_key=True)


class Squad(SQLModel, table=True):
    __tablename__ = "contract_squad"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    heroes: list["Hero"] = Relationship(back_populates="squad")


class Power(SQLModel, table=True):
    __tablename__ = "contract_power"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    heroes: list["Hero"] = Relationship(back_populates="powers", link_model=SquadHeroLink)


class Hero(SQLModel, table=True):
    __tablename__ = "contract_hero"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    age: int | None = None
    squad_id: int | None = Field(default=None, foreign_key="contract_squad.id")
    squad: Squad | None = Relationship(back_populates="heroes")
    powers: list[Power] = Relationship(back_populates="heroes", link_model=SquadHeroLink)


class HeroCreate(SQLModel):
    name: str
    age: int | None = None
    squad_id: int | None = None


class HeroRead(SQLModel):
    id: int
    name: str
    age: int | None


class PowerRead(SQLModel):
    id: int
    name: str


class HeroReadWithPowers(HeroRead):
    powers: list[PowerRead] = []


class SquadReadWithHeroes(SQLModel):
    id: int
    name: str
    heroes: list[HeroRead] = []


@Repository
class HeroRepository(BaseRepository[Hero]):
    """The repository under test."""


@Repository
class SquadRepository(BaseRepository[Squad]):
    pass


@Repository
class PowerRepository(BaseRepository[Power]):
    pass


TABLES = [SquadHeroLink.__table__, Squad.__table__, Power.__table__, Hero.__table__]
