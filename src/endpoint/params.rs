//! Request parameters: decoded once from a form body or query string.

use std::borrow::Cow;

use crate::error::{Error, Result};

/// Decoded `application/x-www-form-urlencoded` parameters (a form body or a query).
///
/// RFC 6749 §3.1: a parameter without a value is treated as omitted, and a parameter may
/// not be repeated; [`Params::get`] enforces both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes a form body or query string. Invalid UTF-8 becomes U+FFFD, which no
    /// valid parameter contains, so it fails validation later rather than here.
    pub fn parse(bytes: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Parameters from pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The single non-empty value of `name`; `invalid_request` if it is repeated.
    pub fn get(&self, name: &str) -> Result<Option<&str>> {
        let mut values = self
            .0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(Error::invalid_request(format!(
                "The parameter '{}' is included more than once.",
                printable(name)
            )));
        }
        Ok(first)
    }

    /// The value of a required parameter.
    pub fn require(&self, name: &str) -> Result<&str> {
        self.get(name)?.ok_or_else(|| {
            Error::invalid_request(format!(
                "The request is missing the '{}' parameter.",
                printable(name)
            ))
        })
    }

    /// Every non-empty value of a parameter that may repeat (e.g. `audience`), with each
    /// value also split on spaces.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(' '))
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// A parameter name made safe to echo in a description (ASCII printable, bounded).
pub(crate) fn printable(s: &str) -> Cow<'_, str> {
    if s.len() <= 64
        && s.bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(
            s.chars()
                .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\')
                .take(64)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_omitted_and_repeats_refused() {
        let p = Params::parse(b"a=1&b=&c=2&c=3&d=x%20y");
        assert_eq!(p.get("a").unwrap(), Some("1"));
        assert_eq!(p.get("b").unwrap(), None);
        assert!(p.get("c").is_err());
        assert_eq!(p.get("d").unwrap(), Some("x y"));
        assert!(p.require("zzz").is_err());
        assert_eq!(p.all("c"), vec!["2", "3"]);
    }

    #[test]
    fn hostile_names_are_sanitised() {
        let name = "\"><script>\u{0}".repeat(20);
        let out = printable(&name);
        assert!(out.len() <= 64 && !out.contains('"'));
    }
}
