# The peer for bench/scale: a FastAPI replica doing what atelier does for
# GET /v1/me with Redis, the way such services limit in Redis (fastapi-limiter
# and slowapi run a Lua script per request over redis.asyncio): an API-key
# hash lookup, then one script for the per-identity and server-wide windows
# and the day's quota, then the caller's JSON. Deployed at its best: `async
# def` on uvicorn with uvloop and httptools, one worker per core.
import hashlib
import os
import time

import redis.asyncio as aioredis
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse

app = FastAPI()
KEY = os.environ.get("BENCH_KEY", "")
KEYS = {hashlib.sha256(KEY.encode()).hexdigest(): {"id": 1, "tier": "admin"}}
REDIS = aioredis.from_url(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379"))
# Windows (minute, hour, identity minute) counted together, then the quota.
CHECK = REDIS.register_script("""
for i = 1, 3 do
  local c = redis.call('INCR', KEYS[i])
  if c == 1 then redis.call('EXPIRE', KEYS[i], tonumber(ARGV[i])) end
end
local used = redis.call('HINCRBY', KEYS[4], 'u', 1)
redis.call('HINCRBY', KEYS[4], 'r', 1)
redis.call('EXPIRE', KEYS[4], 90000)
return used
""")


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/v1/me")
async def me(authorization: str = Header(default="")):
    rec = KEYS.get(hashlib.sha256(authorization.removeprefix("Bearer ").encode()).hexdigest())
    if rec is None:
        raise HTTPException(status_code=401, detail="unknown API key")
    now = int(time.time())
    ident = f"key:{rec['id']}"
    used = await CHECK(
        keys=[f"peer:gm:{now // 60}", f"peer:gh:{now // 3600}", f"peer:im:{ident}:{now // 60}",
              f"peer:q:{ident}:{time.strftime('%Y-%m-%d', time.gmtime(now))}"],
        args=[61, 3601, 61])
    return JSONResponse({"identity": ident, "tier": rec["tier"], "usage_today": {"units": used}})
