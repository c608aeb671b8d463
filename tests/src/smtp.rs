//! A real SMTP server for e-mail tests: Python's aiosmtpd on a loopback port, writing what it
//! receives into a maildir.

use std::time::{Duration, Instant};

/// A running aiosmtpd; killed when dropped.
pub struct Smtp {
    child: std::process::Child,
    pub port: u16,
    maildir: tempfile::TempDir,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Smtp {
    /// Starts one; `None` when aiosmtpd is not installed (`pip install aiosmtpd`), unless
    /// `ANNALS_REQUIRE_AIOSMTPD` is set, which makes that a failure.
    pub async fn start() -> Option<Smtp> {
        let present = std::process::Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !present {
            assert!(
                std::env::var_os("ANNALS_REQUIRE_AIOSMTPD").is_none(),
                "ANNALS_REQUIRE_AIOSMTPD is set but python3 cannot import aiosmtpd"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = tempfile::tempdir().unwrap();
        let child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            // A path that does not exist yet: Python's Maildir makes it with its subdirectories.
            .arg(maildir.path().join("mail"))
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(Smtp {
            child,
            port,
            maildir,
        })
    }

    /// `smtp://` URL of the server, for `ANNALS_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every mail received so far, as raw text.
    pub fn mails(&self) -> Vec<String> {
        std::fs::read_dir(self.maildir.path().join("mail/new"))
            .map(|d| {
                d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}
