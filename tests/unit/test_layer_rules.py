"""Pure rules of the per-layer gates: the engine's history, later layers, package homes."""

import io
import tarfile

from builder.checks.enginelayers import layer_history
from builder.checks.layercache import MemoryLayerCache
from builder.checks.layerimage import catalogable
from builder.checks.layers import LaterLayers
from builder.checks.sbomlayers import component_home

NOP = "/bin/sh -c #(nop) "


def test_the_engine_history_marks_metadata_steps_as_empty_layers():
    newest_first = [{"CreatedBy": f"{NOP} CMD [\"x\"]", "Size": 0},
                    {"CreatedBy": f"{NOP}COPY file:abc in /app ", "Size": 0},
                    {"CreatedBy": "/bin/sh -c useradd app", "Size": 3000},
                    {"CreatedBy": f"{NOP} ENV A=1", "Size": 0},
                    {"CreatedBy": "", "Size": 1000}]
    history = layer_history(newest_first, 3)
    assert [h.get("empty_layer", False) for h in history] == [False, True, False, False, True]
    assert layer_history(newest_first, 4) is None  # cannot be matched to the layers: export instead
    buildkit = [{"CreatedBy": "CMD [\"x\"]", "Size": 0},
                {"CreatedBy": "COPY app.py /app/ # buildkit", "Size": 0},
                {"CreatedBy": "ENV A=1", "Size": 0}, {"CreatedBy": "", "Size": 1000}]
    assert [h.get("empty_layer", False) for h in layer_history(buildkit, 2)] == [
        False, True, False, True]


class _Context:
    def __init__(self, layers):
        self.layer_cache, self.scanned = MemoryLayerCache(), {}
        self.archive = type("A", (), {"diff_ids": [f"sha256:{n}" for n in range(len(layers))]})
        for n, paths in enumerate(layers):
            self.layer_cache.put("paths", f"sha256:{n}", paths)


def test_a_file_is_replaced_by_a_later_write_or_a_deletion_of_it_or_its_folder():
    later = LaterLayers(_Context([
        {"written": [], "deleted": []},
        {"written": ["/var/lib/dpkg/status"], "deleted": ["/tmp/key.pem"]},
        {"written": [], "deleted": ["/srv/keys/"]}]))
    assert later.replaced(0, "/var/lib/dpkg/status")
    assert not later.replaced(1, "/var/lib/dpkg/status")
    assert later.replaced(0, "/tmp/key.pem") and later.replaced(1, "/srv/keys/a.pem")
    assert not later.replaced(0, "/srv/keyset/a.pem")


def test_a_package_lives_in_its_database_file_first():
    component = {"properties": [
        {"name": "syft:location:0:path", "value": "/usr/share/doc/curl/copyright"},
        {"name": "syft:location:1:path", "value": "/var/lib/dpkg/status"}]}
    assert component_home(component) == "/var/lib/dpkg/status"
    assert component_home({"properties": []}) is None


def _layer(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, mode in files:
            info = tarfile.TarInfo(name)
            info.mode = mode
            tar.addfile(info, io.BytesIO(b""))
    buffer.seek(0)
    return tarfile.open(fileobj=buffer)


def test_only_layers_with_something_syft_reads_are_given_to_it():
    assert not catalogable(_layer([("home/app/app.py", 0o644), ("etc/passwd", 0o644)]))
    assert catalogable(_layer([("usr/local/bin/tool", 0o755)]))
    assert catalogable(_layer([("var/lib/dpkg/status", 0o644)]))
    assert catalogable(_layer([("app/lib/libx.so.1", 0o644)]))
    assert catalogable(_layer([("site/requests-2.0.dist-info/METADATA", 0o644)]))
