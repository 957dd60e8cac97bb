-- POST /oauth2/token with Basic auth (BASIC from the environment).
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
-- wrk reports non-2xx responses itself.
