//! Secrets at rest (Webex tokens, CMS passcodes and space secrets) are sealed with XChaCha20-Poly1305 under a key that lives in the
//! configuration or the environment, never in the database. A sealed value is
//! `v1.<base64 nonce‖ciphertext>`; the purpose is bound as associated data, so a token sealed as
//! the org grant cannot be replayed as something else.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("the secrets key must be 32 bytes written as base64 (e.g. `openssl rand -base64 32`); {0}")]
    BadKey(String),
    #[error("a stored secret cannot be opened with this key (was the key changed?)")]
    Unreadable,
}

/// The key that seals secrets at rest. Its `Debug` never shows it.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    /// Keys for other purposes (HMAC of acknowledgement tokens) are derived from this one.
    derive_base: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(…)")
    }
}

impl SecretBox {
    /// From the configured key: 32 bytes in base64.
    pub fn from_base64(key: &str) -> Result<Self, SecretError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .map_err(|e| SecretError::BadKey(format!("it is not base64 ({e})")))?;
        if bytes.len() != 32 {
            return Err(SecretError::BadKey(format!("it decodes to {} bytes", bytes.len())));
        }
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|e| SecretError::BadKey(e.to_string()))?;
        let derive_base = bytes.try_into().map_err(|_| SecretError::BadKey("wrong length".into()))?;
        Ok(Self { cipher, derive_base })
    }

    /// A 32-byte key for another purpose, derived from this one (SHA-256 of purpose and key).
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"switchboard-derive:");
        h.update(purpose.as_bytes());
        h.update([0]);
        h.update(self.derive_base);
        h.finalize().into()
    }

    /// A fresh random key in the configured form (for `switchboard` set-up and demo mode).
    pub fn generate_key() -> String {
        let mut k = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        base64::engine::general_purpose::STANDARD.encode(k)
    }

    pub fn seal(&self, purpose: &str, plaintext: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: purpose.as_bytes() })
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("v1.{}", STANDARD_NO_PAD.encode(out))
    }

    pub fn open(&self, purpose: &str, sealed: &str) -> Result<String, SecretError> {
        let raw = sealed.strip_prefix("v1.").ok_or(SecretError::Unreadable)?;
        let bytes = STANDARD_NO_PAD.decode(raw).map_err(|_| SecretError::Unreadable)?;
        if bytes.len() < 24 {
            return Err(SecretError::Unreadable);
        }
        let (nonce, ct) = bytes.split_at(24);
        let pt = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: purpose.as_bytes() })
            .map_err(|_| SecretError::Unreadable)?;
        String::from_utf8(pt).map_err(|_| SecretError::Unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_the_same_key_and_purpose_only() {
        let key = SecretBox::generate_key();
        let b = SecretBox::from_base64(&key).unwrap();
        let sealed = b.seal("org-grant", "token-123");
        assert!(!sealed.contains("token-123"));
        assert_ne!(sealed, b.seal("org-grant", "token-123"), "a fresh nonce each time");
        assert_eq!(b.open("org-grant", &sealed).unwrap(), "token-123");
        assert_eq!(b.open("session", &sealed), Err(SecretError::Unreadable), "bound to its purpose");
        let other = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        assert_eq!(other.open("org-grant", &sealed), Err(SecretError::Unreadable));
        let mut tampered = sealed.clone();
        tampered.pop();
        assert!(b.open("org-grant", &tampered).is_err());
    }

    #[test]
    fn a_bad_key_says_what_is_wrong() {
        assert!(matches!(SecretBox::from_base64("not base64!"), Err(SecretError::BadKey(_))));
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 16]);
        assert!(SecretBox::from_base64(&short).unwrap_err().to_string().contains("16 bytes"));
    }
}
