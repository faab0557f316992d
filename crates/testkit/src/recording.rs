//! Seeing where secrets come from: a [`RecordingRng`] that hands out OS randomness and
//! remembers every draw, a [`TestApp`] built with it, and a [`Browser`] whose cookies a test
//! can read. Security test S11 uses them to prove that each secret the server mints is one
//! whole draw of the injected `Rng` — not a function of the clock, the user or a counter.

use std::sync::{Arc, Mutex};

use lanyard_core::{OsRng, Rng};

use crate::{Backend, Browser, TestApp};

/// The operating system's CSPRNG, with a record of every buffer it filled.
#[derive(Default)]
pub struct RecordingRng {
    draws: Mutex<Vec<Vec<u8>>>,
}

impl RecordingRng {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every draw so far, oldest first.
    pub fn draws(&self) -> Vec<Vec<u8>> {
        self.draws.lock().unwrap().clone()
    }

    /// Whether `bytes` is exactly one whole draw (not a part of one, not two joined).
    pub fn was_drawn(&self, bytes: &[u8]) -> bool {
        self.draws.lock().unwrap().iter().any(|d| d == bytes)
    }
}

impl Rng for RecordingRng {
    fn fill(&self, buf: &mut [u8]) {
        OsRng.fill(buf);
        self.draws.lock().unwrap().push(buf.to_vec());
    }
}

impl TestApp {
    /// Like [`TestApp::spawn`], but the server draws its randomness from `rng`.
    pub async fn spawn_with_rng(backend: Backend, rng: Arc<dyn Rng>) -> TestApp {
        Self::build(backend, |_| {}, rng).await
    }
}

impl Browser {
    /// A browser keeping its cookies in `jar`, so the test can read them
    /// (`jar.cookies(&url)` from `reqwest::cookie::CookieStore`).
    pub fn with_cookie_jar(jar: Arc<reqwest::cookie::Jar>) -> Self {
        let http = reqwest::Client::builder()
            .cookie_provider(jar)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { http }
    }
}

/// The value of the hidden form field `name` on `page`.
pub fn hidden_field(page: &str, name: &str) -> Option<String> {
    crate::browser::hidden_inputs(page)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The value of cookie `name` that `jar` would send to `url`.
pub fn cookie_value(jar: &reqwest::cookie::Jar, url: &str, name: &str) -> Option<String> {
    use reqwest::cookie::CookieStore as _;
    let url = url::Url::parse(url).ok()?;
    let header = jar.cookies(&url)?;
    header.to_str().ok()?.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}
