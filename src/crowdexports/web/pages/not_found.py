"""Any other path under /web: the not-found page (the API's JSON 404 is not for people), for a signed-in
visitor only, as every page but sign-in. Included last."""

from __future__ import annotations

from fastapi import APIRouter

from crowdexports.web.current import SignedInDep
from crowdexports.web.errors import PageNotFound

router = APIRouter(include_in_schema=False)


@router.get("/web/{rest:path}")
def not_found(rest: str, signed: SignedInDep) -> None:
    raise PageNotFound()
