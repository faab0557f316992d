//! What a browser keeps between the requests of one sign-in: its cookies (each prepared flow
//! is its own browser, so no two flows share a CSRF cookie or a device cookie), and the one
//! form of a page (its action and hidden fields).

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, SET_COOKIE};
use serde::{Deserialize, Serialize};

/// One browser's cookies, by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Jar(BTreeMap<String, String>);

impl Jar {
    /// Keeps the `name=value` of every `Set-Cookie` (attributes ignored: all go to one host).
    pub fn take(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                self.0
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    /// The `Cookie` header to send, if any.
    pub fn header(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| {
            self.0
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

/// A page's first form: where it posts and its hidden fields (the flow id, the CSRF token).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Form {
    pub action: String,
    pub hidden: Vec<(String, String)>,
}

impl Form {
    /// The first `<form>` of `page`, when it has an action (the parsing is testkit's, which
    /// the flow tests' scripted browser uses on the same pages).
    pub fn first_of(page: &str) -> Option<Form> {
        let action = lanyard_testkit::form_action(page)?;
        let hidden = lanyard_testkit::hidden_inputs(lanyard_testkit::first_form(page));
        Some(Form { action, hidden })
    }
}

#[cfg(test)]
mod tests {
    use super::{Form, Jar};
    use reqwest::header::{HeaderMap, HeaderValue, SET_COOKIE};

    #[test]
    fn the_first_form_gives_its_action_and_only_its_own_hidden_fields() {
        let page = r#"<p>x</p><form method="post" action="/sites/acme/login">
            <input type="hidden" name="flow" value="abc">
            <input type="hidden" name="csrf_token" value="a&amp;b">
            <input type="text" name="login" value="">
            </form><form action="/other"><input type="hidden" name="no" value="1"></form>"#;
        let form = Form::first_of(page).unwrap();
        assert_eq!(form.action, "/sites/acme/login");
        assert_eq!(
            form.hidden,
            vec![
                ("flow".to_owned(), "abc".to_owned()),
                ("csrf_token".to_owned(), "a&b".to_owned())
            ]
        );
        assert!(Form::first_of("<p>no form</p>").is_none());
        // A form without an action is no form to post.
        assert!(
            Form::first_of(
                r#"<form method="post"><input type="hidden" name="a" value="b"></form>"#
            )
            .is_none()
        );
    }

    #[test]
    fn a_jar_keeps_the_latest_value_of_each_cookie_without_attributes() {
        let mut headers = HeaderMap::new();
        headers.append(
            SET_COOKIE,
            HeaderValue::from_static("lanyard_csrf=t1; Path=/; HttpOnly"),
        );
        headers.append(SET_COOKIE, HeaderValue::from_static("dev=d; Path=/"));
        let mut jar = Jar::default();
        assert_eq!(jar.header(), None);
        jar.take(&headers);
        let mut again = HeaderMap::new();
        again.append(SET_COOKIE, HeaderValue::from_static("lanyard_csrf=t2"));
        jar.take(&again);
        assert_eq!(jar.header().as_deref(), Some("dev=d; lanyard_csrf=t2"));
    }
}
