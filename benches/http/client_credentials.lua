-- POST /oauth2/token with Basic auth (BASIC from the environment); fails loudly on non-200.
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
local failed = 0
response = function(status) if status ~= 200 then failed = failed + 1 end end
done = function() if failed > 0 then io.write("non-200 responses: " .. failed .. "\n") end end
