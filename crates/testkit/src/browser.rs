//! A scripted browser for the server-rendered pages: keeps cookies, follows redirects by
//! hand, fills the one form on a page.

use reqwest::header::LOCATION;

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
        let mut form: Vec<(String, String)> = hidden_inputs(page);
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
    /// client, consenting if asked. Returns the redirect URL.
    pub async fn sign_in(
        &self,
        authorize_url: &str,
        base: &str,
        email: &str,
        password: &str,
    ) -> String {
        let (_, at, page) = self.get(authorize_url, base).await;
        if !at.starts_with(base) {
            return at;
        }
        let (_, _, page) = self.submit(&page, base, &[("email", email)]).await;
        let (_, at, page) = self.submit(&page, base, &[("password", password)]).await;
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

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        location.to_owned()
    }
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let start = tag.find(&needle)? + needle.len();
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

pub fn form_action(page: &str) -> Option<String> {
    let start = page.find("<form")?;
    let end = page[start..].find('>')? + start;
    attr(&page[start..end], "action")
}

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
