"""BuildKit's step limits land in the engine's own `<cgroup parent>/buildkit` group."""

from pathlib import Path

from builder.bklimits import StepLimits, lock_file


class Lines:
    """A build log that keeps its lines."""

    def __init__(self):
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines.append(text)


def test_the_limits_are_written_under_the_engines_parent(tmp_path):
    root = tmp_path / "cgroup"
    (root / "cpu" / "lm-test-parent" / "buildkit").mkdir(parents=True)
    (root / "cpu" / "lm-test-parent" / "buildkit" / "cpu.cfs_period_us").write_text("100000\n")
    limits = StepLimits(48 << 20, 0.5, 100, "lm-test-parent", root, tmp_path / "limits.lock")
    log = Lines()
    limits.apply(None, log)
    try:
        group = Path("lm-test-parent") / "buildkit"
        assert (root / "memory" / group / "memory.limit_in_bytes").read_text() == str(48 << 20)
        assert (root / "cpu" / group / "cpu.cfs_quota_us").read_text() == "50000"
        assert (root / "pids" / group / "pids.max").read_text() == "100"
        assert not (root / "memory" / "docker").exists()
        assert log.lines == ["process limit: 100 processes for every step together; "
                             "memory 48m, 0.5 CPUs"]
    finally:
        limits.release()


def test_an_unknown_parent_is_said_in_the_log_and_nothing_is_written(tmp_path):
    limits = StepLimits(48 << 20, None, 100, None, tmp_path, tmp_path / "limits.lock")
    log = Lines()
    limits.apply("no dockerd process is visible to the worker", log)
    limits.release()
    assert log.lines == ["memory, CPU and process limits not applied: no dockerd process is "
                         "visible to the worker"]
    assert list(tmp_path.iterdir()) == []


def test_each_cgroup_parent_has_a_lock_of_its_own():
    assert lock_file("docker").name == "lockmaster-buildkit-limits.lock"
    assert lock_file("lm-test-parent").name == "lockmaster-buildkit-limits-lm-test-parent.lock"
    assert lock_file("a/b") != lock_file("a-b")
