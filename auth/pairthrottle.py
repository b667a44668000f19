"""Throttling of credential guesses by (account, client address) and by address, shared by
every web process through Redis. No account is ever locked for every address: a robot's fleet
keeps pulling while someone elsewhere guesses its name."""

from __future__ import annotations

from redis import Redis

PAIR_FAILURES = 5  # failures of one account from one address before it waits
ADDRESS_FAILURES = 50  # failures from one address, whatever the accounts (NAT, many names)
WINDOW_SECONDS = 15 * 60
FIRST_WAIT_SECONDS = 15
MAX_WAIT_SECONDS = 15 * 60
_KEYS = "lockmaster:token-failures"


def _keys(account: str, address: str) -> tuple[str, str]:
    return f"{_KEYS}:pair:{address}:{account.lower()}", f"{_KEYS}:addr:{address}"


def keys(account: str, address: str) -> tuple[str, str, str]:
    """(the pair's wait, the address's wait, the pair's failures): keys whose TTL is the
    wait (none or expired: no wait) and whose value is the count."""
    pair, addr = _keys(account, address)
    return f"{pair}:wait", f"{addr}:wait", pair


def failed(redis: Redis, account: str, address: str) -> bool:
    """Count one failure of the account from the address; True when this failure starts the
    pair's lockout (the caller then forgets the account's remembered checks)."""
    pair, addr = _keys(account, address)
    with redis.pipeline(transaction=False) as pipe:
        pipe.incr(pair)
        pipe.expire(pair, WINDOW_SECONDS, nx=True)
        pipe.incr(addr)
        pipe.expire(addr, WINDOW_SECONDS, nx=True)
        pair_count, _, addr_count, _ = pipe.execute()
    if addr_count >= ADDRESS_FAILURES:
        redis.set(f"{addr}:wait", 1, ex=_wait(addr_count - ADDRESS_FAILURES))
    if pair_count >= PAIR_FAILURES:
        redis.set(f"{pair}:wait", 1, ex=_wait(pair_count - PAIR_FAILURES))
    return pair_count == PAIR_FAILURES


def succeeded(redis: Redis, account: str, address: str) -> None:
    """Forget the pair's failures after a right credential."""
    redis.delete(_keys(account, address)[0])


def _wait(over: int) -> int:
    """Doubling waits: 15 s at the limit, then 30, 60, ... up to 15 minutes."""
    return min(FIRST_WAIT_SECONDS * 2 ** min(over, 10), MAX_WAIT_SECONDS)
