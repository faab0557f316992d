use lanyard_core::model::{ClientAuthMethod, GrantType};
use lanyard_server::NewClient;
use lanyard_testkit::{Backend, TestApp};

pub const REDIRECT: &str = "https://rp.example.com/cb";
pub const LOGOUT_REDIRECT: &str = "https://rp.example.com/bye";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub fn confidential(id: &str) -> NewClient {
    NewClient {
        id: id.to_owned(),
        name: format!("App {id}"),
        redirect_uris: vec![REDIRECT.to_owned()],
        post_logout_redirect_uris: vec![LOGOUT_REDIRECT.to_owned()],
        grant_types: vec![
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
        ],
        auth_method: ClientAuthMethod::ClientSecretBasic,
        jwks: None,
        first_party: true,
        allowed_scopes: ["openid", "email", "profile", "api"]
            .map(str::to_owned)
            .to_vec(),
    }
}

/// Runs `f` once per available backend, each on a fresh server.
pub async fn each_backend<F, Fut>(f: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = TestApp>,
{
    for backend in Backend::available() {
        let app = TestApp::spawn(backend).await;
        let app = f(app).await;
        app.cleanup().await;
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn authorize_url(app: &TestApp, client_id: &str, extra: &str) -> String {
    format!(
        "{}/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20email&state=st&nonce=nn&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        app.base_url,
        urlencode(REDIRECT)
    )
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Signs `email` in through the pages and returns the authorization code.
pub async fn obtain_code(app: &TestApp, client_id: &str, email: &str) -> String {
    let browser = lanyard_testkit::Browser::new();
    let back = browser
        .sign_in(
            &authorize_url(app, client_id, ""),
            &app.base_url,
            email,
            lanyard_testkit::PASSWORD,
        )
        .await;
    assert!(back.starts_with(REDIRECT), "{back}");
    query_param(&back, "code").expect("code in redirect")
}

pub async fn redeem(
    app: &TestApp,
    client_id: &str,
    secret: &str,
    code: &str,
    verifier: &str,
) -> reqwest::Response {
    http()
        .post(app.url("/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
}

pub async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}
