-- POST /admin/oauth2/introspect of an active opaque token (TOKEN from the environment).
wrk.method = "POST"
wrk.body = "token=" .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local failed = 0
response = function(status) if status ~= 200 then failed = failed + 1 end end
done = function() if failed > 0 then io.write("non-200 responses: " .. failed .. "\n") end end
