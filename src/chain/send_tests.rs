//! Unit tests of `send.rs`.

use super::*;

#[test]
fn the_nodes_answers_are_read_by_meaning() {
    for known in [
        "already known",
        "server returned an error response: error code -32003: transaction already imported",
    ] {
        assert!(is_known(&known.to_ascii_lowercase()), "{known}");
        assert!(!is_nonce_taken(&known.to_ascii_lowercase()), "{known}");
    }
    for taken in [
        "nonce too low: next nonce 5, tx nonce 4",
        "replacement transaction underpriced",
        "Invalid nonce",
    ] {
        assert!(is_nonce_taken(&taken.to_ascii_lowercase()), "{taken}");
        assert!(!is_known(&taken.to_ascii_lowercase()), "{taken}");
    }
    assert!(!is_known("insufficient funds for gas * price + value"));
}
