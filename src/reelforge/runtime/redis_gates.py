"""Provider gates shared by every worker of a deployment, in Redis: a provider's `max_concurrency`,
`rpm` and `rpd` hold for all processes on all machines together, and its circuit breaker opens
for all of them at once.

Each decision is one Lua script, so it is atomic across workers and uses the Redis server's
clock (workers' clocks may disagree). The calls are single round trips of a fraction of a
millisecond, made from the event loop directly: a call cancelled half-way therefore never leaves
a slot taken without this process knowing. What a dead worker holds is not stuck: a concurrency
slot is a member of a sorted set scored by its expiry, renewed while the call runs, and dropped
by the next acquirer once it lapses."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

from reelforge.errors import ProviderError
from reelforge.providers.limits import Limits
from reelforge.runtime.breaker import CircuitOpen
from reelforge.runtime.limits import Breaker, Concurrency, Pace, Quota

_NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"

# KEYS: slots, state · ARGV: token, ttl_ms, maximum → 0 taken, else ms paused (>0) or -1 full
_ACQUIRE = _NOW + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local paused = tonumber(redis.call('HGET', KEYS[2], 'paused_until') or '0')
if paused > now then return paused - now end
local limit = math.min(tonumber(redis.call('HGET', KEYS[2], 'limit') or ARGV[3]), tonumber(ARGV[3]))
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 4)
  return 0
end
return -1
"""
_RENEW = _NOW + "return redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1])"
_PAUSED = _NOW + """
local paused = tonumber(redis.call('HGET', KEYS[1], 'paused_until') or '0')
return math.max(0, paused - now)
"""
# KEYS: state · ARGV: retry_after_ms, maximum
_SLOW_DOWN = _NOW + """
local ra = tonumber(ARGV[1])
if ra > 0 then
  local paused = tonumber(redis.call('HGET', KEYS[1], 'paused_until') or '0')
  redis.call('HSET', KEYS[1], 'paused_until', math.max(paused, now + ra))
end
local last = tonumber(redis.call('HGET', KEYS[1], 'last_decrease') or '-1e15')
if now - last >= math.max(1000, ra) then
  local limit = math.min(tonumber(redis.call('HGET', KEYS[1], 'limit') or ARGV[2]), tonumber(ARGV[2]))
  redis.call('HSET', KEYS[1], 'limit', math.max(1, math.floor(limit / 2)), 'last_decrease', now)
end
redis.call('HSET', KEYS[1], 'successes', 0)
redis.call('EXPIRE', KEYS[1], 86400)
"""
# KEYS: state · ARGV: maximum
_SUCCESS = """
local limit = math.min(tonumber(redis.call('HGET', KEYS[1], 'limit') or ARGV[1]), tonumber(ARGV[1]))
local successes = redis.call('HINCRBY', KEYS[1], 'successes', 1)
if limit < tonumber(ARGV[1]) and successes >= limit then
  redis.call('HSET', KEYS[1], 'limit', limit + 1, 'successes', 0)
end
"""
# KEYS: pace · ARGV: interval_ms → ms to wait for this call's start
_PACE = _NOW + """
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nxt)
redis.call('SET', KEYS[1], slot + tonumber(ARGV[1]), 'PX', math.floor(tonumber(ARGV[1]) * 2) + 60000)
return slot - now
"""
# KEYS: quota of today · ARGV: per_day, used_today (what the records count) → calls used, or -1
_QUOTA = """
redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', 90000)
if tonumber(redis.call('GET', KEYS[1])) >= tonumber(ARGV[1]) then return -1 end
return redis.call('INCR', KEYS[1])
"""
# KEYS: breaker · ARGV: cooldown_ms → {1} may call, or {0, failures, last_error, ms left}
_BEFORE_CALL = _NOW + """
local st = redis.call('HGET', KEYS[1], 'state') or 'closed'
if st == 'closed' then return {1} end
local waited = now - tonumber(redis.call('HGET', KEYS[1], 'opened_at') or '0')
local cooldown = tonumber(ARGV[1])
if st == 'open' and waited >= cooldown then st = 'half-open' redis.call('HSET', KEYS[1], 'state', st) end
local probe = tonumber(redis.call('HGET', KEYS[1], 'probe_at') or '0')
if st == 'half-open' and (probe == 0 or now - probe > cooldown) then
  redis.call('HSET', KEYS[1], 'probe_at', now)
  return {1}
end
return {0, tonumber(redis.call('HGET', KEYS[1], 'failures') or '0'), redis.call('HGET', KEYS[1], 'last_error') or '',
        math.max(0, cooldown - waited)}
"""
# KEYS: breaker · ARGV: threshold, error
_FAILURE = _NOW + """
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local st = redis.call('HGET', KEYS[1], 'state') or 'closed'
redis.call('HSET', KEYS[1], 'last_error', ARGV[2], 'probe_at', 0)
if st == 'half-open' or failures >= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now)
end
redis.call('EXPIRE', KEYS[1], 86400)
"""


class RedisConcurrency:
    """Slots in flight for one provider across all workers, with the same back-off as
    `AdaptiveConcurrency` (a 429 halves the shared limit and pauses everyone for its
    Retry-After; `limit` successes in a row raise it by one). Waiters poll every ~50 ms, so
    unlike the in-process version slots are not handed out in strict arrival order."""

    def __init__(self, gates: RedisGates, provider: str, maximum: int) -> None:
        self.redis, self.maximum = gates.redis, max(1, maximum)
        self.slot_ttl_ms = int(gates.slot_ttl_s * 1000)
        self.slots_key, self.state_key = gates.key("slots", provider), gates.key("state", provider)
        self._acquire, self._renew = gates.script(_ACQUIRE), gates.script(_RENEW)
        self._paused, self._slow, self._success = gates.script(_PAUSED), gates.script(_SLOW_DOWN), gates.script(_SUCCESS)

    @property
    def limit(self) -> int:
        stored = self.redis.hget(self.state_key, "limit")
        return min(int(stored), self.maximum) if stored is not None else self.maximum

    @property
    def in_flight(self) -> int:
        return int(self.redis.zcount(self.slots_key, "(0", "+inf"))

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        token = uuid.uuid4().hex
        while (answer := int(self._acquire(keys=[self.slots_key, self.state_key],
                                           args=[token, self.slot_ttl_ms, self.maximum]))) != 0:
            wait = answer / 1000 if answer > 0 else 0.05
            await asyncio.sleep(wait + random.uniform(0, 0.02))  # jitter: waiters don't poll in step
        renew = asyncio.ensure_future(self._keep(token))
        try:
            yield
        finally:
            renew.cancel()
            self.redis.zrem(self.slots_key, token)

    async def _keep(self, token: str) -> None:
        while True:
            await asyncio.sleep(self.slot_ttl_ms / 3000)
            with contextlib.suppress(Exception):  # a missed renewal only shortens the slot's life
                self._renew(keys=[self.slots_key], args=[token, self.slot_ttl_ms])

    def slow_down(self, retry_after_s: float | None) -> None:
        self._slow(keys=[self.state_key], args=[int((retry_after_s or 0) * 1000), self.maximum])

    def record_success(self) -> None:
        self._success(keys=[self.state_key], args=[self.maximum])

    async def wait_if_paused(self) -> None:
        while (left := int(self._paused(keys=[self.state_key]))) > 0:
            await asyncio.sleep(left / 1000)


class RedisPace:
    """Call starts `60/rpm` s apart for the whole deployment (the grid of `EvenPace`, kept in
    Redis: each caller takes the next start time and sleeps until it)."""

    def __init__(self, gates: RedisGates, provider: str, per_minute: float) -> None:
        self.interval_ms = 60_000.0 / per_minute
        self.key, self._pace = gates.key("pace", provider), gates.script(_PACE)

    async def wait(self) -> None:
        wait_ms = float(self._pace(keys=[self.key], args=[self.interval_ms]))
        if wait_ms > 0:
            await asyncio.sleep(wait_ms / 1000)


class RedisQuota:
    """Calls per UTC day for the whole deployment; on the day's first call the counter starts
    from what the run records count for the last 24 h."""

    def __init__(self, gates: RedisGates, provider: str, per_day: int | None, used_today: int) -> None:
        self.gates, self.provider, self.per_day, self.start = gates, provider, per_day, used_today
        self._quota = gates.script(_QUOTA)

    def _key(self) -> str:
        return self.gates.key("quota", self.provider, dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"))

    @property
    def used(self) -> int:
        return int(self.gates.redis.get(self._key()) or self.start)

    def take(self) -> None:
        if self.per_day is None:
            return
        if int(self._quota(keys=[self._key()], args=[self.per_day, self.start])) < 0:
            raise ProviderError(self.provider, f"the daily limit of {self.per_day} requests is used up "
                                "(counted across every worker)", retryable=False, reason="quota_exhausted",
                                hint="wait for the quota to reset, or raise rpd in REELFORGE_LIMITS if your "
                                     "plan allows more")


class RedisBreaker:
    """`CircuitBreaker`'s states kept in Redis: failures anywhere open it everywhere, and one
    probe in the whole deployment tests a half-open provider."""

    def __init__(self, gates: RedisGates, provider: str, threshold: int, cooldown_s: float) -> None:
        self.redis, self.provider = gates.redis, provider
        self.threshold, self.cooldown_s = max(1, threshold), cooldown_s
        self.key = gates.key("breaker", provider)
        self._before, self._failure = gates.script(_BEFORE_CALL), gates.script(_FAILURE)

    @property
    def state(self) -> str:
        return str(self.redis.hget(self.key, "state") or "closed")

    def before_call(self) -> None:
        answer = self._before(keys=[self.key], args=[int(self.cooldown_s * 1000)])
        if int(answer[0]) == 1:
            return
        failures, last_error, left_ms = int(answer[1]), str(answer[2]), int(answer[3])
        raise CircuitOpen(self.provider, f"{failures} calls failed in a row (last: {last_error}); not calling it "
                                         f"for {left_ms / 1000:.0f} s", retryable=False,
                          hint="check the provider's status page or your network, then rerun: finished steps "
                               "are cached")

    def record_success(self) -> None:
        self.redis.hset(self.key, mapping={"state": "closed", "failures": 0, "probe_at": 0})

    def record_failure(self, error: str) -> None:
        self._failure(keys=[self.key], args=[self.threshold, error[:500]])

    def record_neutral(self) -> None:
        self.redis.hset(self.key, "probe_at", 0)


class RedisGates:
    """A `GateFactory` whose parts live in Redis (`REELFORGE_REDIS_URL`, or the broker's URL).
    `prefix` namespaces the keys (one Redis may serve several deployments, or tests)."""

    def __init__(self, url: str, *, prefix: str = "reelforge", slot_ttl_s: float = 30.0,
                 client: Any = None) -> None:
        if client is None:
            import redis

            client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5,
                                          health_check_interval=30)
        self.redis, self.prefix, self.slot_ttl_s = client, prefix, slot_ttl_s

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, "gate", *parts))

    def script(self, source: str) -> Any:
        return self.redis.register_script(source)

    def concurrency(self, provider: str, limits: Limits) -> Concurrency:
        return RedisConcurrency(self, provider, limits.max_concurrency)

    def pace(self, provider: str, limits: Limits) -> Pace | None:
        return RedisPace(self, provider, limits.rpm) if limits.rpm else None

    def quota(self, provider: str, limits: Limits, used_today: int) -> Quota:
        return RedisQuota(self, provider, limits.rpd, used_today)

    def breaker(self, provider: str, limits: Limits) -> Breaker:
        return RedisBreaker(self, provider, limits.breaker_threshold, limits.breaker_cooldown_s)

    def ping(self) -> None:
        self.redis.ping()
