//! Fresh secrets for the credentials Annals mints. Only their SHA-256 is ever stored
//! ([`super::resolve::token_digest`]); the secret is answered once, to whoever asked for it.

use rand::Rng;

const UPPER_AND_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn draw(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// A robot token: 64 upper-case letters and digits, as Quay's.
pub fn robot_token() -> String {
    draw(UPPER_AND_DIGITS, 64)
}

/// An app-specific token's code: 60 letters and digits.
pub fn app_token() -> String {
    draw(ALPHANUMERIC, 60)
}

/// An OAuth access token or client secret: 40 letters and digits.
pub fn oauth_secret() -> String {
    draw(ALPHANUMERIC, 40)
}

/// A generated password: 24 letters and digits.
pub fn password() -> String {
    draw(ALPHANUMERIC, 24)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robot_tokens_are_quay_shaped_and_fresh() {
        let (a, b) = (robot_token(), robot_token());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| UPPER_AND_DIGITS.contains(&c)));
        assert_ne!(a, b);
    }
}
