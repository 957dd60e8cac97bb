-- POST /admin/oauth2/introspect of an active opaque token (TOKEN from the environment).
wrk.method = "POST"
wrk.body = "token=" .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
