//! Reading requests: size limits, strict percent-decoding, form and query parameters,
//! JSON bodies, and the headers the endpoints need (Authorization, Cookie).

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use http::{HeaderMap, Request};
use serde::de::DeserializeOwned;

use super::Fail;
use crate::endpoint::authorize::SessionCookie;
use crate::error::{Error, ErrorCode};
use crate::Params;

/// Refuses a body over `max` bytes with 413.
pub(crate) fn check_size(body: &Bytes, max: usize) -> Result<(), Fail> {
    if body.len() > max {
        return Err(Fail::status(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            Error::invalid_request(format!(
                "The request body is larger than the limit of {max} bytes."
            )),
        ));
    }
    Ok(())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Checks that every `%` starts a two-digit hex escape (the form and query parsers would
/// otherwise pass a stray `%` through unchanged).
fn check_escapes(raw: &[u8], what: &str) -> Result<(), Error> {
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let ok = raw.get(i + 1).and_then(|b| hex(*b)).is_some()
                && raw.get(i + 2).and_then(|b| hex(*b)).is_some();
            if !ok {
                return Err(Error::invalid_request(format!(
                    "The {what} has a malformed percent-encoding."
                )));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Parses `application/x-www-form-urlencoded` bytes strictly: well-formed escapes and
/// UTF-8 after decoding, else `invalid_request`.
pub(crate) fn parse_form(raw: &[u8], what: &str) -> Result<Params, Error> {
    check_escapes(raw, what)?;
    let mut pairs = Vec::new();
    for (k, v) in form_urlencoded::parse(raw) {
        if k.contains('\u{fffd}') || v.contains('\u{fffd}') {
            return Err(Error::invalid_request(format!(
                "The {what} is not valid UTF-8 after decoding."
            )));
        }
        pairs.push((k.into_owned(), v.into_owned()));
    }
    Ok(Params::from_pairs(pairs))
}

/// The query string's parameters.
pub(crate) fn query<B>(req: &Request<B>) -> Result<Params, Error> {
    parse_form(req.uri().query().unwrap_or("").as_bytes(), "query string")
}

fn content_type(headers: &HeaderMap) -> Result<Option<String>, Error> {
    match headers.get(CONTENT_TYPE) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| {
                Some(
                    s.split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase(),
                )
            })
            .map_err(|_| Error::invalid_request("The Content-Type header is not valid.")),
    }
}

/// A form body (`application/x-www-form-urlencoded`; a missing Content-Type is taken as
/// a form).
pub(crate) fn form(req: &Request<Bytes>, max: usize) -> Result<Params, Fail> {
    check_size(req.body(), max)?;
    match content_type(req.headers())?.as_deref() {
        None | Some("application/x-www-form-urlencoded") => {}
        Some(_) => {
            return Err(Fail::status(
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Error::invalid_request(
                    "The request body must be application/x-www-form-urlencoded.",
                ),
            ))
        }
    }
    Ok(parse_form(req.body(), "form body")?)
}

/// The body as a JSON object read as `T`; an empty body reads as `{}`.
pub(crate) fn json<T: DeserializeOwned>(req: &Request<Bytes>, max: usize) -> Result<T, Fail> {
    json_body(req, max, true)
}

/// The body as a JSON array read as `T` (a JSON Patch document).
pub(crate) fn json_array<T: DeserializeOwned>(req: &Request<Bytes>, max: usize) -> Result<T, Fail> {
    json_body(req, max, false)
}

fn json_body<T: DeserializeOwned>(
    req: &Request<Bytes>,
    max: usize,
    object: bool,
) -> Result<T, Fail> {
    check_size(req.body(), max)?;
    match content_type(req.headers())?.as_deref() {
        None | Some("application/json") => {}
        Some(t) if t.ends_with("+json") => {}
        Some(_) => {
            return Err(Fail::status(
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Error::invalid_request("The request body must be application/json."),
            ))
        }
    }
    let first = req.body().iter().find(|b| !b.is_ascii_whitespace());
    let body: &[u8] = match (first, object) {
        (None, true) => b"{}",
        (Some(b'{'), true) | (Some(b'['), false) => req.body(),
        (_, true) => {
            return Err(Error::invalid_request("The request body must be a JSON object.").into())
        }
        (_, false) => {
            return Err(Error::invalid_request("The request body must be a JSON array.").into())
        }
    };
    serde_json::from_slice(body).map_err(|e| {
        Fail::from(Error::invalid_request(format!(
            "The request body is not valid JSON for this endpoint: {}",
            safe_message(&e.to_string())
        )))
    })
}

/// A parser message made safe to echo: printable ASCII, bounded.
pub(crate) fn safe_message(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(200)
        .collect()
}

/// Decodes a path segment (`%XX` escapes; `+` stays `+`). Malformed escapes and invalid
/// UTF-8 are `invalid_request`.
pub(crate) fn path_segment(raw: &str) -> Result<String, Error> {
    check_escapes(raw.as_bytes(), "path")?;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                let (h, l) = (hex(*h).unwrap_or(0), hex(*l).unwrap_or(0));
                out.push(h << 4 | l);
                i += 3;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map_err(|_| Error::invalid_request("The path is not valid UTF-8 after decoding."))
}

/// The `Authorization` header, if present and non-empty; one header only.
pub(crate) fn authorization(headers: &HeaderMap) -> Result<Option<&str>, Error> {
    let mut all = headers.get_all(AUTHORIZATION).iter();
    let Some(first) = all.next() else {
        return Ok(None);
    };
    if all.next().is_some() {
        return Err(Error::invalid_request(
            "The request has more than one Authorization header.",
        ));
    }
    let s = first
        .to_str()
        .map_err(|_| Error::invalid_request("The Authorization header is not valid."))?;
    Ok(Some(s).filter(|s| !s.trim().is_empty()))
}

/// The bearer token of `Authorization: Bearer <token>` (RFC 6750 §2.1).
pub(crate) fn bearer(headers: &HeaderMap) -> Result<Option<&str>, Error> {
    let Some(h) = authorization(headers)? else {
        return Ok(None);
    };
    match h.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = token.trim();
            if token.is_empty() {
                return Err(Error::new(
                    ErrorCode::InvalidToken,
                    "The bearer token is empty.",
                ));
            }
            Ok(Some(token))
        }
        _ => Err(Error::new(
            ErrorCode::InvalidToken,
            "The Authorization header is not a Bearer token.",
        )),
    }
}

/// The value of the login-session cookie, if the browser sent one.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SessionCookie::NAME)
        .map(|(_, value)| value.trim().trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_escapes() {
        assert!(parse_form(b"a=%zz", "q").is_err());
        assert!(parse_form(b"a=%4", "q").is_err());
        assert!(parse_form(b"a=%ff", "q").is_err());
        assert_eq!(
            parse_form(b"a=%41+b", "q").unwrap().get("a").unwrap(),
            Some("A b")
        );
        assert_eq!(path_segment("a%2Fb+c").unwrap(), "a/b+c");
        assert!(path_segment("%").is_err());
        assert!(path_segment("%C3").is_err());
    }
}
