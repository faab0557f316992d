-- POST a client_credentials token request. The client authenticates with
-- client_secret_basic: the Authorization header comes from the environment
-- (BENCH_BASIC = base64 of "client_id:secret"). Usage: wrk -s post-token.lua URL/token
local dir = os.getenv("BENCH_LUA_DIR") or "scripts/bench"
dofile(dir .. "/report.lua")

local basic = os.getenv("BENCH_BASIC")
if basic == nil or basic == "" then
  error("BENCH_BASIC (base64 of client_id:secret) is not set")
end
local scope = os.getenv("BENCH_SCOPE") or "api:read"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. basic
wrk.body = "grant_type=client_credentials&scope=" .. scope:gsub(":", "%%3A"):gsub(" ", "+")
