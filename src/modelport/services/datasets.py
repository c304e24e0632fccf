"""Datasets: where a project's async results land. Every call is scoped to the caller's
project; credentials are sealed on the way in and only datasets/storage.py unseals them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from modelport.datasets.storage import ResultStorage, check_key, check_prefix, open_storage
from modelport.domain.datasets import Dataset, StorageKind
from modelport.domain.errors import Conflict, InvalidSpec, NotFound
from modelport.domain.ids import MAX_ID, validate_name
from modelport.domain.records import Endpoint, Project
from modelport.schemas.datasets import MAX_OBJECTS_PAGE, DatasetCreate
from modelport.security.secrets import SecretBox
from modelport.services.auth import Principal
from modelport.services.dataset_rules import (
    check_endpoint_url,
    check_fsspec_url,
    infer_kind,
    local_directory,
)
from modelport.store.base import Store

DEFAULT_DATASET = "default"  # a project's results go here when async_config names none
DATASET_REF_FIELD = "spec.async_config.dataset_id"


class DatasetService:
    def __init__(self, store: Store, box: SecretBox, root: Path) -> None:
        """`root`: $MODELPORT_HOME/datasets; project <p>'s local datasets live in root/<p>/."""
        self._store = store
        self._box = box
        self._root = root

    # --- what async invocations use ---------------------------------------------------------
    def resolve(
        self, project_id: int, ref: str | None, *, field: str = DATASET_REF_FIELD
    ) -> Dataset:
        """The dataset `ref` names in the project: its id (digits, as TIR sends it) or its
        name; None: the project's default local dataset, created on first use. InvalidSpec
        naming `field` when nothing matches."""
        if ref is None:
            return self._default(project_id)
        try:
            if ref.isdigit():
                if int(ref) > MAX_ID:  # no such id; the database cannot even compare it
                    raise NotFound(f"dataset {ref} not found")
                return self._store.get_dataset(project_id, int(ref))
            return self._store.get_dataset_by_name(project_id, ref)
        except NotFound as exc:
            raise InvalidSpec(f"{field}: no dataset '{ref}' in this project", field=field) from exc

    def storage(self, dataset: Dataset) -> ResultStorage:
        return open_storage(dataset, self._box)

    # --- the resource -----------------------------------------------------------------------
    def create(self, principal: Principal, body: DatasetCreate) -> Dataset:
        principal.require_mutate()
        try:
            validate_name(body.name)
        except ValueError as exc:
            raise InvalidSpec(str(exc), field="name") from exc
        kind = body.kind or infer_kind(body.url)
        if kind is not infer_kind(body.url) and body.url is not None:
            raise InvalidSpec(
                f"kind: '{kind.value}' does not match url (fsspec URLs contain '://')", field="kind"
            )
        host = principal.may_use_host
        if kind is StorageKind.LOCAL:
            if body.credentials is not None or body.options.endpoint_url or body.options.region:
                raise InvalidSpec(
                    "credentials: a local dataset takes no options or credentials",
                    field="credentials" if body.credentials is not None else "options",
                )
            project = self._store.get_project(principal.project_id)
            default = self._project_dir(project) / body.name
            url = str(local_directory(body.url, default, may_use_host=host))
        else:
            if body.url is None:
                raise InvalidSpec("url: an fsspec dataset needs a url", field="url")
            url = check_fsspec_url(body.url, may_use_host=host)
            if body.options.endpoint_url is not None:
                check_endpoint_url(body.options.endpoint_url, may_use_host=host)
        sealed = None
        if body.credentials is not None:
            sealed = self._box.encrypt(body.credentials.model_dump_json())
        return self._store.create_dataset(
            principal.project_id,
            body.name,
            kind,
            url,
            options=body.options,
            sealed_credentials=sealed,
        )

    def get(self, principal: Principal, name: str) -> Dataset:
        self._no_inference_key(principal)
        return self._store.get_dataset_by_name(principal.project_id, name)

    def list(self, principal: Principal) -> Sequence[Dataset]:
        self._no_inference_key(principal)
        return self._store.list_datasets(principal.project_id)

    def delete(self, principal: Principal, name: str) -> None:
        """Conflict naming the endpoints whose async_config uses it. Objects are kept."""
        principal.require_mutate()
        dataset = self._store.get_dataset_by_name(principal.project_id, name)

        def unused(_project: Project, endpoints: Sequence[Endpoint]) -> None:
            users = [e.name for e in endpoints if _uses(e, dataset)]
            if users:
                raise Conflict(
                    f"dataset '{name}' is used by the async_config of endpoint(s) "
                    f"{', '.join(users)}; change or delete those first",
                    field="name",
                )

        self._store.delete_dataset(principal.project_id, dataset.id, admit=unused)

    def objects(
        self, principal: Principal, name: str, prefix: str = "", limit: int = 1000
    ) -> tuple[Sequence[str], bool]:
        """Keys starting with `prefix` (sorted, at most `limit`) and whether more matched."""
        if not 1 <= limit <= MAX_OBJECTS_PAGE:
            raise InvalidSpec(f"limit: must be between 1 and {MAX_OBJECTS_PAGE}", field="limit")
        check_prefix(prefix)
        keys = self.storage(self.get(principal, name)).list(prefix)
        return keys[:limit], len(keys) > limit

    def read_object(self, principal: Principal, name: str, key: str) -> bytes:
        check_key(key)
        data = self.storage(self.get(principal, name)).read(key)
        if data is None:
            raise NotFound(f"object '{key}' not found in dataset '{name}'", field="key")
        return data

    # --- helpers ----------------------------------------------------------------------------
    def _default(self, project_id: int) -> Dataset:
        try:
            return self._store.get_dataset_by_name(project_id, DEFAULT_DATASET)
        except NotFound:
            pass
        project = self._store.get_project(project_id)
        url = str(self._project_dir(project) / DEFAULT_DATASET)
        try:
            return self._store.create_dataset(project_id, DEFAULT_DATASET, StorageKind.LOCAL, url)
        except Conflict:  # created by a concurrent first use
            return self._store.get_dataset_by_name(project_id, DEFAULT_DATASET)

    def _project_dir(self, project: Project) -> Path:
        return self._root / project.name

    @staticmethod
    def _no_inference_key(principal: Principal) -> None:
        # Inference keys call one endpoint; datasets hold every endpoint's results.
        if principal.endpoint_id is not None:
            raise NotFound("datasets are not visible to an inference key")


def _uses(endpoint: Endpoint, dataset: Dataset) -> bool:
    ref = endpoint.spec.async_config.dataset_id
    if ref is None:
        return dataset.name == DEFAULT_DATASET and endpoint.spec.async_config.enabled
    return ref in (str(dataset.id), dataset.name)
