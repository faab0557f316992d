//! Who may act on a site (design13.md point 5).

use lanyard_core::model::MigrationState;
use lanyard_core::ports::SiteRepo;
use lanyard_sites::SitesError;
use lanyard_sites::admin::authorize_site_admin;

use crate::{NowTs, email_of, harness};

#[tokio::test]
async fn only_an_admin_of_the_same_site_is_a_site_admin() {
    let h = harness().await;
    let now = h.clock.now_ts();
    // Alice (admin) through her principal and through her linked identity.
    let alice = h.user("alice").await;
    let principal = h.account(alice.principal).await;
    assert_eq!(
        authorize_site_admin(&*h.store, &h.site, &principal)
            .await
            .unwrap()
            .id,
        alice.id
    );
    let person = h.person(&email_of("alice")).await;
    h.store
        .link_site_user(alice.id, person.id, now)
        .await
        .unwrap();
    assert!(
        authorize_site_admin(&*h.store, &h.site, &person)
            .await
            .is_ok()
    );
    // A licensed user, a client user, a stranger: refused.
    for login in ["bob", "carol"] {
        let user = h.user(login).await;
        let account = h.account(user.principal).await;
        let refused = authorize_site_admin(&*h.store, &h.site, &account).await;
        assert!(matches!(refused, Err(SitesError::Forbidden)), "{login}");
    }
    let stranger = h.person("stranger@example.com").await;
    assert!(matches!(
        authorize_site_admin(&*h.store, &h.site, &stranger).await,
        Err(SitesError::Forbidden)
    ));
    // The admin of one site acting on another.
    let other = h.new_site("other", "Other", "other-app").await;
    for who in [&principal, &person] {
        assert!(matches!(
            authorize_site_admin(&*h.store, &other, who).await,
            Err(SitesError::Forbidden)
        ));
    }
    // In identity mode the principal is disabled: only the linked identity acts.
    h.move_to(MigrationState::Identity).await;
    let site = h.store.get_site(h.site.id).await.unwrap().unwrap();
    let principal = h.account(alice.principal).await;
    assert!(
        authorize_site_admin(&*h.store, &site, &principal)
            .await
            .is_err()
    );
    assert!(
        authorize_site_admin(&*h.store, &site, &person)
            .await
            .is_ok()
    );
}
