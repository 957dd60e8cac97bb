//! The JSON of the JWTs the engine issues per request (access tokens and ID tokens),
//! written in one pass: a token's claims are a few known names with strings and numbers,
//! and a generic serializer spends more on its machinery than on the bytes (about twice
//! the time, measured on an ID token). A string that needs escaping, and every extra
//! claim an app set, is written by `serde_json`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// A JSON object of claims being written.
pub(crate) struct Claims {
    json: Vec<u8>,
}

impl Claims {
    /// An empty object, in a buffer sized for typical claims (one allocation).
    pub fn new() -> Self {
        let mut json = Vec::with_capacity(512);
        json.push(b'{');
        Claims { json }
    }

    /// A comma, unless this is the object's first member.
    fn separator(&mut self) {
        if self.json.len() > 1 {
            self.json.push(b',');
        }
    }

    /// Starts the member `name` (one of the engine's own claim names: no escaping).
    fn name(&mut self, name: &'static str) {
        debug_assert!(!needs_escaping(name));
        self.separator();
        self.json.push(b'"');
        self.json.extend_from_slice(name.as_bytes());
        self.json.extend_from_slice(b"\":");
    }

    /// A string claim.
    pub fn str(&mut self, name: &'static str, value: &str) -> &mut Self {
        self.name(name);
        push_str(&mut self.json, value);
        self
    }

    /// A string claim, if present.
    pub fn opt_str(&mut self, name: &'static str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            self.str(name, value);
        }
        self
    }

    /// A number claim.
    pub fn int(&mut self, name: &'static str, value: i64) -> &mut Self {
        self.name(name);
        self.json
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        self
    }

    /// A number claim, if present.
    pub fn opt_int(&mut self, name: &'static str, value: Option<i64>) -> &mut Self {
        if let Some(value) = value {
            self.int(name, value);
        }
        self
    }

    /// An array of strings.
    pub fn strs(&mut self, name: &'static str, values: &[String]) -> &mut Self {
        self.name(name);
        self.json.push(b'[');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.json.push(b',');
            }
            push_str(&mut self.json, value);
        }
        self.json.push(b']');
        self
    }

    /// Any serializable claim (an object of extra claims, say).
    pub fn value(&mut self, name: &'static str, value: &impl Serialize) -> Result<&mut Self> {
        self.name(name);
        serde_json::to_writer(&mut self.json, value).map_err(Error::internal)?;
        Ok(self)
    }

    /// The members of `extra` whose names `keep` accepts, as claims of their own.
    pub fn extra(&mut self, extra: &Map<String, Value>, keep: impl Fn(&str) -> bool) -> Result<()> {
        for (name, value) in extra.iter().filter(|(name, _)| keep(name)) {
            self.separator();
            push_str(&mut self.json, name);
            self.json.push(b':');
            serde_json::to_writer(&mut self.json, value).map_err(Error::internal)?;
        }
        Ok(())
    }

    /// The object's JSON.
    pub fn finish(mut self) -> Vec<u8> {
        self.json.push(b'}');
        self.json
    }
}

/// Whether a string needs escaping in JSON: quotes, backslashes and control characters.
/// Every byte is looked at (no early exit), which lets the compiler check 32 at a time:
/// the claims' strings almost never need escaping, so the whole string is read anyway.
fn needs_escaping(s: &str) -> bool {
    s.bytes().fold(false, |found, b| {
        found | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// Appends `s` as a JSON string; `serde_json` escapes the ones that need it.
fn push_str(json: &mut Vec<u8>, s: &str) {
    if needs_escaping(s) {
        serde_json::to_writer(&mut *json, s).expect("a string serializes into a buffer");
        return;
    }
    json.push(b'"');
    json.extend_from_slice(s.as_bytes());
    json.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn writes_the_members_in_order() {
        let mut c = Claims::new();
        c.str("iss", "https://a.example")
            .opt_str("nonce", None)
            .int("exp", -5)
            .opt_int("auth_time", Some(7))
            .strs("amr", &["pwd".into(), "otp".into()])
            .strs("none", &[]);
        c.value("ext", &serde_json::json!({"k": [1, "two"]}))
            .unwrap();
        let extra = serde_json::json!({"email": "a@b", "iss": "evil"});
        c.extra(extra.as_object().unwrap(), |n| n != "iss").unwrap();
        let json = c.finish();
        assert_eq!(
            std::str::from_utf8(&json).unwrap(),
            r#"{"iss":"https://a.example","exp":-5,"auth_time":7,"amr":["pwd","otp"],"none":[],"ext":{"k":[1,"two"]},"email":"a@b"}"#
        );
        assert_eq!(Claims::new().finish(), b"{}");
    }

    proptest! {
        /// Whatever the strings, the object parses back to them.
        #[test]
        fn any_string_round_trips(a in any::<String>(), b in proptest::collection::vec(any::<String>(), 0..3), n in any::<i64>(), key in any::<String>()) {
            let mut c = Claims::new();
            c.str("a", &a).strs("b", &b).int("n", n);
            let mut extra = Map::new();
            extra.insert(key.clone(), Value::String(a.clone()));
            let ours = |k: &str| ["a", "b", "n"].contains(&k);
            c.extra(&extra, |k| !ours(k)).unwrap();
            let parsed: Map<String, Value> = serde_json::from_slice(&c.finish()).unwrap();
            prop_assert_eq!(&parsed["n"], &Value::from(n));
            prop_assert_eq!(&parsed["a"], &Value::String(a.clone()));
            if !ours(&key) {
                prop_assert_eq!(&parsed[&key], &Value::String(a));
            }
            prop_assert_eq!(&parsed["b"], &Value::from(b));
        }
    }
}
