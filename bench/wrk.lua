-- Request generator for `make bench` (bench/http_bench.py runs wrk with it).
--
--   wrk ... -s bench/wrk.lua URL -- MODE IDS_FILE TOKENS_FILE
--
-- MODE: by_id | list | search | checkout | orders | mix. IDS_FILE holds one product id a
-- line, TOKENS_FILE one customer bearer token a line. Every request picks at random, per
-- wrk thread, seeded apart. `done` prints one line, "BENCH_JSON {...}", for the harness.

local mode, ids, tokens

-- BENCH_PAUSE_MS: each connection waits this long after an answer before its next
-- request, which bounds the offered rate (connections / pause) below what the machine
-- serves, for readings that mean something only off saturation (event-loop lag).
-- Defined only when asked: wrk then schedules a timer per request.
local pause = tonumber(os.getenv("BENCH_PAUSE_MS") or "0") or 0
if pause > 0 then
  function delay()
    return pause
  end
end
local words = { "shirt", "mug", "lamp", "chair", "socks", "kettle", "scarf", "desk", "bottle", "pen" }
local counter = 0
local threads = {}

function setup(thread)
  thread:set("thread_number", #threads + 1)
  table.insert(threads, thread)
end

local function lines(path)
  local out = {}
  if path == nil or path == "-" then
    return out
  end
  for line in io.lines(path) do
    if #line > 0 then
      out[#out + 1] = line
    end
  end
  return out
end

function init(args)
  mode = args[1]
  ids = lines(args[2])
  tokens = lines(args[3])
  math.randomseed(os.time() * 1000 + (thread_number or 0) * 7919)
end

local function pick(list)
  return list[math.random(#list)]
end

local function by_id()
  return wrk.format("GET", "/api/v1/products/" .. pick(ids))
end

local function list()
  return wrk.format("GET", "/api/v1/products?limit=20")
end

local function search()
  return wrk.format("GET", "/api/v1/products?limit=20&q=" .. pick(words))
end

local function orders()
  return wrk.format("GET", "/api/v1/orders", { ["Authorization"] = "Bearer " .. pick(tokens) })
end

local function checkout()
  local body = '{"items":[{"product_id":' .. pick(ids) .. ',"quantity":1}],"payment_token":"tok_visa"}'
  local headers = {
    ["Authorization"] = "Bearer " .. pick(tokens),
    ["Content-Type"] = "application/json",
  }
  return wrk.format("POST", "/api/v1/orders", headers, body)
end

-- 80% catalog reads (50 by id, 15 list, 15 search), 15% order lists, 5% checkouts.
local function mix()
  local r = math.random(100)
  if r <= 50 then
    return by_id()
  elseif r <= 65 then
    return list()
  elseif r <= 80 then
    return search()
  elseif r <= 95 then
    return orders()
  end
  return checkout()
end

local modes = { by_id = by_id, list = list, search = search, checkout = checkout, orders = orders, mix = mix }

function request()
  return modes[mode]()
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"timeout":%d,"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
