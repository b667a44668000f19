"""Whose X-Forwarded-For is believed: only trusted proxies', right to left."""

import pytest

from config.clientaddress import client_address, networks

PROXIES = networks(["10.0.0.0/8", "127.0.0.1"])


def test_the_peer_is_the_client_unless_it_is_a_trusted_proxy():
    assert client_address("198.51.100.7", "203.0.113.9", PROXIES) == "198.51.100.7"
    assert client_address("127.0.0.1", "203.0.113.9", ()) == "127.0.0.1"
    assert client_address("127.0.0.1", "203.0.113.9", PROXIES) == "203.0.113.9"


def test_hops_left_of_the_first_untrusted_one_are_the_clients_to_forge():
    assert client_address("10.1.1.1", "1.2.3.4, 203.0.113.9, 10.2.2.2", PROXIES) == \
        "203.0.113.9"
    assert client_address("10.1.1.1", "not-an-address, 10.2.2.2", PROXIES) == "10.1.1.1"
    assert client_address("10.1.1.1", None, PROXIES) == "10.1.1.1"


def test_a_bad_proxy_entry_is_named():
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300' is not an IP address"):
        networks(["10.0.0.300"])
