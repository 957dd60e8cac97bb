//! The manual: read this first.
//!
//! # Architecture
//!
//! portcullis is a *sans-IO* engine. It never opens a socket, never names an HTTP
//! framework, never spawns a task and never reads the wall clock on its own: values go
//! in, values come out, and the application does the IO. Three layers, each usable alone:
//!
//! 1. **Operations**: async methods on [`Provider`](crate::Provider) (`token`, client
//!    admin, …), each taking a parsed request type and returning a response type or an
//!    [`Error`](crate::Error). Requests are parsed once (`TokenRequest::from_form`); a
//!    parsed request is well-formed.
//! 2. **HTTP mapping**: [`http::Server`](crate::http::Server), from
//!    `http::Request<Bytes>` to `http::Response<Bytes>`, with Hydra v2's public and
//!    admin routes (the table is in [`crate::http`]).
//! 3. **Adapters**: the examples for axum, actix-web and hyper.
//!
//! Time comes from an injected [`Clock`](crate::clock::Clock); randomness from an injected
//! [`Entropy`](crate::random::Entropy) over `rand_core`, so every test can be
//! deterministic.
//!
//! # The storage contract
//!
//! See [`storage`](crate::storage): every operation that protects users (consume a code,
//! rotate a refresh token, revoke a grant) is one atomic trait method, durable when it
//! returns. One conformance suite (`tests/storage_conformance.rs`) runs against every
//! backend.
//!
//! The backends: [`MemoryStore`](crate::storage::MemoryStore) (tests, benchmarks, one
//! process that may lose its state), `SledStore` (feature `sled`, the default: one
//! directory, one process) and `PostgresStore` (feature `postgres`: one database shared
//! by any number of app instances). On PostgreSQL every atomic operation is one
//! statement or one transaction holding the row it changes, so the guarantees hold
//! across instances, not only across tasks of one process.
//!
//! Every store revokes a grant with a marker that every read consults: a record of a
//! revoked grant reads back revoked, whenever it was written. So issuing is one write
//! with no index to maintain, revoking a grant costs the same however many tokens it
//! has, and a token issued while its grant is being revoked can never come out live.
//! Revoking all of a client's tokens and flushing scan the records instead (rare admin
//! and maintenance operations).
//!
//! # Security defaults
//!
//! - Opaque tokens are 32 random bytes plus an HMAC-SHA256 under the system secret; only
//!   the HMAC is stored. The kind prefix is covered by the MAC. Secrets rotate: the first
//!   signs, all verify.
//! - Client secrets are stored as tagged hashes and compared in constant time: SHA-256
//!   for the 256-bit secrets the server generates (fast, and safe at that entropy),
//!   PBKDF2-SHA256 (25,000 iterations) for secrets a caller chose.
//! - The handles of a login, consent or logout flow (its challenges and verifiers) carry
//!   128 random bits, are good for one step of that one flow only, and are compared in
//!   constant time ([`token::verifier`](crate::token::verifier)). The store keeps them
//!   as it keeps login session ids: bearer values that live for the minutes of a flow.
//! - A client must authenticate with the method it registered.
//! - A `private_key_jwt` assertion is verified against the client's registered public
//!   keys (inline `jwks`, or a `jwks_uri` fetched by the app's
//!   [`JwksFetcher`](crate::JwksFetcher): the engine itself fetches nothing) with an asymmetric
//!   algorithm, must name this server in `aud`, may live at most an hour, and its `jti`
//!   is accepted once ([`token::client_assertion`](crate::token::client_assertion)).
//! - A JWT-bearer grant assertion is held to the same checks, with the key of a trust
//!   relationship an admin created (never a key the assertion names or links to); the
//!   relationship must cover its `sub` and not have expired, the token's scope stays
//!   within the client's and the relationship's, and its `jti` is accepted once per
//!   issuer ([`grant::jwt_bearer`](crate::grant::jwt_bearer)).
//! - PKCE is required for public clients (optionally for all), S256 only unless `plain`
//!   is enabled, and a `code_verifier` without a challenge is refused (downgrade).
//! - An authorization code is redeemed at most once; presenting it again revokes every
//!   token issued from it. Refresh tokens rotate; presenting a spent one revokes the whole
//!   family. A refresh never widens the scope, and only the client the token was issued
//!   to may use it. Concurrent presentations count as replays: the store lets exactly one
//!   consume the code or rotate the token, and every other one revokes the family, so
//!   after such a race no token issued from it stays active (strict RFC 9700 §4.14.2; a
//!   client must not send the same refresh token twice). A deployment whose clients
//!   cannot promise that (lost answers, several tabs) may set
//!   [`Config::refresh_token_rotation_grace_period`](crate::Config::refresh_token_rotation_grace_period)
//!   (at most five minutes, or 30 days with
//!   [a reuse count](crate::Config::refresh_token_rotation_grace_reuse_count)): within
//!   it, counted from the first rotation, a spent refresh token issues again in the same
//!   family; after it, or past the count, reuse revokes the family as before.
//! - Every error a client sees is a standard code with a safe description; internal
//!   detail goes to `tracing`.
