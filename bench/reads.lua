-- wrk script: the agents' read path, for a catalog service, over the first DAYS days.
--
--   wrk -s bench/reads.lua URL -- KIND DAY0_EPOCH DAYS SERVICE_ID API_KEY
--
-- KIND "slots": GET /api/agent/slots/?service_id=SERVICE_ID&after=<day>&limit=3, the next free
-- starts from the start of a day; KIND "day": GET /api/agent/availability/?date=<day>&
-- service_id=SERVICE_ID, one day's free and taken starts. Request n asks about day
-- DAY0 + n % DAYS, so the answers cycle over DAYS different days. Both routes need the agent
-- API key (X-API-Key). done() prints "BENCH_RESULT {json}" as create.lua's does.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   kind = args[1]
   day0 = tonumber(args[2])
   days = tonumber(args[3])
   service_id = args[4]
   headers = { ["X-API-Key"] = args[5] }
   counter = 0
   statuses = {}
end

function request()
   local n = counter * math.max(1, #threads) + (id or 0)
   counter = counter + 1
   local day = os.date("!%Y-%m-%d", day0 + (n % days) * 86400)
   local path
   if kind == "slots" then
      path = "/api/agent/slots/?service_id=" .. service_id .. "&after=" .. day .. "&limit=3"
   else
      path = "/api/agent/availability/?date=" .. day .. "&service_id=" .. service_id
   end
   return wrk.format("GET", path, headers)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local codes = {}
   local total_counter = 0
   for _, thread in ipairs(threads) do
      local seen = thread:get("statuses")
      total_counter = total_counter + thread:get("counter")
      for status, count in pairs(seen) do
         codes[status] = (codes[status] or 0) + count
      end
   end
   local parts = {}
   for status, count in pairs(codes) do
      table.insert(parts, string.format('"%d":%d', status, count))
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"sent":%d,'
         .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,'
         .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,'
         .. '"non_2xx_3xx":%d,"statuses":{%s}}\n',
      summary.requests, summary.duration, total_counter,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      latency.mean, errors.connect, errors.read, errors.write, errors.timeout, errors.status,
      table.concat(parts, ",")))
end
