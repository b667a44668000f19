"""/metrics in the Prometheus text format changes as builds happen, in one process or many."""

import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from ops.multiproc import MULTIPROC_ENV
from tests.support.stack import app_environ, post_github, repo_entry, work

LOCKMASTER = str(Path(sys.executable).parent / "lockmaster")


def scrape(client) -> dict[tuple, float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def delta(before, after, name, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_a_build_moves_the_counters_histograms_and_queue_depth(app, client, source_repo,
                                                                secret):
    before = scrape(client)
    post_github(client, source_repo.payload(), secret)
    queued = scrape(client)
    assert queued[("lockmaster_queue_depth", (("queue", "builds"),))] == 1
    work(app)
    after = scrape(client)
    assert after[("lockmaster_queue_depth", (("queue", "builds"),))] == 0
    assert delta(before, after, "lockmaster_webhook_deliveries_total",
                 provider="github", outcome="accepted") == 1
    assert delta(before, after, "lockmaster_builds_finished_total", status="staged") == 1
    for stage in ("clone", "build", "gates", "push"):
        assert delta(before, after, "lockmaster_stage_duration_seconds_count", stage=stage) == 1
    assert delta(before, after, "lockmaster_stage_duration_seconds_sum", stage="build") > 0


def test_rejected_deliveries_are_counted(client, source_repo, secret):
    before = scrape(client)
    post_github(client, source_repo.payload(), "wrong-secret")
    after = scrape(client)
    assert delta(before, after, "lockmaster_webhook_deliveries_total",
                 provider="github", outcome="rejected") == 1


def test_a_worker_process_writes_metrics_the_web_app_merges(make_app, source_repo, secret,
                                                             monkeypatch):
    app = make_app([repo_entry(source_repo, branches=["main", "dev"])])
    client = app.test_client()
    for n, branch in enumerate(["main", "dev"]):  # two refs, so neither build supersedes
        sha = source_repo.commit({"app.txt": f"v{n}\n"})
        post_github(client, source_repo.payload(ref=f"refs/heads/{branch}", sha=sha), secret)
    subprocess.run([LOCKMASTER, "worker", "--burst"], env=app_environ(app), check=True,
                   capture_output=True, timeout=300)
    folder = app.extensions["lockmaster"].settings.data_dir / "metrics"
    files = sorted(p.name for p in folder.glob("*.db"))
    assert files, "the worker wrote no metric files"
    assert len(files) <= 2, f"one file per job piles up: {files}"
    monkeypatch.setenv(MULTIPROC_ENV, str(folder))
    merged = scrape(client)
    assert merged[("lockmaster_builds_finished_total", (("status", "staged"),))] == 2
    assert merged[("lockmaster_stage_duration_seconds_count", (("stage", "build"),))] == 2


def test_a_failing_gate_is_counted_by_name(make_app, source_repo, secret):
    app = make_app([repo_entry(source_repo, checks={"size": {"max_mb": 0.1}})])
    client = app.test_client()
    before = scrape(client)
    post_github(client, source_repo.payload(), secret)
    work(app)
    after = scrape(client)
    assert delta(before, after, "lockmaster_gate_failures_total", gate="size") == 1
    assert delta(before, after, "lockmaster_builds_finished_total", status="rejected") == 1
