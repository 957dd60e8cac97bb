//! Origin patterns for cross-origin requests (a client's `allowed_cors_origins`, the
//! server's CORS list), with Hydra's matching rules.
//!
//! A pattern is `*` (any origin), `scheme://*` (any origin of that scheme), or
//! `scheme://host[:port]` where a `*` stands for any run of characters within one host
//! label: `https://*.example.com` matches `https://app.example.com`, not
//! `https://a.b.example.com` nor `https://example.com`. Matching ignores ASCII case. The
//! origin `null` (sandboxed documents, `file:` pages) matches nothing, nor does one that
//! is not ASCII (browsers send hosts in punycode).

/// Whether `pattern` is a well-formed origin pattern; the reason if not.
pub fn check_pattern(pattern: &str) -> Result<(), &'static str> {
    if pattern == "*" {
        return Ok(());
    }
    let Some((scheme, authority)) = pattern.split_once("://") else {
        return Err("must be scheme://host[:port] or *");
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err("has an invalid scheme");
    }
    if authority.is_empty() {
        return Err("has no host");
    }
    if authority
        .bytes()
        .any(|b| matches!(b, b'/' | b'?' | b'#' | b'@') || !b.is_ascii_graphic())
    {
        return Err("must not have a path, query, fragment, user info or spaces");
    }
    Ok(())
}

/// Whether `origin` (an `Origin` header value) can match any pattern: not empty, not
/// `null`, ASCII.
pub fn matchable(origin: &str) -> bool {
    !origin.is_empty() && !origin.eq_ignore_ascii_case("null") && origin.is_ascii()
}

/// Whether `origin` (an `Origin` header value) matches `pattern`.
pub fn matches(pattern: &str, origin: &str) -> bool {
    if !matchable(origin) {
        return false;
    }
    if pattern == "*" {
        return true;
    }
    match pattern.split_once("://") {
        Some((scheme, "*")) => origin
            .split_once("://")
            .is_some_and(|(s, rest)| s.eq_ignore_ascii_case(scheme) && !rest.is_empty()),
        _ => glob(pattern.as_bytes(), origin.as_bytes()),
    }
}

/// `*` matches any run of bytes without a `.`; everything else itself, ignoring ASCII
/// case. Dynamic programming over the text: linear in both lengths' product, with no
/// backtracking blow-up on hostile patterns.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    // `row[j]`: whether the pattern so far matches `text[..j]`.
    let mut row = vec![false; text.len() + 1];
    row[0] = true;
    for &p in pattern {
        if p == b'*' {
            for j in 1..=text.len() {
                row[j] = row[j] || (row[j - 1] && text[j - 1] != b'.');
            }
        } else {
            for j in (1..=text.len()).rev() {
                row[j] = row[j - 1] && text[j - 1].eq_ignore_ascii_case(&p);
            }
            row[0] = false;
        }
    }
    row[text.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_case() {
        assert!(matches(
            "https://app.example.com",
            "https://app.example.com"
        ));
        assert!(matches(
            "https://App.Example.com",
            "HTTPS://app.example.COM"
        ));
        assert!(!matches(
            "https://app.example.com",
            "https://app.example.co"
        ));
        assert!(!matches(
            "https://app.example.com",
            "http://app.example.com"
        ));
        assert!(!matches(
            "https://app.example.com",
            "https://app.example.com:8443"
        ));
        assert!(matches("http://localhost:3000", "http://localhost:3000"));
    }

    #[test]
    fn wildcards_stay_within_a_label() {
        let p = "https://*.example.com";
        assert!(matches(p, "https://app.example.com"));
        assert!(matches(p, "https://x-1.example.com"));
        assert!(!matches(p, "https://a.b.example.com"));
        assert!(!matches(p, "https://example.com"));
        assert!(!matches(p, "https://app.example.com.evil.net"));
        assert!(!matches(p, "https://evilexample.com"));
        assert!(matches(
            "https://app-*.example.com:*",
            "https://app-7.example.com:8443"
        ));
        assert!(!matches(
            "https://app.example.com:*",
            "https://app.example.com"
        ));
    }

    #[test]
    fn any_origin_and_any_of_a_scheme() {
        assert!(matches("*", "https://anything.example"));
        assert!(matches("https://*", "https://a.b.c.example:1"));
        assert!(!matches("https://*", "http://a.example"));
        assert!(!matches("https://*", "https://"));
    }

    #[test]
    fn hostile_origins_match_nothing() {
        for o in ["null", "NULL", "https://äpp.example.com", ""] {
            assert!(!matches("*", o), "{o}");
            assert!(!matches("https://*.example.com", o), "{o}");
        }
        // Many stars against a long text: no exponential backtracking.
        let p = format!("https://{}x", "*".repeat(200));
        let o = format!("https://{}", "a".repeat(2000));
        assert!(!matches(&p, &o));
    }

    #[test]
    fn patterns_are_checked() {
        for ok in [
            "*",
            "https://app.example.com",
            "http://localhost:3000",
            "https://*.example.com",
            "https://*",
            "capacitor://localhost",
        ] {
            assert_eq!(check_pattern(ok), Ok(()), "{ok}");
        }
        for bad in [
            "app.example.com",
            "https://",
            "https://app.example.com/",
            "https://app.example.com/cb",
            "https://app.example.com?x",
            "https://app.example.com#f",
            "https://user@app.example.com",
            "https://app example.com",
            "1https://app.example.com",
            "https://äpp.example.com",
        ] {
            assert!(check_pattern(bad).is_err(), "{bad}");
        }
    }
}
