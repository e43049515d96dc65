-- wrk script: each connection waits PACE_MS milliseconds after a response
-- before it sends its next request, so the offered load is about
-- connections / (PACE_MS + latency) instead of "as fast as the server
-- answers". Used by scripts/bench-auth to read latency at a set load.
local pace = tonumber(os.getenv("PACE_MS") or "4")

function delay()
    return pace
end
