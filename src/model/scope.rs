//! Scopes (RFC 6749 §3.3): a set of space-delimited, case-sensitive strings.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smallvec::SmallVec;

use crate::error::{Error, Result};

/// The characters a scope token may hold (RFC 6749 §3.3: `%x21 / %x23-5B / %x5D-7E`).
const ALLOWED: [bool; 256] = {
    let mut allowed = [false; 256];
    let mut b = 0;
    while b < 256 {
        allowed[b] = b == 0x21 || (b >= 0x23 && b <= 0x5b) || (b >= 0x5d && b <= 0x7e);
        b += 1;
    }
    allowed
};

/// A set of scope tokens, in the order first given, without duplicates.
///
/// Held as the canonical space-delimited string, shared: a clone (every token record of
/// a grant carries two scopes) is a reference count, and displaying it copies nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope(Arc<str>);

impl Scope {
    /// Parses a space-delimited scope string; every token must use the characters
    /// RFC 6749 §3.3 allows (`%x21 / %x23-5B / %x5D-7E`). Repeated tokens and extra
    /// spaces are dropped; a string that has neither is kept as it is.
    pub fn parse(s: &str) -> Result<Self> {
        // One pass: check the characters and find the tokens.
        let mut tokens: SmallVec<[&str; 8]> = SmallVec::new();
        let mut start = None;
        for (i, b) in s.bytes().enumerate() {
            if b == b' ' {
                if let Some(from) = start.take() {
                    tokens.push(&s[from..i]);
                }
            } else if ALLOWED[usize::from(b)] {
                start.get_or_insert(i);
            } else {
                return Err(Error::invalid_scope(
                    "The scope contains a character RFC 6749 §3.3 does not allow.",
                ));
            }
        }
        if let Some(from) = start {
            tokens.push(&s[from..]);
        }
        // Quadratic for the few tokens of real requests; a set for hostile lists.
        let repeats = if tokens.len() <= 16 {
            (1..tokens.len()).any(|i| tokens[..i].contains(&tokens[i]))
        } else {
            let mut seen = HashSet::with_capacity(tokens.len());
            !tokens.iter().all(|t| seen.insert(*t))
        };
        // Single-spaced: exactly one space between tokens, none around them.
        let single_spaced =
            s.len() + 1 == tokens.iter().map(|t| t.len() + 1).sum::<usize>() || s.is_empty();
        if !repeats && single_spaced {
            return Ok(Self(s.into()));
        }
        let mut seen = HashSet::with_capacity(tokens.len());
        let mut out = String::with_capacity(s.len());
        for token in tokens.into_iter().filter(|t| seen.insert(*t)) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(token);
        }
        Ok(Self(out.into()))
    }

    /// A scope from tokens already known to be valid.
    pub fn from_tokens<I, S>(tokens: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let tokens = tokens.into_iter();
        let mut joined = String::with_capacity(16 * tokens.size_hint().0);
        for token in tokens {
            let token = token.as_ref();
            if token.is_empty() || token.contains(' ') {
                return Err(Error::invalid_scope(
                    "A scope token is empty or has a space.",
                ));
            }
            if !joined.is_empty() {
                joined.push(' ');
            }
            joined.push_str(token);
        }
        Self::parse(&joined)
    }

    /// The scope an app granted as `tokens` for a request of `requested`: shared with it
    /// when they are its tokens in order (the usual grant, everything asked for).
    pub fn granted<S: AsRef<str>>(requested: &Scope, tokens: &[S]) -> Result<Self> {
        if requested.iter().eq(tokens.iter().map(AsRef::as_ref)) {
            return Ok(requested.clone());
        }
        Self::from_tokens(tokens)
    }

    /// Whether the set holds `token`.
    pub fn contains(&self, token: &str) -> bool {
        self.iter().any(|t| t == token)
    }

    /// Whether every token of `self` is in `other`.
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.iter().all(|t| other.contains(t))
    }

    /// Whether there is no token.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tokens.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        // Only spaces separate tokens (`parse` refuses every other whitespace).
        self.0.split_ascii_whitespace()
    }

    /// The tokens, owned.
    pub fn into_vec(self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }

    /// The space-delimited string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the scope asks for a refresh token (`offline_access` or `offline`).
    pub fn is_offline(&self) -> bool {
        self.contains("offline_access") || self.contains("offline")
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Scope::parse(&s).map_err(|e| serde::de::Error::custom(e.description().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_of_everything_asked_shares_the_request_scope() {
        let asked = Scope::parse("openid profile").unwrap();
        let same = Scope::granted(&asked, &["openid", "profile"]).unwrap();
        assert!(Arc::ptr_eq(&same.0, &asked.0));
        let fewer = Scope::granted(&asked, &["profile"]).unwrap();
        assert_eq!(fewer.as_str(), "profile");
        let reordered = Scope::granted(&asked, &["profile", "openid"]).unwrap();
        assert_eq!(reordered.as_str(), "profile openid");
        assert!(Scope::granted(&asked, &["bad scope"]).is_err());
        assert!(Scope::granted(&asked, &[""]).is_err());
    }

    #[test]
    fn parses_dedups_and_round_trips() {
        let s = Scope::parse("  openid  profile openid offline ").unwrap();
        assert_eq!(s.to_string(), "openid profile offline");
        assert!(s.is_offline());
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Scope>(&json).unwrap(), s);
    }

    #[test]
    fn long_lists_keep_first_occurrences_in_order() {
        let tokens: Vec<String> = (0..2000).map(|i| format!("s{i}")).collect();
        let doubled = format!("{} {}", tokens.join(" "), tokens.join("  "));
        assert_eq!(Scope::parse(&doubled).unwrap().as_str(), tokens.join(" "));
        assert_eq!(Scope::parse("").unwrap(), Scope::default());
        assert_eq!(Scope::parse("   ").unwrap(), Scope::default());
    }

    proptest::proptest! {
        /// Whatever path `parse` takes, it answers as the obvious definition does.
        #[test]
        fn parse_matches_the_definition(s in "[ ab!~]{0,40}") {
            let mut want: Vec<&str> = Vec::new();
            for t in s.split(' ').filter(|t| !t.is_empty()) {
                if !want.contains(&t) {
                    want.push(t);
                }
            }
            let parsed = Scope::parse(&s).unwrap();
            proptest::prop_assert_eq!(parsed.as_str(), want.join(" "));
        }
    }

    #[test]
    fn rejects_forbidden_characters() {
        for bad in ["a\"b", "a\\b", "é", "a\tb", "a\u{7f}"] {
            assert_eq!(
                Scope::parse(bad).unwrap_err().code(),
                crate::ErrorCode::InvalidScope
            );
        }
    }

    #[test]
    fn subset() {
        let a = Scope::parse("a b").unwrap();
        let b = Scope::parse("b c a").unwrap();
        assert!(a.is_subset_of(&b));
        assert!(!b.is_subset_of(&a));
        assert!(Scope::default().is_subset_of(&a));
    }
}
