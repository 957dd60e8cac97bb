//! The one policy for requests the reference server makes to URLs its clients registered
//! (`jwks_uri`, `backchannel_logout_uri`). Anyone who may register a client chooses
//! those URLs, so by default they may reach only public addresses: a name that resolves
//! to loopback, a private range, link-local (cloud metadata services) and the like is
//! refused, as is such an address written in the URL, and redirects are never followed.
//! A deployment whose clients live on its own network allows private addresses; one
//! whose clients use a private PKI adds its CA certificates.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Where outbound requests may go and which certificates they trust.
#[derive(Clone, Default)]
pub struct Outbound {
    allow_private: bool,
    roots: Vec<reqwest::Certificate>,
}

impl Outbound {
    /// Public addresses only, the web PKI's roots.
    pub fn public_only() -> Self {
        Self::default()
    }

    /// Allows loopback, private and link-local addresses too.
    pub fn allowing_private(mut self) -> Self {
        self.allow_private = true;
        self
    }

    /// Trusts these certificates (a PEM bundle) besides the web PKI's roots.
    pub fn trusting_pem(mut self, pem: &[u8]) -> Result<Self, reqwest::Error> {
        self.roots
            .extend(reqwest::Certificate::from_pem_bundle(pem)?);
        Ok(self)
    }

    /// An HTTP client under this policy: `timeout` per request, no redirects.
    pub fn client(&self, user_agent: &str, timeout: Duration) -> reqwest::Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent);
        for root in &self.roots {
            builder = builder.add_root_certificate(root.clone());
        }
        if !self.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        builder.build()
    }

    /// The URL to request: parsed, and refused if it names a non-public address itself
    /// (such a URL is not resolved, so the resolver never sees it). Every request goes
    /// to a URL from here.
    pub fn url(&self, url: &str) -> Result<reqwest::Url, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        let ip = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(parsed),
        };
        if self.allow_private || is_public(ip) {
            Ok(parsed)
        } else {
            Err(format!("{url}: {ip} is not a public address"))
        }
    }
}

/// An error with its causes (reqwest's own message omits them).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Resolves names with the system resolver and keeps only public addresses.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let public: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether an address is on the public internet (not loopback, private, link-local,
/// shared, documentation, benchmarking, multicast, reserved or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_documentation()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a >= 240
        || (a == 100 && b & 0xc0 == 64) // shared address space, 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments, 192.0.0.0/24
        || (a == 198 && b & 0xfe == 18)) // benchmarking, 198.18.0.0/15
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        // NAT64, 64:ff9b::/96: the IPv4 address it reaches.
        let [h, l] = [s[6], s[7]];
        return is_public_v4(Ipv4Addr::new(
            (h >> 8) as u8,
            h as u8,
            (l >> 8) as u8,
            l as u8,
        ));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || s[0] & 0xfe00 == 0xfc00 // unique local, fc00::/7
        || s[0] & 0xffc0 == 0xfe80 // link-local, fe80::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation, 2001:db8::/32
}
