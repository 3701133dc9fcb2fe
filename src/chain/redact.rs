//! RPC URLs without their secrets. Providers put API keys in the URL (userinfo, query string or
//! path, e.g. `https://eth-mainnet.example/v2/KEY`), so a URL is shown as scheme, host and port
//! only, in the API, the logs and `--json` outputs alike. Errors from the HTTP client quote the
//! full URL, so every URL the process connects to is registered here and scrubbed from the text
//! that leaves it (the error line and the console log).

use std::borrow::Cow;
use std::sync::{Mutex, OnceLock};

/// What may be shown of `raw`: `scheme://host[:port]`, with `/<redacted>` when it had a path,
/// a query or credentials. A URL that does not parse is hidden whole.
pub fn redact_url(raw: &str) -> String {
    let Ok(url) = url::Url::parse(raw) else {
        return "<unparsable URL redacted>".to_string();
    };
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    let secret = !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
        || !matches!(url.path(), "" | "/");
    if secret {
        shown.push_str("/<redacted>");
    }
    shown
}

/// Each registered URL in the spellings that may appear in a message, with what replaces it.
fn registry() -> &'static Mutex<Vec<(String, String)>> {
    static REGISTRY: OnceLock<Mutex<Vec<(String, String)>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Vec::new()))
}

/// Remembers a URL this process talks to, so that `scrub` hides it wherever it is quoted.
pub fn register(raw: &str) {
    let shown = redact_url(raw);
    let mut spellings = vec![raw.trim().to_string()];
    if let Ok(mut url) = url::Url::parse(raw) {
        spellings.push(url.to_string()); // the client quotes the normalised form…
        let _ = url.set_username("");
        let _ = url.set_password(None);
        spellings.push(url.to_string()); // …without its credentials
    }
    let mut registry = registry().lock().unwrap_or_else(|e| e.into_inner());
    for spelling in spellings {
        if spelling != shown && !registry.iter().any(|(s, _)| *s == spelling) {
            registry.push((spelling, shown.clone()));
        }
    }
    // Longest first, so that a URL is never half-replaced by a shorter spelling of it.
    registry.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
}

/// `text` with every registered URL replaced by its redacted form.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let registry = registry().lock().unwrap_or_else(|e| e.into_inner());
    if !registry.iter().any(|(raw, _)| text.contains(raw.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for (raw, shown) in registry.iter() {
        out = out.replace(raw.as_str(), shown);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_userinfo_query_and_path_are_hidden() {
        for (raw, shown) in [
            ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
            ("http://127.0.0.1:8545/", "http://127.0.0.1:8545"),
            (
                "https://eth-mainnet.example.com/v2/s3cr3tKey",
                "https://eth-mainnet.example.com/<redacted>",
            ),
            (
                "https://user:pa55@rpc.example.org:8443",
                "https://rpc.example.org:8443/<redacted>",
            ),
            (
                "https://rpc.example.org/?apikey=s3cr3tKey",
                "https://rpc.example.org/<redacted>",
            ),
            ("not a url s3cr3tKey", "<unparsable URL redacted>"),
        ] {
            assert_eq!(redact_url(raw), shown, "{raw}");
            assert!(!redact_url(raw).contains("s3cr3t") && !redact_url(raw).contains("pa55"));
        }
    }

    #[test]
    fn registered_urls_are_scrubbed_from_any_text() {
        let raw = "https://node.example.net/v3/0123456789abcdef";
        register(raw);
        let quoted = format!("error sending request for url ({raw}/): connection refused");
        let scrubbed = scrub(&quoted);
        assert!(!scrubbed.contains("0123456789abcdef"), "{scrubbed}");
        assert!(scrubbed.contains("https://node.example.net/<redacted>"));
        // The HTTP client quotes a URL without its credentials.
        register("https://me:pw@node.example.org/k/abcdef9876?x=1");
        let scrubbed = scrub("url (https://node.example.org/k/abcdef9876?x=1)").into_owned();
        assert_eq!(scrubbed, "url (https://node.example.org/<redacted>)");
        assert_eq!(scrub("nothing to hide"), "nothing to hide");
    }
}
