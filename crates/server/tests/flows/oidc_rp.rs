//! The whole relying-party journey with the `openidconnect` crate: discovery, code + PKCE
//! with a scripted sign-in, ID token validation, userinfo, refresh, logout.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::helpers::{REDIRECT, confidential, each_backend, http, query_param};

#[tokio::test]
async fn relying_party_signs_in_with_code_and_pkce_then_refreshes_and_logs_out() {
    each_backend(|app| async move {
        let account = app.create_user("Alice@Example.com").await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let http_client = http();

        let metadata = CoreProviderMetadata::discover_async(
            IssuerUrl::new(app.base_url.clone()).unwrap(),
            &http_client,
        )
        .await
        .expect("discovery");
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new("rp".into()),
            Some(ClientSecret::new(secret.clone())),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());

        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (auth_url, csrf, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge)
            .url();
        let browser = lanyard_testkit::Browser::new();
        let back = browser
            .sign_in(
                auth_url.as_str(),
                &app.base_url,
                &app.mail,
                "alice@example.com",
                lanyard_testkit::PASSWORD,
            )
            .await;
        assert_eq!(
            query_param(&back, "state").as_deref(),
            Some(csrf.secret().as_str())
        );
        assert_eq!(
            query_param(&back, "iss").as_deref(),
            Some(app.base_url.as_str()),
            "RFC 9207 iss"
        );
        let code = query_param(&back, "code").unwrap();

        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http_client)
            .await
            .expect("code exchange");
        let id_token = tokens.id_token().expect("id token");
        let claims = id_token
            .claims(&client.id_token_verifier(), &nonce)
            .expect("valid id token");
        assert_eq!(claims.subject().as_str(), account.id.to_string());
        assert!(claims.auth_time().is_some());
        assert_eq!(
            claims.email().map(|e| e.as_str()),
            Some("Alice@Example.com")
        );

        let info: CoreUserInfoClaims = client
            .user_info(tokens.access_token().clone(), None)
            .unwrap()
            .request_async(&http_client)
            .await
            .expect("userinfo");
        assert_eq!(info.subject().as_str(), account.id.to_string());

        let first_refresh = tokens.refresh_token().expect("refresh token").clone();
        let refreshed = client
            .exchange_refresh_token(&first_refresh)
            .unwrap()
            .request_async(&http_client)
            .await
            .expect("refresh");
        let second_refresh = refreshed.refresh_token().expect("rotated refresh token");
        assert_ne!(second_refresh.secret(), first_refresh.secret());

        // RP-initiated logout with a verified hint goes straight back to the registered URI.
        let logout = format!(
            "{}/logout?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
            app.base_url,
            id_token,
            crate::helpers::urlencode(crate::helpers::LOGOUT_REDIRECT)
        );
        let (status, at, _) = browser.get(&logout, &app.base_url).await;
        assert_eq!(status, 303);
        assert_eq!(at, format!("{}?state=bye", crate::helpers::LOGOUT_REDIRECT));
        // The session is gone: a new authorization asks for sign-in again.
        let (_, at, _) = browser.get(auth_url.as_str(), &app.base_url).await;
        assert!(at.contains("/login?flow="), "{at}");
        app
    })
    .await;
}
