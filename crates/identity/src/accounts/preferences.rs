//! The account's own settings for how pages look to its owner: the time zone.

use lanyard_core::{AccountId, StoreError};

use super::AccountService;
use crate::{IdentityError, TimeZoneName};

impl AccountService {
    /// Sets the time zone pages show times in. The name was checked when it was parsed.
    pub async fn set_time_zone(
        &self,
        id: AccountId,
        zone: &TimeZoneName,
    ) -> Result<(), IdentityError> {
        let now = self.clock.now();
        match self
            .accounts
            .update_time_zone(id, Some(zone.as_str()), now)
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(IdentityError::NotFound),
            Err(e) => Err(e.into()),
        }
    }
}
