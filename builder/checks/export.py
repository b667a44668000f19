"""The one export of the built image the gates share, measured by the engine before it is made
and cut off past the size gate's limit (an image can be as large as the engine's disk)."""

from __future__ import annotations

from pathlib import Path

from docker.errors import DockerException

from builder.checks.base import GateError

MB = 1024 * 1024
# docker save adds tar headers and the config to the layers' bytes; this leaves room for them.
MARGIN_MB, MARGIN_RATIO = 16, 0.1


class ImageTooLarge(GateError):
    """The image is over the size gate's max_uncompressed_mb: it is not exported."""


def export_limit(max_uncompressed_mb: float | None) -> int | None:
    """The most bytes an export may take: the limit plus a margin (None: no limit)."""
    if max_uncompressed_mb is None:
        return None
    return int(max_uncompressed_mb * MB * (1 + MARGIN_RATIO) + MARGIN_MB * MB)


def refuse_too_large(size: int, max_uncompressed_mb: float | None) -> None:
    """Raise ImageTooLarge when the engine's measure of the image is over the limit."""
    if max_uncompressed_mb is not None and size > max_uncompressed_mb * MB:
        raise ImageTooLarge(_too_large(size, max_uncompressed_mb, "the engine measures"))


def export_image(client, image_id: str, target: Path, max_uncompressed_mb: float | None) -> None:
    """`docker save` the image to target, after the engine's own measure says it fits."""
    try:
        refuse_too_large(client.images.get(image_id).attrs.get("Size") or 0,
                         max_uncompressed_mb)
        cap, written = export_limit(max_uncompressed_mb), 0
        chunks = client.images.get(image_id).save(named=False)
        with target.open("wb") as out:
            for chunk in chunks:
                written += len(chunk)
                if cap is not None and written > cap:
                    raise ImageTooLarge(_too_large(written, max_uncompressed_mb,
                                                   "the export passed"))
                out.write(chunk)
    except DockerException as exc:
        raise GateError(f"the Docker engine could not export the image: {exc}") from exc


def _too_large(size: int, limit: float, measured: str) -> str:
    return (f"uncompressed size over the {limit:g} MB limit (max_uncompressed_mb): "
            f"{measured} {size / MB:.2f} MB; the image was not exported, so the other gates "
            "did not run")
