"""History API filters: what makes sense passes, what does not says why."""

from datetime import datetime

import pytest

from history.filters import BadFilter, audit_filter, build_filter, commit_prefix, image_digest
from history.queries import id_floor
from record.models import new_build_id


def test_filters_are_read_into_plain_values():
    wanted = build_filter({"repository": "acme/web", "sha": "ABCDEF0", "limit": "200",
                           "since": "2026-01-31T12:00:00+01:00", "until": "2026-02-01"})
    assert (wanted.repository, wanted.sha, wanted.limit) == ("acme/web", "abcdef0", 200)
    assert wanted.since == datetime(2026, 1, 31, 11, 0) and wanted.until == datetime(2026, 2, 1)
    assert audit_filter({"actor": "carol", "next": "17"}).cursor == 17
    found = build_filter({"digest": "ABCDEF0123", "q": "  Fix login  "})
    assert (found.digest, found.text) == ("sha256:abcdef0123", "Fix login")
    assert build_filter({"digest": "sha256:abcdef0"}).digest == "sha256:abcdef0"


@pytest.mark.parametrize(("args", "reason"), [
    ({"sha": "abc123"}, "7 to 64 hex"), ({"limit": "0"}, "from 1 to 200"),
    ({"until": "9999-12-31T23:00:00-05:00x"}, "ISO 8601"), ({"status": "done"}, "unknown status"),
    ({"cursor": "1 or 1=1"}, "cursor"), ({"page": "2"}, "unknown parameter"),
    ({"digest": "sha256:xyz1234"}, "digest .* must be"), ({"digest": "abc"}, "7 to 64 hex"),
    ({"q": "x" * 201}, "at most 200")])
def test_nonsense_is_refused_with_the_reason(args, reason):
    with pytest.raises(BadFilter, match=reason):
        build_filter(args)


@pytest.mark.parametrize("args", [
    {"cursor": "2147483648"}, {"next": "99999999999999"}, {"cursor": "²"}, {"limit": "²"},
    {"cursor": "0"}])
def test_audit_cursors_this_api_never_gave_out_are_refused(args):
    """A cursor past the 32-bit row ids made PostgreSQL fail the query (500)."""
    with pytest.raises(BadFilter, match=r"cursor|limit"):
        audit_filter(args)


def test_commit_and_digest_shapes():
    assert commit_prefix("ABCDEF01") == "abcdef01"
    with pytest.raises(BadFilter):
        image_digest("sha256:abc")


def test_ids_made_after_a_moment_sort_after_its_floor():
    floor = id_floor(datetime.utcnow().replace(microsecond=0))
    assert new_build_id() > floor > id_floor(datetime(2020, 1, 1))
