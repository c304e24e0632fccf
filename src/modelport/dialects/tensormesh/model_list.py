"""Which Tensormesh models a list shows, and which page of them: GET /v1/models, GET
/v1/admin/models and POST /v1/models:search-by-infra, paged as Tensormesh pages its lists
(`page` from 1, `size` per page, 0: the default) and answered as `{models, page, size, total}`.

Rows come from the indexed list of the project's endpoints that Tensormesh made (origin). The
userId and infra filters live in the stored extension, not in a column: with either, rows are
judged in indexed batches (dialects/listing.py) and the total reads them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from modelport.dialects.listing import DEFAULT_PAGE, MAX_PAGE, MAX_PAGE_NUMBER, Match, Window
from modelport.dialects.tensormesh.errors import invalid
from modelport.dialects.tensormesh.translate import EXTENSION, canonical_uuid, infra_set, stored
from modelport.services.endpoint_pages import ListedEndpoint
from modelport.store.paging import EndpointFilter

TENSORMESH_MADE = EndpointFilter(origin=EXTENSION)


@dataclass(frozen=True, slots=True)
class ModelFilter:
    user_id: str = ""  # canonical UUID; "": any
    infra: Mapping[str, str] | None = None  # fields every model shown has (infra_set); None: any

    @classmethod
    def of(cls, user_id: str, infra: Mapping[str, str] | None = None) -> ModelFilter:
        """userId checked as Tensormesh checks it (400 naming userId unless a UUID)."""
        return cls(canonical_uuid("userId", user_id) if user_id else "", infra)

    def match(self) -> Match | None:
        """None: no filter beyond the indexed ones."""
        if not self.user_id and self.infra is None:
            return None
        return self._keeps

    def _keeps(self, listed: ListedEndpoint) -> bool:
        tm = stored(listed.endpoint.spec)
        if tm is None or self.user_id not in ("", tm.user_id):
            return False
        return self.infra is None or self.infra.items() <= infra_set(tm.infra).items()


def window(page: int | None, size: int | None) -> Window:
    """Page `page` of `size` models; 400 naming `page` or `size` when out of range. Neither
    named: every model (the SDK's `models.list()` names neither and reads one answer)."""
    if page is not None and not 1 <= page <= MAX_PAGE_NUMBER:
        raise invalid("page", f"must be between 1 and {MAX_PAGE_NUMBER}")
    if size is not None and not 0 <= size <= MAX_PAGE:
        raise invalid("size", f"must be between 0 and {MAX_PAGE} (0: {DEFAULT_PAGE} per page)")
    return Window.named(page, size)
