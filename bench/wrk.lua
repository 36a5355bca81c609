-- wrk script of the bench (bench/wrk.py runs it); settings come from the environment:
--   BENCH_METHOD, BENCH_BODY, BENCH_TOKEN  the request (GET when no method is given)
--   BENCH_RATE      requests per second per wrk thread: hold that rate (wrk has no -R)
--   BENCH_LOG       path prefix: each thread writes "<monotonic seconds> <status> <body>" lines
--   BENCH_PATHS     file of request paths, one a line: each thread cycles through them,
--                   starting at its own offset (a sample of resources instead of one URL)
-- done() prints one line "WRK_JSON {...}" with counts, errors and latency percentiles (us).
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local CLOCK_MONOTONIC = 1 -- the clock of Python's time.monotonic()

local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
if os.getenv("BENCH_TOKEN") then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end

local paths_file = os.getenv("BENCH_PATHS")
if paths_file then
  local paths = {}
  for line in io.lines(paths_file) do
    if line ~= "" then paths[#paths + 1] = line end
  end
  local next_path = nil
  function request()
    if next_path == nil then next_path = (thread_id - 1) * 7919 end
    next_path = next_path % #paths + 1
    return wrk.format(nil, paths[next_path])
  end
end

local rate = tonumber(os.getenv("BENCH_RATE") or "")
if rate then
  -- One schedule per thread: each request takes the next free slot, `1 / rate` apart, so the
  -- rate holds whatever the latency as long as enough connections are idle.
  local interval = 1 / rate
  local next_at = nil
  function delay()
    local t = now()
    if next_at == nil then next_at = t end
    local slot = next_at
    next_at = next_at + interval
    if slot <= t then return 0 end
    return (slot - t) * 1000
  end
end

local log_prefix = os.getenv("BENCH_LOG")
if log_prefix then
  local out = nil
  function response(status, headers, body)
    if out == nil then
      out = io.open(log_prefix .. "-" .. thread_id .. ".log", "w")
      out:setvbuf("line")
    end
    out:write(string.format("%.6f %d %s\n", now(), status, (body or ""):gsub("\n", " ")))
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
