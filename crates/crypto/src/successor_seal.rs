//! Sealing a rotated refresh token's successor under the token it replaces, for the optional
//! refresh grace window: a client that lost the response retries with the previous token and
//! gets the same successor back, so the server must keep that successor until the window
//! closes — but never usable at rest.
//!
//! The key is HKDF-SHA-256 (aws-lc-rs) of the presented token, whose 256 random bits make it
//! a fine input key; the store keeps only the token's keyed hash, so neither a database dump
//! nor the server's own keys can open the seal, only the holder of that token. The AEAD is
//! the envelope's AES-256-GCM with a random nonce, sealed once per key since a token is
//! rotated once. The associated data binds the seal to its family row.

use aws_lc_rs::aead::AES_256_GCM;
use aws_lc_rs::hkdf;
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::envelope::{KEK_LEN, Kek};

/// Domain separation: this derivation yields keys for nothing else.
const SALT: &[u8] = b"lanyard/refresh-grace";
const INFO: &[u8] = b"lanyard/refresh-grace/successor-seal/v1";

fn derive_key(presented: &str) -> Option<Kek> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(presented.as_bytes());
    let mut key = Zeroizing::new([0u8; KEK_LEN]);
    prk.expand(&[INFO], &AES_256_GCM)
        .ok()?
        .fill(key.as_mut())
        .ok()?;
    Some(Kek::from_bytes(*key))
}

/// Encrypts `successor` so that only `presented` opens it; `aad` (the family id) binds it to
/// its row.
pub fn seal_successor(
    presented: &str,
    successor: &str,
    aad: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    derive_key(presented)
        .ok_or(CryptoError::Encrypt)?
        .encrypt(successor.as_bytes(), aad)
}

/// Opens what [`seal_successor`] sealed for the same `presented` token and `aad`; anything
/// else is [`CryptoError::Decrypt`].
pub fn open_successor(
    presented: &str,
    sealed: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<String>, CryptoError> {
    let plaintext = derive_key(presented)
        .ok_or(CryptoError::Decrypt)?
        .decrypt(sealed, aad)?;
    let text = std::str::from_utf8(&plaintext).map_err(|_| CryptoError::Decrypt)?;
    Ok(Zeroizing::new(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RT1: &str = "lyd_rt_4sT2cW0m3oJ1y5y0qkq3m4jz3a0fQ1c0b7vH9xk2pLs";
    const RT2: &str = "lyd_rt_Q8w0-3zZ9l1k2b4n6m8v0c2x4z6a8s0d2f4g6h8j0kA";
    const FAMILY: &[u8] = b"0190f1a2-0000-7000-8000-000000000001";

    #[test]
    fn the_presented_token_opens_its_successor() {
        let sealed = seal_successor(RT1, RT2, FAMILY).unwrap();
        assert_eq!(open_successor(RT1, &sealed, FAMILY).unwrap().as_str(), RT2);
    }

    #[test]
    fn nothing_at_rest_reveals_the_successor() {
        let sealed = seal_successor(RT1, RT2, FAMILY).unwrap();
        assert!(
            !sealed
                .windows(16)
                .any(|w| RT2.as_bytes().windows(16).any(|s| s == w))
        );
        // A fresh nonce per seal: two seals of the same successor share nothing visible.
        let again = seal_successor(RT1, RT2, FAMILY).unwrap();
        assert_ne!(sealed, again);
        assert_eq!(open_successor(RT1, &again, FAMILY).unwrap().as_str(), RT2);
    }

    #[test]
    fn another_token_another_family_or_a_flipped_bit_do_not_open_it() {
        let sealed = seal_successor(RT1, RT2, FAMILY).unwrap();
        for (token, aad) in [
            (RT2, FAMILY),
            (&RT1[..RT1.len() - 1], FAMILY),
            ("", FAMILY),
            (RT1, b"0190f1a2-0000-7000-8000-000000000002".as_slice()),
        ] {
            assert!(matches!(
                open_successor(token, &sealed, aad),
                Err(CryptoError::Decrypt)
            ));
        }
        for i in [0, 12, sealed.len() - 1] {
            let mut tampered = sealed.clone();
            tampered[i] ^= 1;
            assert!(matches!(
                open_successor(RT1, &tampered, FAMILY),
                Err(CryptoError::Decrypt)
            ));
        }
        assert!(matches!(
            open_successor(RT1, &sealed[..20], FAMILY),
            Err(CryptoError::Decrypt)
        ));
    }
}
