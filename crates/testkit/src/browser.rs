//! A scripted browser for the server-rendered pages: keeps cookies, follows redirects by
//! hand, fills the one form on a page.

use reqwest::header::LOCATION;

use crate::SmtpSink;

pub struct Browser {
    pub http: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { http }
    }

    /// Follows redirects within `base` until one leaves it; returns the last response's
    /// status, its final URL (or the outbound Location) and the body.
    pub async fn get(&self, url: &str, base: &str) -> (u16, String, String) {
        let mut url = url.to_owned();
        for _ in 0..10 {
            let response = self.http.get(&url).send().await.unwrap();
            let status = response.status().as_u16();
            if let Some(location) = response.headers().get(LOCATION) {
                let location = absolute(base, location.to_str().unwrap());
                if !location.starts_with(base) {
                    return (status, location, String::new());
                }
                url = location;
                continue;
            }
            return (status, url, response.text().await.unwrap());
        }
        panic!("too many redirects");
    }

    /// Submits the page's form with its hidden fields plus `fields`; follows redirects like
    /// [`Browser::get`].
    pub async fn submit(
        &self,
        page: &str,
        base: &str,
        fields: &[(&str, &str)],
    ) -> (u16, String, String) {
        let action = form_action(page).expect("page has a form");
        let mut form: Vec<(String, String)> = hidden_inputs(first_form(page));
        for (k, v) in fields {
            form.push(((*k).to_owned(), (*v).to_owned()));
        }
        let response = self
            .http
            .post(absolute(base, &action))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        if let Some(location) = response.headers().get(LOCATION) {
            let location = absolute(base, location.to_str().unwrap());
            if !location.starts_with(base) {
                return (status, location, String::new());
            }
            return self.get(&location, base).await;
        }
        (status, String::new(), response.text().await.unwrap())
    }

    /// Drives the whole sign-in from an authorization URL to the redirect back to the
    /// client: email, password, the emailed code (read from `mail`), the backup code page,
    /// "Don't trust this device", consent if asked. Returns the redirect URL.
    pub async fn sign_in(
        &self,
        authorize_url: &str,
        base: &str,
        mail: &SmtpSink,
        email: &str,
        password: &str,
    ) -> String {
        let (_, at, page) = self.get(authorize_url, base).await;
        if !at.starts_with(base) {
            return at;
        }
        let (_, _, page) = self.submit(&page, base, &[("email", email)]).await;
        let sent = mail.messages_to(email).len();
        let (_, at, page) = self.submit(&page, base, &[("password", password)]).await;
        if !at.starts_with(base) {
            return at;
        }
        let (at, page) = self.second_step(page, base, mail, email, sent).await;
        if !at.starts_with(base) {
            return at;
        }
        assert!(
            page.contains("name=\"decision\""),
            "expected consent page, got: {page}"
        );
        let (_, at, _) = self.submit(&page, base, &[("decision", "allow")]).await;
        at
    }
}

impl Browser {
    /// From the code page on: types the newest emailed code (mail number `sent + 1` to
    /// `email`), ticks "I saved my backup code" if shown, and answers "Don't trust this
    /// device" (or, for an authenticator-app account, "Don't stay signed in"). Returns where it ended and that page.
    pub async fn second_step(
        &self,
        page: String,
        base: &str,
        mail: &SmtpSink,
        email: &str,
        sent: usize,
    ) -> (String, String) {
        let mut page = page;
        let mut at = base.to_owned();
        if page.contains("name=\"code\"") {
            let mails = mail.wait_for(email, sent + 1).await;
            let code = crate::code_in(&mails[mails.len() - 1].text);
            (_, at, page) = self.submit(&page, base, &[("code", &code)]).await;
            if !at.is_empty() && !at.starts_with(base) {
                return (at, page);
            }
        }
        if page.contains("name=\"saved\"") {
            (_, at, page) = self.submit(&page, base, &[("saved", "yes")]).await;
            if !at.is_empty() && !at.starts_with(base) {
                return (at, page);
            }
        }
        if page.contains("name=\"trust\"") {
            (_, at, page) = self.submit(&page, base, &[("trust", "no")]).await;
        } else if page.contains("name=\"stay\"") {
            (_, at, page) = self.submit(&page, base, &[("stay", "no")]).await;
        }
        if at.is_empty() {
            at = base.to_owned();
        }
        (at, page)
    }
}

impl Browser {
    /// This browser's CSRF token (for an API's `x-csrf-token` header): the `csrf_token`
    /// field of the account page's form. The token depends only on the browser's cookies
    /// (its CSRF binder and its session), so any of our forms carries the same one; a browser
    /// that is not signed in gets the sign-in page's.
    pub async fn csrf_token(&self, base: &str) -> String {
        let (_, _, page) = self.get(&format!("{base}/account"), base).await;
        csrf_field(&page).expect("a page with a CSRF field")
    }
}

/// The `csrf_token` hidden field of the page's first form that has one.
pub fn csrf_field(page: &str) -> Option<String> {
    hidden_inputs(page)
        .into_iter()
        .find(|(name, _)| name == "csrf_token")
        .map(|(_, value)| value)
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        location.to_owned()
    }
}

/// The value of attribute `name` in `tag`, unescaped. The name must follow white space, so
/// that `name` is not read out of `data-name="…"` nor `action` out of `formaction="…"`.
fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let (at, _) = tag
        .match_indices(&needle)
        .find(|(i, _)| tag[..*i].ends_with(|c: char| c.is_ascii_whitespace()))?;
    let start = at + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

/// The page from its first `<form` to that form's end: a page may hold more than one form
/// (the code page's "Get code by email"), and `submit` fills the first.
pub fn first_form(page: &str) -> &str {
    let Some(start) = page.find("<form") else {
        return page;
    };
    let end = page[start..]
        .find("</form>")
        .map_or(page.len(), |e| start + e);
    &page[start..end]
}

/// The `action` of the page's first form, if it has one.
pub fn form_action(page: &str) -> Option<String> {
    let start = page.find("<form")?;
    let end = page[start..].find('>')? + start;
    attr(&page[start..end], "action")
}

/// The name and value of every hidden `<input>` in `page` (or in one form: [`first_form`]), in
/// order; one without both is skipped.
pub fn hidden_inputs(page: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(i) = rest.find("<input") {
        let tag_end = rest[i..].find('>').map_or(rest.len(), |e| i + e);
        let tag = &rest[i..tag_end];
        if tag.contains("type=\"hidden\"")
            && let (Some(name), Some(value)) = (attr(tag, "name"), attr(tag, "value"))
        {
            out.push((name, value));
        }
        rest = &rest[tag_end..];
    }
    out
}

#[cfg(test)]
mod tests;
