//! Dynamic client registration over HTTP (RFC 7591 §3, RFC 7592 §2).
//!
//! `POST /oauth2/register` answers `201` with the client's metadata, its secret and its
//! `registration_access_token`; `GET`, `PUT` and `DELETE /oauth2/register/{id}` take that
//! token as `Authorization: Bearer` and answer `200`, `200` and `204`. A missing or wrong
//! token is `401 invalid_token` with `WWW-Authenticate: Bearer` (RFC 7592 §2: an unknown
//! client is answered the same way, so ids cannot be probed). While registration is
//! disabled every registration path answers `404` with `registration_not_supported`,
//! as Hydra answers `404` when the feature is off. `/connect/register` (Hydra v1.x's path,
//! which its SDKs still call) is served the same; discovery and `registration_client_uri`
//! name `/oauth2/register`.

use bytes::Bytes;
use http::{Method, Request, StatusCode};

use super::response;
use super::{body, Fail, Reply, Server};
use crate::endpoint::clients::ClientRequest;
use crate::error::{Error, ErrorCode};

fn registration_error(e: Error) -> Fail {
    if e.code() == ErrorCode::RegistrationNotSupported {
        Fail::status(StatusCode::NOT_FOUND, e)
    } else {
        Fail::from(e)
    }
}

fn missing_token() -> Error {
    Error::new(
        ErrorCode::InvalidToken,
        "The request needs the registration access token as a Bearer token.",
    )
}

impl Server {
    fn check_registration(&self) -> Result<(), Fail> {
        if self.provider.config().dynamic_registration {
            Ok(())
        } else {
            Err(registration_error(Error::new(
                ErrorCode::RegistrationNotSupported,
                "Dynamic client registration is not enabled.",
            )))
        }
    }

    /// `POST /oauth2/register`.
    pub(super) async fn register(&self, req: &Request<Bytes>) -> Reply {
        self.check_registration()?;
        let request: ClientRequest = body::json(req, self.options.max_body_bytes)?;
        let registration = self
            .provider
            .register_client(request)
            .await
            .map_err(registration_error)?;
        Ok(response::no_store(response::json(
            StatusCode::CREATED,
            &registration.to_json(),
        )))
    }

    /// `GET|PUT|DELETE /oauth2/register/{id}`.
    pub(super) async fn registration(&self, req: &Request<Bytes>, id: &str) -> Reply {
        self.check_registration()?;
        let token = body::bearer(req.headers())?
            .ok_or_else(missing_token)?
            .to_owned();
        let p = &self.provider;
        match *req.method() {
            Method::GET => {
                let r = p
                    .get_registration(id, &token)
                    .await
                    .map_err(registration_error)?;
                Ok(response::no_store(response::json(
                    StatusCode::OK,
                    &r.to_json(),
                )))
            }
            Method::PUT => {
                let request: ClientRequest = body::json(req, self.options.max_body_bytes)?;
                let r = p
                    .update_registration(id, &token, request)
                    .await
                    .map_err(registration_error)?;
                Ok(response::no_store(response::json(
                    StatusCode::OK,
                    &r.to_json(),
                )))
            }
            _ => {
                p.delete_registration(id, &token)
                    .await
                    .map_err(registration_error)?;
                Ok(response::empty(StatusCode::NO_CONTENT))
            }
        }
    }
}
