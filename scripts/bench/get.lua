-- GET the URL given to wrk (discovery, JWKS). Usage: wrk -s get.lua URL
local dir = os.getenv("BENCH_LUA_DIR") or "scripts/bench"
dofile(dir .. "/report.lua")
