-- wrk script for the bench: every answer must be 200 with exactly the body in BENCH_EXPECT_BODY (when set);
-- done() prints how many were not, so a run with any is refused like autocannon's mismatches.
local expected = os.getenv("BENCH_EXPECT_BODY")
bad = 0
function response(status, headers, body)
  if status ~= 200 or (expected ~= nil and body ~= expected) then bad = bad + 1 end
end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("bad") end
  io.write(string.format("BENCH_BAD %d\n", n))
end
