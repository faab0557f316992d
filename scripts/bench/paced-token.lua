-- client_credentials at a fixed, lower rate: each connection waits BENCH_PAUSE_MS after
-- every answer (wrk has no rate option), so C connections send about C * 1000 / pause
-- requests per second when answers are fast. The script reports the rate it reached.
local dir = os.getenv("BENCH_LUA_DIR") or "scripts/bench"
dofile(dir .. "/post-token.lua")

local pause = tonumber(os.getenv("BENCH_PAUSE_MS") or "")
if pause == nil or pause < 1 then
  error("BENCH_PAUSE_MS (milliseconds between a connection's requests) is not set")
end

function delay()
  return pause
end
