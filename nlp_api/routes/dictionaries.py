"""User dictionaries: PUT to create or replace, GET one or all, DELETE.

A dictionary is used by naming it in an analyze/features request (`"dictionary": name`) with
kiwi, komoran or mecab; every API instance sharing the dictionary directory sees a PUT on its
next request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from nlp_api._dictionaries import DictionaryInfo, DictionaryStore, UserWord
from nlp_api._errors import DictionaryNotFound

__all__ = ["DictionaryStoreDep", "router"]

router = APIRouter(prefix="/v1/dictionaries", tags=["dictionaries"])


async def _store(request: Request) -> DictionaryStore:
    store: DictionaryStore = request.app.state.dictionaries
    return store


DictionaryStoreDep = Annotated[DictionaryStore, Depends(_store)]


class WordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    form: str = Field(examples=["꿀잼"], description="surface form, no whitespace, <= 100 chars")
    tag: str = Field(examples=["NNP"], description="a tag of the analyzer's tagset")
    score: float | None = Field(
        None, description="higher is preferred; kiwi's score, mecab cost = -1000 * score"
    )


class DictionaryPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    words: list[WordIn] = Field(description="at most 100,000 words, each form once")


class DictionarySummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    version: str = Field(description="first 12 hex digits of SHA-256 of the content")
    word_count: int
    updated_at: str


class WordOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    form: str
    tag: str
    score: float | None = None


class DictionaryOut(DictionarySummary):
    words: list[WordOut]


def _summary(info: DictionaryInfo) -> DictionarySummary:
    return DictionarySummary(
        name=info.name,
        version=info.version,
        word_count=info.word_count,
        updated_at=info.updated_at,
    )


@router.get("", response_model=list[DictionarySummary])
def list_dictionaries(store: DictionaryStoreDep) -> list[DictionarySummary]:
    """Every stored dictionary's name, version, word count and last update."""
    summaries = []
    for name in store.names():
        try:
            summaries.append(_summary(store.get(name)))
        except DictionaryNotFound:  # deleted meanwhile
            continue
    return summaries


@router.put(
    "/{name}",
    response_model=DictionarySummary,
    responses={201: {"model": DictionarySummary, "description": "created"}},
)
def put_dictionary(
    name: str, body: DictionaryPut, store: DictionaryStoreDep, response: Response
) -> DictionarySummary:
    """Create (201) or replace (200) the dictionary `name`. The version names the content; an
    identical PUT keeps version and `updated_at`."""
    existed = store.exists(name)
    info = store.put(name, [UserWord(w.form, w.tag, w.score) for w in body.words])
    if not existed:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = f"{router.prefix}/{name}"
    return _summary(info)


@router.get("/{name}", response_model=DictionaryOut)
def get_dictionary(name: str, store: DictionaryStoreDep) -> DictionaryOut:
    """The dictionary with its words (sorted by form)."""
    info = store.get(name)
    return DictionaryOut(
        **_summary(info).model_dump(),
        words=[WordOut(form=w.form, tag=w.tag, score=w.score) for w in info.words],
    )


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dictionary(name: str, store: DictionaryStoreDep) -> Response:
    """Remove the dictionary (404 when absent); requests naming it then get 404."""
    store.delete(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
