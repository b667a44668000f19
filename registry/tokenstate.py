"""Everything the token service reads from Redis for one request, in one round trip: the
throttle's waits, the account's credential generation, the remembered check and a token issued
moments ago for the same request."""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis import Redis
from redis.commands.core import Script

from auth import credentialcache, pairthrottle

# KEYS: pair wait, address wait, pair failures, generation. ARGV: check key and issued key
# prefixes (the generation is appended), a new generation if the account has none. A
# generation lives an hour (any name a guesser tries gets one, so none may live for ever); a
# new one only costs a check again.
_LOOK = """
local generation = redis.call('GET', KEYS[4])
if not generation then
  redis.call('SET', KEYS[4], ARGV[3], 'EX', 3600)
  generation = ARGV[3]
end
return {redis.call('TTL', KEYS[1]), redis.call('TTL', KEYS[2]),
        redis.call('GET', KEYS[3]) or '0', generation,
        redis.call('GET', ARGV[1] .. ':' .. generation) or '',
        redis.call('GET', ARGV[2] .. ':' .. generation) or ''}
"""
_LOOK_SCRIPT = Script(None, _LOOK.encode())
NOT_REMEMBERED = object()


@dataclass(frozen=True)
class Seen:
    """What Redis knew about one token request."""

    wait: int
    failures: int
    generation: str
    remembered: object  # a principal's form, None (refused), or NOT_REMEMBERED
    issued: dict | None

    def check_key(self, digest: str) -> str:
        """The remembered check's key under the generation seen."""
        return credentialcache.check_key(digest, self.generation)


def look(redis: Redis, account: str, address: str, digest: str, issued_prefix: str) -> Seen:
    """One round trip: the throttle, the generation, the remembered check, a recent token."""
    pair_wait, addr_wait, pair = pairthrottle.keys(account, address)
    result = _LOOK_SCRIPT(keys=[pair_wait, addr_wait, pair,
                                credentialcache.generation_key(account)],
                          args=[credentialcache.check_key(digest, "").rstrip(":"),
                                issued_prefix, credentialcache.new_generation()],
                          client=redis)
    wait, addr, failures, generation, remembered, issued = result
    return Seen(max(0, int(wait), int(addr)), int(failures), generation.decode(),
                json.loads(remembered) if remembered else NOT_REMEMBERED,
                json.loads(issued) if issued else None)
