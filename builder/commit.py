"""The closing settings of a Dockerfile and Lockmaster's labels, applied by one commit."""

from __future__ import annotations

from collections.abc import Callable

from docker import APIClient


def commit_settings(api: APIClient, image_id: str, changes: list[str],
                    on_container: Callable[[str], None]) -> str:
    """The id of a new image: `image_id` with `changes` (Dockerfile instructions) applied by
    one commit of a container that never runs, as the engine's own build step does it (the
    image's config is sent whole, so nothing of it is lost or taken from the container)."""
    config = {**(api.inspect_image(image_id)["Config"] or {}), "Image": image_id}
    # The command only names the step in the image history; the container never starts.
    container = api.create_container(image_id, command=["/bin/sh", "-c",
                                                        "#(nop) " + "; ".join(changes)],
                                     network_disabled=True)["Id"]
    on_container(container)
    return api.commit(container, changes=changes, conf=config, pause=False)["Id"]
