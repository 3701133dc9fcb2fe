//! `POST /control/pause` and `/control/resume`: the same request `omega pause` writes, allowed
//! only with `Authorization: Bearer <OMEGA_CONTROL_TOKEN>`.

use alloy_primitives::keccak256;
use axum::http::{HeaderMap, StatusCode, header};
use subtle::ConstantTimeEq;

/// Why a control request is refused: the status and a message for the JSON error.
pub type Refusal = (StatusCode, &'static str);

/// Checks the bearer token. Both sides are hashed first so the comparison takes the same time
/// whatever the length or content of the guess.
pub fn authorize(expected: Option<&str>, headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(expected) = expected else {
        return Err((
            StatusCode::FORBIDDEN,
            "control endpoints are disabled: start omega with OMEGA_CONTROL_TOKEN set to enable them",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or((
            StatusCode::UNAUTHORIZED,
            "missing bearer token: send Authorization: Bearer <OMEGA_CONTROL_TOKEN>",
        ))?;
    let same: bool = keccak256(given.trim().as_bytes())
        .as_slice()
        .ct_eq(keccak256(expected.as_bytes()).as_slice())
        .into();
    if same {
        Ok(())
    } else {
        Err((StatusCode::UNAUTHORIZED, "invalid bearer token"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn bearer(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn only_the_exact_token_is_accepted() {
        let token = Some("s3cret");
        assert!(authorize(token, &bearer("Bearer s3cret")).is_ok());
        assert_eq!(
            authorize(token, &bearer("Bearer s3cre")).unwrap_err().0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            authorize(token, &bearer("Basic s3cret")).unwrap_err().0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            authorize(token, &HeaderMap::new()).unwrap_err().0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            authorize(None, &bearer("Bearer s3cret")).unwrap_err().0,
            StatusCode::FORBIDDEN
        );
    }
}
