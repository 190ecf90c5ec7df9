-- wrk script: every request is a valid booking for a slot no other request of the run uses.
--
--   wrk -s bench/create.lua URL -- FIRST_SLOT SLOTS_PER_DAY SLOT_MINUTES DAY0_EPOCH POOL RUN
--
-- Slot k is day DAY0 + k // SLOTS_PER_DAY at minute (k % SLOTS_PER_DAY) * SLOT_MINUTES (the
-- benchmark's settings open at 00:00 every day). Request n of thread t (of T threads) books
-- slot 2 * (FIRST_SLOT + n * T + t): even slots only, because bench/seed.py fills odd ones.
-- Every fifth request is for a new phone (unique per RUN and slot); the others reuse one of POOL
-- phones that were seeded before the run (+1 followed by ten digits, see bench/seed.py).
-- With an eighth argument RESOURCES > 0 (scenario r, see bench/workload.py), request n books
-- resource n % RESOURCES + 1 instead: that resource's m-th booking (m = n // RESOURCES) is
-- service m % 3 of SERVICES by name, BLOCK_LEAD minutes into block m of BLOCK_MINUTES.
-- done() prints one line, "BENCH_RESULT {json}", that bench/run.py reads.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   first_slot = tonumber(args[1])
   slots_per_day = tonumber(args[2])
   slot_minutes = tonumber(args[3])
   day0 = tonumber(args[4])
   pool = tonumber(args[5])
   run = tonumber(args[6])
   stride = #threads > 0 and #threads or tonumber(args[7] or "1")
   resources = tonumber(args[8] or "0")
   counter = 0
   statuses = {}
   path = "/api/agent/booking/create/"
   headers = { ["Content-Type"] = "application/json" }
end

-- Mirrors bench/workload.py's SERVICES, BLOCK_MINUTES, BLOCK_LEAD and BLOCKS_PER_DAY.
local services = { "Check-up", "Treatment", "Long session" }
local block_minutes, block_lead, blocks_per_day = 120, 15, 12

local function phone_for(n)
   if (n + 1) % 5 == 0 then
      return string.format("+2%02d%010d", run, n)
   end
   return string.format("+1%010d", (n * 7919) % pool)
end

local function resource_request(n)
   local resource = n % resources + 1
   local m = math.floor(n / resources)
   local day = math.floor(m / blocks_per_day)
   local minute = (m % blocks_per_day) * block_minutes + block_lead
   local date = os.date("!%Y-%m-%d", day0 + day * 86400)
   local time = string.format("%02d:%02d", math.floor(minute / 60), minute % 60)
   local body = '{"phone":"' .. phone_for(n) .. '","service_name":"' .. services[m % 3 + 1]
      .. '","resource_id":' .. resource .. ',"booking_date":"' .. date .. '","booking_time":"'
      .. time .. '","first_name":"Bench","last_name":"Load","email":"bench@example.com"}'
   return wrk.format("POST", path, headers, body)
end

function request()
   local n = first_slot + counter * stride + id
   counter = counter + 1
   if resources > 0 then
      return resource_request(n)
   end
   local k = 2 * n
   local day = math.floor(k / slots_per_day)
   local minute = (k % slots_per_day) * slot_minutes
   local date = os.date("!%Y-%m-%d", day0 + day * 86400)
   local time = string.format("%02d:%02d", math.floor(minute / 60), minute % 60)
   local body = '{"phone":"' .. phone_for(n) .. '","service_name":"Consultation","booking_date":"'
      .. date .. '","booking_time":"' .. time
      .. '","first_name":"Bench","last_name":"Load","email":"bench@example.com"}'
   return wrk.format("POST", path, headers, body)
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
