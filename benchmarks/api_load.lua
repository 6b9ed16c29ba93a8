-- wrk script of benchmarks/api_load.py: every request GETs a path drawn at random from a file of paths
-- (one a line), so that the load spreads over many rows and pages, as real clients' does, rather than
-- hitting one hot row. Headers (Authorization) come from wrk's -H.
--
--   wrk -t2 -c64 -d10s --latency -s benchmarks/api_load.lua http://127.0.0.1:8000 -- paths.txt

local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("thread_number", threads) -- each thread its own random sequence
end

function init(args)
   math.randomseed(os.time() * 100 + thread_number)
   paths = {}
   for line in io.lines(args[1]) do
      if line ~= "" then
         paths[#paths + 1] = line
      end
   end
   if #paths == 0 then
      error("no paths in " .. tostring(args[1]))
   end
end

function request()
   return wrk.format("GET", paths[math.random(#paths)])
end
