from __future__ import annotations

from fastapi import APIRouter

from nlp_api._deps import RegistryDep
from nlp_api._schemas import AnalyzerInfo
from nlp_api.analyzers import DICTIONARY_BACKENDS

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["analysis"])


@router.get("/analyzers", response_model=list[AnalyzerInfo])
def list_analyzers(registry: RegistryDep) -> list[AnalyzerInfo]:
    """Every configured analyzer: library version, tagset, dictionary, options, load state."""
    loaded = {a.name: a for a in registry.analyzers()}
    infos = []
    for name, state in sorted(registry.states().items()):
        a = loaded.get(name)
        infos.append(
            AnalyzerInfo(
                name=name,
                version=a.version if a else None,
                tagset=a.tagset if a else None,
                dictionary=a.dictionary if a else None,
                options={
                    k: {"type": o.type.__name__, "default": o.default, "help": o.help}
                    for k, o in (a.options.items() if a else ())
                },
                takes_user_dictionary=name in DICTIONARY_BACKENDS,
                state=state,
            )
        )
    return infos
