//! C2SP signed notes with Ed25519, and the tlog-checkpoint note body.
//!
//! A note is its text (ending in a newline), a blank line, and one line per signature:
//! `— <name> <base64(key hash ‖ signature)>`. The key hash is the first 4 bytes of
//! `SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)` (0x01: Ed25519). A verifier key is
//! `<name>+<hex key hash>+<base64(0x01 ‖ public key)>`, the form Go's `sumdb/note` reads; a
//! signer key `PRIVATE+KEY+<name>+<hex key hash>+<base64(0x01 ‖ seed)>`.
//!
//! A checkpoint's text is `<origin>\n<tree size>\n<base64 root hash>\n`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

use super::merkle::Hash;

const ALG_ED25519: u8 = 1;
const SIG_PREFIX: &str = "\u{2014} ";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed key: {0}")]
    Key(String),
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    #[error("no valid signature by {0}")]
    Unverified(String),
    #[error("malformed checkpoint: {0}")]
    Checkpoint(&'static str),
}

/// Whether `name` may name a key: non-empty, no whitespace, no `+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

pub fn key_hash(name: &str, public: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// A named Ed25519 key that signs notes.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteSigner({})", self.verifier_key())
    }
}

impl NoteSigner {
    pub fn new(name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::Key(format!("invalid key name {name:?}")));
        }
        Ok(NoteSigner {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Reads `PRIVATE+KEY+<name>+<hash>+<base64(0x01 ‖ seed)>` (Go's `note.GenerateKey` form).
    pub fn from_private_key(text: &str) -> Result<Self, NoteError> {
        let bad = |m: &str| NoteError::Key(m.to_owned());
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| bad("not PRIVATE+KEY+..."))?;
        // The base64 key may itself hold `+`: name and hash come first.
        let parts: Vec<&str> = rest.splitn(3, '+').collect();
        let [name, hash, key] = parts.as_slice() else {
            return Err(bad("expected name+hash+key"));
        };
        let raw = B64.decode(key).map_err(|_| bad("key is not base64"))?;
        let [ALG_ED25519, seed @ ..] = raw.as_slice() else {
            return Err(bad("not an Ed25519 key"));
        };
        let seed: [u8; 32] = seed.try_into().map_err(|_| bad("seed is not 32 bytes"))?;
        let signer = NoteSigner::new(name, seed)?;
        if *hash != hex4(&signer.key_hash()) {
            return Err(bad("key hash does not match"));
        }
        Ok(signer)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub fn public(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn key_hash(&self) -> [u8; 4] {
        key_hash(&self.name, &self.public())
    }

    /// `<name>+<hex key hash>+<base64(0x01 ‖ public key)>`.
    pub fn verifier_key(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.public().as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex4(&self.key_hash()),
            B64.encode(raw)
        )
    }

    /// `PRIVATE+KEY+<name>+<hex key hash>+<base64(0x01 ‖ seed)>`.
    pub fn private_key(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(&self.seed());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex4(&self.key_hash()),
            B64.encode(raw)
        )
    }

    /// The signed note of `text` (which must end with a newline).
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        if !text.ends_with('\n') || text.contains("\n\n") {
            return Err(NoteError::Malformed(
                "text must be lines ending in a newline, none blank",
            ));
        }
        let sig = self.key.sign(text.as_bytes());
        let mut raw = self.key_hash().to_vec();
        raw.extend_from_slice(&sig.to_bytes());
        Ok(format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.name,
            B64.encode(raw)
        ))
    }
}

fn hex4(h: &[u8; 4]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// A verifier key as printed by `annals ledger key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    pub name: String,
    pub hash: [u8; 4],
    pub key: VerifyingKey,
}

impl NoteVerifier {
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let bad = |m: &str| NoteError::Key(m.to_owned());
        let parts: Vec<&str> = text.trim().splitn(3, '+').collect();
        let [name, hash, key] = parts.as_slice() else {
            return Err(bad("expected name+hash+key"));
        };
        if !valid_name(name) {
            return Err(bad("invalid name"));
        }
        let raw = B64.decode(key).map_err(|_| bad("key is not base64"))?;
        let [ALG_ED25519, public @ ..] = raw.as_slice() else {
            return Err(bad("not an Ed25519 key"));
        };
        let public: [u8; 32] = public.try_into().map_err(|_| bad("key is not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&public).map_err(|_| bad("not a valid Ed25519 key"))?;
        let computed = key_hash(name, &key);
        if *hash != hex4(&computed) {
            return Err(bad("key hash does not match"));
        }
        Ok(NoteVerifier {
            name: (*name).to_owned(),
            hash: computed,
            key,
        })
    }

    pub fn of(signer: &NoteSigner) -> Self {
        NoteVerifier {
            name: signer.name.clone(),
            hash: signer.key_hash(),
            key: signer.public(),
        }
    }

    /// The note's text when one of its signatures is this key's over it.
    pub fn open<'n>(&self, note: &'n str) -> Result<&'n str, NoteError> {
        let split = note
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
        if !sigs.ends_with('\n') {
            return Err(NoteError::Malformed("no signature lines"));
        }
        for line in sigs.lines() {
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or(NoteError::Malformed("signature line without the em dash"))?;
            let (name, sig) = rest
                .split_once(' ')
                .ok_or(NoteError::Malformed("signature line without a signature"))?;
            let raw = B64
                .decode(sig)
                .map_err(|_| NoteError::Malformed("signature is not base64"))?;
            if name != self.name || raw.len() != 4 + 64 || raw[..4] != self.hash {
                continue;
            }
            let Ok(sig) = Signature::from_slice(&raw[4..]) else {
                continue;
            };
            if self.key.verify(text.as_bytes(), &sig).is_ok() {
                return Ok(text);
            }
        }
        Err(NoteError::Unverified(self.name.clone()))
    }
}

/// A tlog-checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Parses a checkpoint's text (extension lines after the root are allowed and ignored).
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let mut lines = text.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or(NoteError::Checkpoint("no origin"))?;
        let size = lines
            .next()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|s| s.to_string().len() == text.split('\n').nth(1).map_or(0, str::len))
            .ok_or(NoteError::Checkpoint("bad tree size"))?;
        let root = lines
            .next()
            .and_then(|r| B64.decode(r).ok())
            .and_then(|r| Hash::try_from(r.as_slice()).ok())
            .ok_or(NoteError::Checkpoint("bad root hash"))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> NoteSigner {
        NoteSigner::new("example.com/annals", [7; 32]).unwrap()
    }

    #[test]
    fn keys_round_trip() {
        // A key whose base64 holds '+' (this seed's does).
        let plus = (0u8..=255)
            .map(|b| NoteSigner::new("n", [b; 32]).unwrap())
            .find(|s| s.verifier_key().matches('+').count() > 2)
            .unwrap();
        assert_eq!(
            NoteVerifier::parse(&plus.verifier_key()).unwrap(),
            NoteVerifier::of(&plus)
        );
        assert_eq!(
            NoteSigner::from_private_key(&plus.private_key())
                .unwrap()
                .seed(),
            plus.seed()
        );
        let s = signer();
        let vkey = s.verifier_key();
        assert!(vkey.starts_with("example.com/annals+"), "{vkey}");
        let v = NoteVerifier::parse(&vkey).unwrap();
        assert_eq!(v, NoteVerifier::of(&s));
        let again = NoteSigner::from_private_key(&s.private_key()).unwrap();
        assert_eq!(again.seed(), s.seed());
        assert!(NoteVerifier::parse("a+00000000+AQ==").is_err());
        assert!(NoteSigner::new("has space", [0; 32]).is_err());
        assert!(NoteSigner::new("a+b", [0; 32]).is_err());
        let mut wrong = vkey.clone();
        wrong.replace_range(
            vkey.find('+').unwrap() + 1..vkey.find('+').unwrap() + 3,
            "zz",
        );
        assert!(NoteVerifier::parse(&wrong).is_err());
    }

    /// Go's `sumdb/note` documentation example: the key `PeterNeumann` and its signed note.
    #[test]
    fn go_note_example_verifies() {
        let v = NoteVerifier::parse(
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        )
        .unwrap();
        let note = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        assert_eq!(
            v.open(note).unwrap(),
            "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
        );
        let tampered = note.replace("answer", "Answer");
        assert!(v.open(&tampered).is_err());
    }

    #[test]
    fn checkpoints_sign_open_and_parse() {
        let s = signer();
        let cp = Checkpoint {
            origin: "example.com/annals".into(),
            size: 42,
            root: [9; 32],
        };
        let note = s.sign(&cp.text()).unwrap();
        assert!(note.starts_with("example.com/annals\n42\nCQkJ"), "{note}");
        assert!(note.contains("\n\n\u{2014} example.com/annals "), "{note}");
        let text = NoteVerifier::of(&s).open(&note).unwrap();
        assert_eq!(Checkpoint::parse(text).unwrap(), cp);
        let forged = note.replacen("\n42\n", "\n43\n", 1);
        assert!(NoteVerifier::of(&s).open(&forged).is_err());
        let other = NoteSigner::new("example.com/annals", [8; 32]).unwrap();
        assert!(NoteVerifier::of(&other).open(&note).is_err());
        for bad in [
            "",
            "o\n",
            "o\n-1\nAA==\n",
            "o\n042\n",
            "o\n1\nnot base64\n",
            "o\n1\nAAAA\n",
        ] {
            assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
        }
        assert!(s.sign("no newline").is_err());
    }
}
