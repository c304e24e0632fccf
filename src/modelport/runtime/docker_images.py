"""Getting a replica's image onto the Docker host: pull policies, private registries, and
pull failures turned into ImagePullFailed that say which image, what the daemon said and what
to do. Blocking (docker SDK): callers run it in a thread."""

from __future__ import annotations

import logging

from docker import DockerClient
from docker.errors import APIError, ImageNotFound
from docker.utils import parse_repository_tag

from modelport.domain.errors import ImagePullFailed
from modelport.domain.launch import ContainerPlan, RegistryLogin
from modelport.domain.specs import PullPolicy

log = logging.getLogger("modelport.runtime.docker")

_HINT = (
    "check the image name and tag, the registry integration's credentials "
    "(model.registry_integration), and that the registry is reachable from the Docker host"
)


def ensure_image(client: DockerClient, container: ContainerPlan) -> None:
    """The image is on the daemon when this returns, per the plan's pull policy."""
    image = container.image
    policy = container.pull_policy
    if policy is not PullPolicy.ALWAYS and _present(client, image):
        return
    if policy is PullPolicy.NEVER:
        raise ImagePullFailed(
            f"image {image!r} is not on the Docker host and image_pull_policy is Never; "
            "load it there (docker load / docker build) or use IfNotPresent"
        )
    _pull(client, image, container.registry)


def _present(client: DockerClient, image: str) -> bool:
    try:
        client.images.get(image)
    except ImageNotFound:
        return False
    return True


def _pull(client: DockerClient, image: str, registry: RegistryLogin | None) -> None:
    repository, tag = parse_repository_tag(image)
    if tag is None and "@" not in repository:
        tag = "latest"
    auth = None
    if registry is not None:  # never logged: only the server name is
        auth = {
            "username": registry.username,
            "password": registry.password,
            "serveraddress": registry.server,
        }
    log.info(
        "pulling %s%s", image, f" (login to {registry.server})" if registry is not None else ""
    )
    try:
        client.images.pull(repository, tag=tag, auth_config=auth)
    except APIError as exc:
        said = str(exc.explanation or exc).strip()
        raise ImagePullFailed(f"image {image!r} could not be pulled: {said}; {_HINT}") from exc
