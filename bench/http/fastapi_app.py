# The FastAPI + uvicorn comparison for bench/http: the same two endpoints the
# seeds' services expose, doing comparable work (API-key hash lookup and a
# per-key counter for /v1/me). Deployed as FastAPI users deploy it: `async def`
# handlers (no threadpool hop) on uvicorn with uvloop and httptools (what
# uvicorn.workers.UvicornWorker runs), one worker per core.
import hashlib
import os
import time

from fastapi import FastAPI, Header, HTTPException

app = FastAPI()
START = time.time()
KEY = os.environ.get("BENCH_KEY", "")
KEYS = {hashlib.sha256(KEY.encode()).hexdigest(): {"id": 1, "tier": "premium"}}
COUNTS = {}


@app.get("/health")
async def health():
    return {"status": "ok", "version": "bench", "uptime_s": time.time() - START}


@app.get("/v1/me")
async def me(x_api_key: str = Header(default="")):
    rec = KEYS.get(hashlib.sha256(x_api_key.encode()).hexdigest())
    if rec is None:
        raise HTTPException(status_code=401, detail="unknown API key")
    minute = int(time.time() // 60)
    n = COUNTS.get((rec["id"], minute), 0) + 1
    COUNTS[(rec["id"], minute)] = n
    return {"identity": f"key:{rec['id']}", "tier": rec["tier"], "usage_today": {"requests": n}}
