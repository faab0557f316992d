-- POST to /token for scripts/bench-exchange.sh, in one of two modes (BENCH_MODE):
--
--   exchange  RFC 8693 token exchange by a public client: one request per line of the file
--             BENCH_TOKENS (one PAT a line), used in turn, so that the server sees many keys.
--             BENCH_CLIENT_ID names the public client, BENCH_AUDIENCE the registered API.
--   cc        client_credentials with client_secret_basic (BENCH_BASIC = base64 of
--             "client_id:secret", BENCH_SCOPE the scope), as scripts/bench/post-token.lua.
--
-- Every response's status is counted: BENCH_EXPECT (default 200) is the status every response
-- must have; the others are reported as "unexpected", with a count per status code.
-- Usage: wrk -s exchange.lua URL/token
-- At the end it prints one machine-readable WRK_RESULT line (latencies in microseconds;
-- "status" is wrk's own count of responses >= 400).

local mode = os.getenv("BENCH_MODE") or "exchange"
local expect = tonumber(os.getenv("BENCH_EXPECT") or "200")

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local requests_pool = {}
local next_request = 1

-- Per thread: the prepared requests, and the status counts.
unexpected = 0
statuses = {}

function init(args)
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  if mode == "cc" then
    local basic = os.getenv("BENCH_BASIC")
    if basic == nil or basic == "" then error("BENCH_BASIC is not set") end
    headers["Authorization"] = "Basic " .. basic
    local scope = os.getenv("BENCH_SCOPE") or "api:read"
    local body = "grant_type=client_credentials&scope=" .. urlencode(scope)
    requests_pool[1] = wrk.format("POST", nil, headers, body)
  elseif mode == "exchange" then
    local file = os.getenv("BENCH_TOKENS")
    local client = os.getenv("BENCH_CLIENT_ID")
    local audience = os.getenv("BENCH_AUDIENCE")
    if file == nil or client == nil or audience == nil then
      error("BENCH_TOKENS, BENCH_CLIENT_ID and BENCH_AUDIENCE must be set")
    end
    local prefix = "grant_type=" .. urlencode("urn:ietf:params:oauth:grant-type:token-exchange")
      .. "&client_id=" .. urlencode(client)
      .. "&subject_token_type=" .. urlencode("urn:lanyard:token-type:pat")
      .. "&audience=" .. urlencode(audience)
      .. "&subject_token="
    for token in io.lines(file) do
      if token ~= "" then
        requests_pool[#requests_pool + 1] = wrk.format("POST", nil, headers, prefix .. urlencode(token))
      end
    end
    if #requests_pool == 0 then error("no tokens in " .. file) end
  else
    error("BENCH_MODE must be exchange or cc")
  end
end

function request()
  local r = requests_pool[next_request]
  next_request = next_request % #requests_pool + 1
  return r
end

function response(status, headers, body)
  if status ~= expect then unexpected = unexpected + 1 end
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local total_unexpected = 0
  local by_status = {}
  for _, t in ipairs(threads) do
    total_unexpected = total_unexpected + (t:get("unexpected") or 0)
    for status, n in pairs(t:get("statuses") or {}) do
      by_status[status] = (by_status[status] or 0) + n
    end
  end
  local codes = {}
  for status, _ in pairs(by_status) do codes[#codes + 1] = status end
  table.sort(codes)
  local parts = {}
  for _, status in ipairs(codes) do parts[#parts + 1] = status .. ":" .. by_status[status] end
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d "
      .. "status=%d connect=%d read=%d write=%d timeout=%d unexpected=%d statuses=%s\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout, total_unexpected,
    #parts > 0 and table.concat(parts, ",") or "none"))
end
