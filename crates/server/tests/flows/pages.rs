//! What people see when something goes wrong.

use lanyard_testkit::{Backend, TestApp};

use crate::helpers::{authorize_url, http};

#[tokio::test]
async fn error_pages_carry_the_configured_product_name() {
    for backend in Backend::available() {
        let app = TestApp::spawn_with(backend, |config| {
            config.server.product_name = "Acme <ID>".into();
        })
        .await;
        let response = http()
            .get(authorize_url(&app, "nobody", ""))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let body = response.text().await.unwrap();
        assert!(body.contains("Acme &#60;ID&#62;"), "{body}");
        assert!(!body.contains("Lanyard"), "{body}");
        assert!(body.contains("Unknown app"), "{body}");
        app.cleanup().await;
    }
}
