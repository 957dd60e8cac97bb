//! Parsing and validating an authorization request (RFC 6749 §4.1.1, §4.2.1; OIDC Core
//! §3.1.2.1, §3.2.2.1, §3.3.2.1; RFC 7636 §4.3; RFC 8252 §7.3).

use crate::endpoint::params::{printable, Params};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{
    AuthorizationRequest, Client, OidcContext, Pkce, PkceMethod, Prompt, ResponseMode,
    ResponseType, Scope,
};

/// Where errors go once the client and redirect URI are known: to the client, in this
/// mode, with this state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorTarget<'a> {
    pub redirect_uri: &'a str,
    pub mode: ResponseMode,
    pub state: Option<&'a str>,
}

impl<'a> ErrorTarget<'a> {
    /// Where errors of a validated request go.
    pub fn of(request: &'a AuthorizationRequest) -> Self {
        Self {
            redirect_uri: &request.redirect_uri,
            mode: request.response_mode,
            state: request.state.as_deref(),
        }
    }
}

/// The redirect URI the response goes to: the one given, if registered (loopback IPs on
/// any port), or the client's only one. `None`: show an error page.
pub(crate) fn resolve_redirect_uri<'a>(
    client: &'a Client,
    given: Option<&'a str>,
) -> Result<(&'a str, bool)> {
    match given {
        Some(uri)
            if client
                .redirect_uris
                .iter()
                .any(|r| redirect_matches(r, uri)) =>
        {
            Ok((uri, true))
        }
        Some(_) => Err(Error::invalid_request(
            "The redirect_uri is not registered for this client.",
        )),
        None => match client.redirect_uris.as_slice() {
            [only] => Ok((only, false)),
            [] => Err(Error::invalid_request(
                "The client has no registered redirect URI.",
            )),
            _ => Err(Error::invalid_request(
                "The client has several redirect URIs; the request must name one.",
            )),
        },
    }
}

/// Exact match, except that a loopback IP literal with `http` matches on any port
/// (RFC 8252 §7.3).
fn redirect_matches(registered: &str, given: &str) -> bool {
    if registered == given {
        return true;
    }
    let (Ok(r), Ok(g)) = (url::Url::parse(registered), url::Url::parse(given)) else {
        return false;
    };
    let loopback = |u: &url::Url| {
        u.scheme() == "http"
            && match u.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                _ => false,
            }
    };
    loopback(&r)
        && loopback(&g)
        && r.scheme() == g.scheme()
        && r.host() == g.host()
        && r.path() == g.path()
        && r.query() == g.query()
        && g.fragment().is_none()
}

/// Where errors of this request go, from what can be read of it before validation.
pub(crate) fn error_target<'a>(params: &'a Params, redirect_uri: &'a str) -> ErrorTarget<'a> {
    let rt = params
        .get("response_type")
        .ok()
        .flatten()
        .and_then(ResponseType::parse);
    let mode = params
        .get("response_mode")
        .ok()
        .flatten()
        .and_then(ResponseMode::parse)
        .filter(|m| *m != ResponseMode::Query || !rt.is_some_and(|rt| rt.is_front_channel()))
        .unwrap_or(match rt {
            Some(rt) if rt.is_front_channel() => ResponseMode::Fragment,
            _ => ResponseMode::Query,
        });
    let state = params.get("state").ok().flatten();
    ErrorTarget {
        redirect_uri,
        mode,
        state,
    }
}

fn split(params: &Params, name: &str) -> Result<Vec<String>> {
    Ok(params
        .get(name)?
        .map(|v| {
            v.split(' ')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default())
}

/// Validates the parameters against the client and the policy.
pub(crate) fn validate(
    params: &Params,
    client: &Client,
    redirect_uri: &str,
    redirect_uri_given: bool,
    pkce_policy: &crate::config::PkcePolicy,
) -> Result<AuthorizationRequest> {
    if params.get("request")?.is_some() {
        return Err(Error::new(
            ErrorCode::RequestNotSupported,
            "The request parameter is not supported.",
        ));
    }
    if params.get("request_uri")?.is_some() {
        return Err(Error::new(
            ErrorCode::RequestUriNotSupported,
            "The request_uri parameter is not supported.",
        ));
    }
    let rt_raw = params.require("response_type")?;
    let response_type = ResponseType::parse(rt_raw).ok_or_else(|| {
        Error::new(
            ErrorCode::UnsupportedResponseType,
            format!(
                "The response type '{}' is not supported.",
                printable(rt_raw)
            ),
        )
    })?;
    if !client
        .response_types
        .iter()
        .any(|r| ResponseType::parse(r) == Some(response_type))
    {
        return Err(Error::new(
            ErrorCode::UnauthorizedClient,
            format!(
                "The client is not allowed to use the response type '{}'.",
                response_type.name()
            ),
        ));
    }
    let response_mode = match params.get("response_mode")? {
        None if response_type.is_front_channel() => ResponseMode::Fragment,
        None => ResponseMode::Query,
        Some(m) => match ResponseMode::parse(m) {
            Some(ResponseMode::Query) if response_type.is_front_channel() => {
                return Err(Error::invalid_request(
                    "Tokens must not be returned in the query: use fragment or form_post.",
                ))
            }
            Some(mode) => mode,
            None => {
                return Err(Error::invalid_request(format!(
                    "The response mode '{}' is not supported.",
                    printable(m)
                )))
            }
        },
    };
    let scope = Scope::parse(params.get("scope")?.unwrap_or_default())?;
    if !scope.is_subset_of(&client.scope) {
        return Err(Error::invalid_scope(
            "The client is not allowed to request one of the scopes.",
        ));
    }
    if response_type.id_token && !scope.contains("openid") {
        return Err(Error::invalid_request(
            "The id_token response type needs the openid scope.",
        ));
    }
    let audience: Vec<String> = split(params, "audience")?;
    if !client.allows_audience(audience.iter().map(String::as_str)) {
        return Err(Error::invalid_request(
            "The client is not allowed to request one of the audiences.",
        ));
    }
    let nonce = params.get("nonce")?.map(str::to_owned);
    if response_type.id_token && nonce.is_none() {
        return Err(Error::invalid_request(
            "A nonce is required when the authorization endpoint returns an ID token.",
        ));
    }
    let pkce = match params.get("code_challenge")? {
        Some(challenge) => {
            let method = match params.get("code_challenge_method")?.unwrap_or("plain") {
                "S256" => PkceMethod::S256,
                "plain" => PkceMethod::Plain,
                other => {
                    return Err(Error::invalid_request(format!(
                        "The code_challenge_method '{}' is not supported.",
                        printable(other)
                    )))
                }
            };
            Some(Pkce {
                challenge: challenge.to_owned(),
                method,
            })
        }
        None => None,
    };
    if response_type.code {
        check_pkce(client, pkce.as_ref(), pkce_policy)?;
    }
    let prompt = parse_prompt(params.get("prompt")?)?;
    let max_age = params
        .get("max_age")?
        .map(|v| {
            v.parse::<u32>().map(i64::from).map_err(|_| {
                Error::invalid_request("The max_age must be a non-negative number of seconds.")
            })
        })
        .transpose()?;
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        redirect_uri_given,
        response_type,
        response_mode,
        scope,
        audience,
        state: params.get("state")?.map(str::to_owned),
        nonce,
        pkce,
        prompt,
        max_age,
        oidc_context: OidcContext {
            acr_values: split(params, "acr_values")?,
            display: params.get("display")?.map(str::to_owned),
            id_token_hint_claims: None,
            login_hint: params.get("login_hint")?.map(str::to_owned),
            ui_locales: split(params, "ui_locales")?,
            claims_locales: split(params, "claims_locales")?,
        },
        params: params.clone(),
    })
}

/// PKCE is required for public clients and, when configured, for all; `plain` only when
/// enabled; the challenge must be well-formed (RFC 7636 §4.2, RFC 9700 §2.1.1).
pub(crate) fn check_pkce(
    client: &Client,
    pkce: Option<&Pkce>,
    policy: &crate::config::PkcePolicy,
) -> Result<()> {
    match pkce {
        None if client.is_public() || policy.required_for_all => Err(Error::invalid_request(
            "The client must use PKCE (code_challenge with code_challenge_method=S256).",
        )),
        Some(p) if p.method == PkceMethod::Plain && !policy.allow_plain => Err(
            Error::invalid_request("The PKCE method 'plain' is not allowed; use S256."),
        ),
        Some(p) if !crate::token::pkce::is_well_formed(&p.challenge) => {
            Err(Error::invalid_request(
                "The code_challenge is not 43 to 128 unreserved characters (RFC 7636 §4.2).",
            ))
        }
        _ => Ok(()),
    }
}

fn parse_prompt(value: Option<&str>) -> Result<Prompt> {
    let mut p = Prompt::default();
    for v in value
        .unwrap_or_default()
        .split(' ')
        .filter(|v| !v.is_empty())
    {
        match v {
            "none" => p.none = true,
            "login" => p.login = true,
            "consent" => p.consent = true,
            "select_account" => p.select_account = true,
            other => {
                return Err(Error::invalid_request(format!(
                    "The prompt value '{}' is not supported.",
                    printable(other)
                )))
            }
        }
    }
    if p.none && (p.login || p.consent || p.select_account) {
        return Err(Error::invalid_request(
            "prompt=none cannot be combined with other values.",
        ));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_match_any_port() {
        assert!(redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51234/cb"
        ));
        assert!(redirect_matches("http://[::1]:80/cb", "http://[::1]:9/cb"));
        assert!(!redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:5/other"
        ));
        assert!(!redirect_matches(
            "http://localhost/cb",
            "http://localhost:5/cb"
        ));
        assert!(!redirect_matches(
            "https://a.example/cb",
            "https://a.example:444/cb"
        ));
        assert!(!redirect_matches(
            "https://a.example/cb",
            "https://a.example/cb/"
        ));
    }

    #[test]
    fn prompt_none_is_exclusive() {
        assert!(parse_prompt(Some("none login")).is_err());
        assert!(parse_prompt(Some("bogus")).is_err());
        assert!(parse_prompt(Some("login consent")).unwrap().consent);
    }
}
