//! Building URLs with form-encoded parameters: the redirects to the client, to the login,
//! consent and logout apps, and the request URLs kept with flows.
//!
//! Values are percent-encoded with the `application/x-www-form-urlencoded` set (WHATWG
//! URL §5.2): ASCII alphanumerics and `*-._` stay as they are, everything else is
//! encoded, a space as `%20` (which every form decoder reads as a space, and a plain
//! percent-decoder too, unlike `+`). Random tokens and ids need no encoding at all, so
//! most values are copied in one piece.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The bytes `application/x-www-form-urlencoded` encodes.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// Appends `name=value&…` to `out`, encoded, with no leading separator.
pub(crate) fn encode_pairs<'a, I>(out: &mut String, pairs: I)
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
    I::IntoIter: Clone,
{
    let pairs = pairs.into_iter();
    // Room for the pairs as they are; values to encode grow it once more at most.
    out.reserve(pairs.clone().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (i, (name, value)) in pairs.enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.extend(utf8_percent_encode(name, FORM));
        out.push('=');
        out.extend(utf8_percent_encode(value, FORM));
    }
}

/// Appends the pairs to `url`'s query (starting one, or continuing the one it has).
pub(crate) fn append_query<'a, I>(url: &mut String, pairs: I)
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
    I::IntoIter: Clone,
{
    let pairs = pairs.into_iter();
    if pairs.clone().next().is_none() {
        return;
    }
    match url.find('?') {
        None => url.push('?'),
        Some(_) if url.ends_with(['?', '&']) => {}
        Some(_) => url.push('&'),
    }
    encode_pairs(url, pairs);
}

/// `base` with one more query parameter.
pub(crate) fn with_query(base: &str, name: &str, value: &str) -> String {
    let mut url = String::with_capacity(base.len() + name.len() + value.len() + 8);
    url.push_str(base);
    append_query(&mut url, [(name, value)]);
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn separators() {
        assert_eq!(with_query("https://a/cb", "x", "1"), "https://a/cb?x=1");
        assert_eq!(
            with_query("https://a/cb?y=2", "x", "1"),
            "https://a/cb?y=2&x=1"
        );
        assert_eq!(with_query("https://a/cb?", "x", "1"), "https://a/cb?x=1");
        assert_eq!(
            with_query("https://a/cb?y=2&", "x", "1"),
            "https://a/cb?y=2&x=1"
        );
        let mut url = "https://a/cb".to_owned();
        append_query(&mut url, []);
        assert_eq!(url, "https://a/cb");
    }

    #[test]
    fn encodes_the_form_set() {
        assert_eq!(
            with_query("https://a/cb", "s t", "a b&c=d/é*-._~+%"),
            "https://a/cb?s%20t=a%20b%26c%3Dd%2F%C3%A9*-._%7E%2B%25"
        );
    }

    proptest! {
        #[test]
        fn form_decoders_read_back_the_pairs(
            pairs in proptest::collection::vec((any::<String>(), any::<String>()), 0..6)
        ) {
            let mut query = String::new();
            encode_pairs(&mut query, pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let decoded: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            prop_assert_eq!(decoded, pairs);
        }
    }
}
