//! The untimed part of a sign-in: `/authorize` → the first page (its flow and CSRF cookie)
//! → for an identity login, the email posted → the password page. What is left is one form
//! post, the password step, kept as a [`Prepared`] flow for the timed run.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::header::{COOKIE, LOCATION};
use reqwest::{Client, StatusCode};
use serde::{Deserialize, Serialize};

use crate::page::{Form, Jar};

/// Which first step the flow's password goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// `/login` (email), then `/login/password`: an identity account.
    Identity,
    /// `/sites/{slug}/login`: a site user's login and password on one page.
    Site,
}

/// One sign-in stopped just before its password post.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Prepared {
    pub user: String,
    /// Absolute URL the password form posts to.
    pub url: String,
    /// The form's fields except the password (hidden fields; the site login's `login`).
    pub fields: Vec<(String, String)>,
    pub jar: Jar,
    /// The loopback address the flow was walked from, and is posted from.
    pub source: Option<IpAddr>,
}

/// Prepares `count` flows for `users` in turn, `concurrency` at a time, in user order; with
/// `own_sources`, flow `i` comes from its own loopback address (`source::loopback(i)`).
pub async fn prepare_all(
    http: &Client,
    base: &str,
    authorize: &str,
    kind: Kind,
    users: &[String],
    (count, concurrency, own_sources): (usize, usize, bool),
) -> Result<Vec<Prepared>, String> {
    if users.is_empty() {
        return Err("no users".to_owned());
    }
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (http, next, users) = (http.clone(), next.clone(), users.to_vec());
        let (base, authorize) = (base.to_owned(), authorize.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, String>(done);
                }
                let user = &users[i % users.len()];
                let source = own_sources.then(|| crate::source::loopback(i));
                let own;
                let http = match source {
                    Some(_) => {
                        own = crate::source::client(source)?;
                        &own
                    }
                    None => &http,
                };
                let mut flow = prepare(http, &base, &authorize, kind, user).await?;
                flow.source = source;
                done.push((i, flow));
            }
        }));
    }
    let mut all = Vec::with_capacity(count);
    for task in tasks {
        all.extend(task.await.map_err(|e| e.to_string())??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, p)| p).collect())
}

/// One flow, from `/authorize` to the page that asks the password.
pub async fn prepare(
    http: &Client,
    base: &str,
    authorize: &str,
    kind: Kind,
    user: &str,
) -> Result<Prepared, String> {
    let mut jar = Jar::default();
    let (at, page) = get_page(http, base, authorize, &mut jar).await?;
    let form = Form::first_of(&page).ok_or_else(|| format!("{at}: no form on the page"))?;
    match kind {
        Kind::Site => {
            let mut fields = form.hidden;
            fields.push(("login".to_owned(), user.to_owned()));
            Ok(Prepared {
                user: user.to_owned(),
                url: absolute(base, &form.action),
                fields,
                jar,
                source: None,
            })
        }
        Kind::Identity => {
            let mut fields = form.hidden;
            fields.push(("email".to_owned(), user.to_owned()));
            let url = absolute(base, &form.action);
            let response = post(http, &url, &fields, &jar).await?;
            jar.take(response.headers());
            let status = response.status();
            let to = location(&response).ok_or_else(|| format!("email step answered {status}"))?;
            let (at, page) = get_page(http, base, &absolute(base, &to), &mut jar).await?;
            let form = Form::first_of(&page).ok_or_else(|| format!("{at}: no form"))?;
            Ok(Prepared {
                user: user.to_owned(),
                url: absolute(base, &form.action),
                fields: form.hidden,
                jar,
                source: None,
            })
        }
    }
}

/// GETs `url`, following redirects within `base`, until a 200 page: its URL and body.
pub async fn get_page(
    http: &Client,
    base: &str,
    url: &str,
    jar: &mut Jar,
) -> Result<(String, String), String> {
    let mut url = url.to_owned();
    for _ in 0..5 {
        let mut request = http.get(&url);
        if let Some(cookie) = jar.header() {
            request = request.header(COOKIE, cookie);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        jar.take(response.headers());
        let status = response.status();
        if let Some(to) = location(&response) {
            let to = absolute(base, &to);
            if !to.starts_with(base) {
                return Err(format!("{url} left the server for {to}"));
            }
            url = to;
            continue;
        }
        let body = response.text().await.map_err(|e| e.to_string())?;
        if status != StatusCode::OK {
            let head: String = body.chars().take(300).collect();
            return Err(format!("GET {url}: {status}: {head}"));
        }
        return Ok((url, body));
    }
    Err(format!("too many redirects from {url}"))
}

pub async fn post(
    http: &Client,
    url: &str,
    fields: &[(String, String)],
    jar: &Jar,
) -> Result<reqwest::Response, String> {
    let mut request = http.post(url).form(fields);
    if let Some(cookie) = jar.header() {
        request = request.header(COOKIE, cookie);
    }
    request.send().await.map_err(|e| format!("POST {url}: {e}"))
}

pub fn location(response: &reqwest::Response) -> Option<String> {
    let value = response.headers().get(LOCATION)?;
    value.to_str().ok().map(str::to_owned)
}

pub fn absolute(base: &str, location: &str) -> String {
    if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        location.to_owned()
    }
}
