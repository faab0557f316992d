//! Lanyard's vocabulary and ports: ids and newtypes, the injected clock and randomness,
//! the repository traits the durable store implements, and the ephemeral store trait.
//!
//! Nothing here knows about HTTP, SQL or Redis; the `store` crate implements the ports and
//! the `server` crate wires them in.

pub mod audit;
pub mod clock;
pub mod ephemeral_key;
pub mod error;
pub mod ids;
pub mod locks;
pub mod mail;
pub mod model;
pub mod pat_token;
pub mod ports;
pub mod rng;
pub mod secret;

pub use audit::{Auditor, Origin};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use ephemeral_key::{Durability, EphemeralKey};
pub use error::{InvalidSetting, StoreError};
pub use ids::{AccountId, ClientId, FamilyId};
pub use mail::{MailError, Mailer, OutgoingMail};
pub use rng::{OsRng, Rng};
pub use secret::Secret;
