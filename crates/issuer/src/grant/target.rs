//! Which registered API (`[[resources]]`) a token is for: the `resource` (RFC 8707 §2) and
//! `audience` (RFC 8693 §2.1) parameters of the client credentials grant and of the
//! exchange of access tokens.

use lanyard_core::model::{ResourceServer, Resources};

use crate::error::{ErrorCode, OAuthError};

/// RFC 8707 §2 / RFC 8693 §2.2.2.
const INVALID_TARGET: &str = "the audience or resource is not available";

pub(crate) fn invalid_target() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, INVALID_TARGET)
}

/// The API named by `resource` and/or `audience`; `None` when neither is given. `resource`
/// must be an absolute URI without a fragment (RFC 8707 §2); `audience` may be any
/// registered identifier. When both are given they must name the same API. Anything not
/// registered is `invalid_target`.
pub(crate) fn requested_target<'r>(
    resources: &'r Resources,
    audience: Option<&str>,
    resource: Option<&str>,
) -> Result<Option<&'r ResourceServer>, OAuthError> {
    if let Some(resource) = resource
        && !is_absolute_uri(resource)
    {
        return Err(invalid_target());
    }
    let named = match (audience, resource) {
        (Some(a), Some(r)) if a != r => return Err(invalid_target()),
        (Some(named), _) | (None, Some(named)) => named,
        (None, None) => return Ok(None),
    };
    resources.find(named).map(Some).ok_or_else(invalid_target)
}

fn is_absolute_uri(value: &str) -> bool {
    url::Url::parse(value).is_ok_and(|url| url.fragment().is_none() && !url.cannot_be_a_base())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources() -> Resources {
        Resources(vec![
            ResourceServer {
                identifier: "https://api.example.com/".to_owned(),
                scopes: vec!["api".to_owned()],
                ..Default::default()
            },
            ResourceServer {
                identifier: "files".to_owned(),
                scopes: vec!["files:read".to_owned()],
                ..Default::default()
            },
        ])
    }

    fn target(
        audience: Option<&str>,
        resource: Option<&str>,
    ) -> Result<Option<String>, &'static str> {
        requested_target(&resources(), audience, resource)
            .map(|r| r.map(|r| r.identifier.clone()))
            .map_err(|e| e.code.as_str())
    }

    #[test]
    fn rfc8707_2_resource_is_a_registered_absolute_uri() {
        let api = Some("https://api.example.com/".to_owned());
        assert_eq!(
            target(None, Some("https://api.example.com/")),
            Ok(api.clone())
        );
        assert_eq!(
            target(
                Some("https://api.example.com/"),
                Some("https://api.example.com/")
            ),
            Ok(api)
        );
        assert_eq!(target(Some("files"), None), Ok(Some("files".to_owned())));
        assert_eq!(target(None, None), Ok(None));
        for bad in [
            "files",
            "/relative",
            "https://api.example.com/#frag",
            "https://other.example.com/",
            "mailto:someone@example.com",
        ] {
            assert_eq!(target(None, Some(bad)), Err("invalid_target"), "{bad}");
        }
        assert_eq!(target(Some("unknown"), None), Err("invalid_target"));
        assert_eq!(
            target(Some("files"), Some("https://api.example.com/")),
            Err("invalid_target")
        );
    }
}
