//! Request parameters: decoded once from a form body or query string.

use std::borrow::Cow;

use smallvec::SmallVec;

use crate::error::{Error, Result};

/// Decoded `application/x-www-form-urlencoded` parameters (a form body or a query).
///
/// RFC 6749 §3.1: a parameter without a value is treated as omitted, and a parameter may
/// not be repeated; [`Params::get`] enforces both.
///
/// Held as every decoded name and value back to back in one string, with the offsets
/// where each ends: one allocation for a request of up to 12 parameters, two for more.
/// A 64-bit set of the names' hashes answers most lookups of an absent parameter (an
/// authorization request asks for some twenty, and carries eight or so) without a scan.
#[derive(Clone, Default)]
pub struct Params {
    text: String,
    /// For each pair, where its name ends and where its value ends in `text` (its name
    /// starts where the previous value ends).
    ends: SmallVec<[(usize, usize); 12]>,
    /// The [`name_bit`] of every name held.
    names: u64,
}

/// One bit of 64 for a name, from its length and its first two and last bytes: a name
/// whose bit is clear in [`Params::names`] is not there.
fn name_bit(name: &[u8]) -> u64 {
    let byte = |i: usize| u64::from(name.get(i).copied().unwrap_or(0));
    let last = u64::from(name.last().copied().unwrap_or(0));
    let key = (name.len() as u64) | byte(0) << 16 | byte(1) << 24 | last << 32;
    1 << (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58)
}

impl Params {
    /// Decodes a form body or query string. Invalid UTF-8 becomes U+FFFD, which no
    /// valid parameter contains, so it fails validation later rather than here.
    pub fn parse(bytes: &[u8]) -> Self {
        let mut decoded = Vec::with_capacity(bytes.len());
        let mut ends = SmallVec::new();
        let mut names = 0;
        let pairs = memchr::memchr_iter(b'&', bytes).chain([bytes.len()]);
        let mut start = 0;
        for end in pairs {
            let pair = &bytes[std::mem::replace(&mut start, end + 1)..end];
            if pair.is_empty() {
                continue;
            }
            let (name, value) = match memchr::memchr(b'=', pair) {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            let name_start = decoded.len();
            form_decode(name, &mut decoded);
            let name_end = decoded.len();
            names |= name_bit(&decoded[name_start..]);
            form_decode(value, &mut decoded);
            ends.push((name_end, decoded.len()));
        }
        // Each name and value must be UTF-8 on its own: two halves of a character split
        // by `&` or `=` make valid text together but no valid parameter.
        match String::from_utf8(decoded) {
            Ok(text)
                if ends
                    .iter()
                    .all(|&(n, v)| text.is_char_boundary(n) && text.is_char_boundary(v)) =>
            {
                Self { text, ends, names }
            }
            // Replacement characters change the offsets: decode again, pair by pair.
            _ => Self::from_pairs(form_urlencoded::parse(bytes)),
        }
    }

    /// Parameters from pairs.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let pairs = pairs.into_iter();
        let mut params = Self::default();
        let count = pairs.size_hint().0;
        params.ends.reserve(count);
        // Room for pairs of typical length, so most requests grow the text once.
        params.text.reserve(32 * count);
        for (name, value) in pairs {
            params.push(name.as_ref(), value.as_ref());
        }
        params
    }

    fn push(&mut self, name: &str, value: &str) {
        self.names |= name_bit(name.as_bytes());
        self.text.push_str(name);
        let name_end = self.text.len();
        self.text.push_str(value);
        self.ends.push((name_end, self.text.len()));
    }

    /// The single non-empty value of `name`; `invalid_request` if it is repeated.
    pub fn get(&self, name: &str) -> Result<Option<&str>> {
        let mut values = self.values(name).filter(|v| !v.is_empty());
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
        self.values(name)
            .flat_map(|v| v.split(' '))
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The values of the pairs named `name`: names are compared by length first, and only
    /// matching values are sliced.
    fn values<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        let mut start = 0;
        let ends = match self.names & name_bit(name.as_bytes()) {
            0 => &[][..],
            _ => &self.ends[..],
        };
        ends.iter().filter_map(move |&(name_end, value_end)| {
            let pair_start = std::mem::replace(&mut start, value_end);
            (name_end - pair_start == name.len()
                && self.text.as_bytes()[pair_start..name_end] == *name.as_bytes())
            .then(|| &self.text[name_end..value_end])
        })
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        let mut start = 0;
        self.ends.iter().map(move |&(name_end, value_end)| {
            let pair = (&self.text[start..name_end], &self.text[name_end..value_end]);
            start = value_end;
            pair
        })
    }
}

impl PartialEq for Params {
    fn eq(&self, other: &Self) -> bool {
        self.pairs().eq(other.pairs())
    }
}

impl Eq for Params {}

/// As the form-encoded query: `name=value&…`.
impl serde::Serialize for Params {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut query = String::new();
        super::url_query::encode_pairs(&mut query, self.pairs());
        s.serialize_str(&query)
    }
}

impl<'de> serde::Deserialize<'de> for Params {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let query = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(Self::parse(query.as_bytes()))
    }
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.pairs()).finish()
    }
}

/// Appends `part` form-decoded (`+` is a space, then percent-decoding, RFC 1866 §8.2.1)
/// to `out`; most parts (ids, codes, tokens) need nothing decoded.
fn form_decode(part: &[u8], out: &mut Vec<u8>) {
    if memchr::memchr2(b'%', b'+', part).is_none() {
        out.extend_from_slice(part);
        return;
    }
    for (i, piece) in part.split(|&b| b == b'+').enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend(percent_encoding::percent_decode(piece));
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
    fn parsed_and_built_params_agree() {
        let parsed = Params::parse(b"a=1&b=x%20y&&c=&=z&a=%E2%9C%93&d&e=f=g&h+i=j+k");
        let built = Params::from_pairs([
            ("a", "1"),
            ("b", "x y"),
            ("c", ""),
            ("", "z"),
            ("a", "✓"),
            ("d", ""),
            ("e", "f=g"),
            ("h i", "j k"),
        ]);
        assert_eq!(parsed, built);
        assert_eq!(format!("{parsed:?}"), format!("{built:?}"));
        assert_ne!(parsed, Params::parse(b"a=1"));
        // A character split across a separator is two invalid halves (found by fuzzing).
        let split = Params::parse(b"a=\xd1&\x9ab&\xd4=\x8dd");
        let want = Params::from_pairs([
            ("a", "\u{fffd}"),
            ("\u{fffd}b", ""),
            ("\u{fffd}", "\u{fffd}d"),
        ]);
        assert_eq!(split, want);
        assert_eq!(Params::parse(b"").pairs().count(), 0);
    }

    proptest::proptest! {
        /// The decoder agrees with form_urlencoded, percent-encoded UTF-8 and invalid
        /// UTF-8 (raw or decoded) included.
        #[test]
        fn parse_agrees_with_form_urlencoded(bytes in proptest::collection::vec(
            proptest::sample::select(b"ab=&%+2FzC39A\xc3\xa9\xff".to_vec()), 0..40)
        ) {
            let want: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
            let parsed = Params::parse(&bytes);
            let got: Vec<(&str, &str)> = parsed.pairs().collect();
            let want: Vec<(&str, &str)> = want.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            proptest::prop_assert_eq!(got, want);
        }

        /// A lookup finds what a scan of every pair finds, for names present and absent
        /// (the name set only skips scans that would find nothing).
        #[test]
        fn lookups_agree_with_a_scan(
            pairs in proptest::collection::vec(("[a-c_%+]{0,4}", "[xy]{0,2}"), 0..12),
            names in proptest::collection::vec("[a-c_ ]{0,4}", 0..12),
        ) {
            let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let parsed = Params::parse(query.join("&").as_bytes());
            let built = Params::from_pairs(parsed.pairs().collect::<Vec<_>>());
            for p in [&parsed, &built] {
                for name in names.iter().map(String::as_str).chain(p.pairs().map(|(k, _)| k)) {
                    let found: Vec<&str> = p.pairs().filter(|(k, v)| *k == name && !v.is_empty()).map(|(_, v)| v).collect();
                    match p.get(name) {
                        Ok(v) => proptest::prop_assert_eq!(v.into_iter().collect::<Vec<_>>(), found),
                        Err(_) => proptest::prop_assert!(found.len() > 1),
                    }
                }
            }
        }
    }

    #[test]
    fn hostile_names_are_sanitised() {
        let name = "\"><script>\u{0}".repeat(20);
        let out = printable(&name);
        assert!(out.len() <= 64 && !out.contains('"'));
    }
}
